"""Check of the student's `interpolate(encoder, decoder, x_a, x_b, steps=10)`.

Probe encoder (linear z_mean) and probe decoder (linear + sigmoid, invertible) make the latent codes behind
every frame recoverable: frames must be decoder outputs of codes on the segment z_mean(x_a) → z_mean(x_b),
evenly spaced, both endpoints included.
"""
from __future__ import annotations

import numpy as np

from autograder.checks._framework import SubCheck, grade, seed, to_numpy
from autograder.checks._probes import LinearDecoder, LinearEncoder

_LATENT, _STEPS = 6, 7


def check(interpolate, x_a, x_b, points: float = 2.0, seed_value: int = 157) -> float:
    """`x_a`, `x_b`: two images (28, 28, 1) from the test set."""
    seed(seed_value)
    x_a, x_b = np.asarray(x_a, "float32").reshape(28, 28, 1), np.asarray(x_b, "float32").reshape(28, 28, 1)
    probe_encoder, probe_decoder = LinearEncoder(_LATENT, seed=seed_value), LinearDecoder(_LATENT, seed=seed_value)
    z_a, z_b = probe_encoder.z_mean(x_a[None])[0], probe_encoder.z_mean(x_b[None])[0]
    state = {}

    def frames():
        if "frames" not in state:
            state["frames"] = interpolate(probe_encoder.model, probe_decoder.model, x_a, x_b, steps=_STEPS)
        return state["frames"]

    def shape():
        got = frames()
        if not isinstance(got, np.ndarray):
            return f"devuelve {type(got).__name__}; debe devolver un array de NumPy (steps, 28, 28, 1)"
        if got.shape != (_STEPS, 28, 28, 1):
            return f"con steps={_STEPS} la forma es {got.shape}; debe ser (steps, 28, 28, 1)"

    def endpoints():
        got = to_numpy(frames())
        start, end = probe_decoder.decode(z_a[None])[0], probe_decoder.decode(z_b[None])[0]
        ok_start = np.max(np.abs(got[0] - start)) < 5e-3
        ok_end = np.max(np.abs(got[-1] - end)) < 5e-3
        if ok_start and ok_end:
            return None
        if ok_start:
            return "falta el extremo final: el último fotograma debe ser decode(z_mean(x_b)) (t = 1 incluido)"
        if ok_end:
            return "falta el extremo inicial: el primer fotograma debe ser decode(z_mean(x_a)) (t = 0 incluido)"
        return "los extremos deben ser decode(z_mean(x_a)) y decode(z_mean(x_b)) (usa z_mean, no píxeles)"

    def latent_mixes():
        codes, residual = probe_decoder.recover_codes(to_numpy(frames()))
        if np.max(residual) > 1e-2:
            return ("los fotogramas no son salidas del decodificador: ¿mezclaste píxeles? interpola los códigos "
                    "latentes z_mean y decodifícalos")
        direction = z_b - z_a
        t = (codes - z_a) @ direction / (direction @ direction)
        off_segment = np.linalg.norm(codes - (z_a + t[:, None] * direction), axis=1) / np.linalg.norm(direction)
        if np.max(off_segment) > 1e-2:
            return "los códigos no están en el segmento entre z_mean(x_a) y z_mean(x_b): mezcla lineal de z_mean"
        state["t"] = t

    def even_steps():
        if "t" not in state:
            latent_mixes()
        t = state.get("t")
        if t is None:
            return "no se pudieron recuperar los códigos latentes de los fotogramas"
        steps = np.diff(t)
        if not np.all(steps > 0):
            return "los fotogramas no avanzan de x_a a x_b en orden"
        if steps.max() / steps.mean() > 1.5:
            return f"hay saltos: el paso mayor es {steps.max() / steps.mean():.1f}× el paso medio; usa pasos iguales"

    subchecks = [
        SubCheck("array (steps, 28, 28, 1)", 1, shape, "interpolate falla"),
        SubCheck("extremos = decode(z_mean(x_a)) y decode(z_mean(x_b))", 2, endpoints, "los extremos no son correctos"),
        SubCheck("fotogramas = decodificación de mezclas latentes (no de píxeles)", 2, latent_mixes,
                 "los fotogramas no son decodificaciones de mezclas latentes"),
        SubCheck("pasos iguales, sin saltos", 1, even_steps, "los pasos no son iguales"),
    ]
    return grade("interpolate", subchecks, points)
