"""interpolate(encoder, decoder, x_a, x_b, steps=10): frames decoded from the segment z_mean(x_a) → z_mean(x_b).

Probe encoder (linear z_mean, σ ≈ 0.37 so a sampled z is told apart from z_mean) and probe decoder (linear +
sigmoid, invertible) make the latent code behind every frame recoverable: frames must be decoder outputs of codes
on the segment, at t = 0, 1/(steps−1), …, 1 exactly (an eased or uneven schedule fails), for any ``steps``.
"""
from __future__ import annotations

import numpy as np

from autograder.judge import data
from autograder.judge._framework import Part, SubCheck, array, floats, text
from autograder.judge._probes import LinearDecoder, LinearEncoder

_LATENT, _STEPS = 6, 7


def make_probe(config: dict) -> dict:
    x_a, x_b = data.images(config["dataset"], "test", 200, 2)
    return {**LinearEncoder(_LATENT, seed=9158, log_var=-2.0).arrays(), **LinearDecoder(_LATENT, seed=9159).arrays(),
            "x_a": x_a, "x_b": x_b}


def subchecks(ev, probe, config) -> list[SubCheck]:
    encoder = LinearEncoder.__new__(LinearEncoder)
    encoder.A = probe["A"]
    decoder = LinearDecoder.__new__(LinearDecoder)
    decoder.W, decoder.b = probe["W"], probe["b"]
    z_a, z_b = encoder.z_mean(probe["x_a"][None])[0], encoder.z_mean(probe["x_b"][None])[0]
    direction = z_b - z_a

    def schedule(frames):
        codes, residual = decoder.recover_codes(frames)
        t = (codes - z_a) @ direction / (direction @ direction)
        off = np.linalg.norm(codes - (z_a + t[:, None] * direction), axis=1) / np.linalg.norm(direction)
        return t, residual, off

    def shape():
        if ev.text("type_name") != "ndarray":
            return f"devuelve {ev.text('type_name')}; debe devolver un array de NumPy (steps, 28, 28, 1)"
        got = {steps: floats(ev[key]).shape for key, steps in (("frames", _STEPS), ("frames_4", 4))}
        if all(len(shape) >= 1 and shape[0] != steps for steps, shape in got.items()) \
                and len({shape[0] for shape in got.values()}) == 1:
            return (f"el número de fotogramas no sigue steps: con steps={_STEPS} y con steps=4 devuelve "
                    f"{got[_STEPS][0]} (¿un número fijo en lugar del argumento steps?)")
        for steps, shape in got.items():
            if shape != (steps, 28, 28, 1):
                return f"con steps={steps} la forma es {shape}; debe ser (steps, 28, 28, 1)"

    def endpoints():
        frames = floats(ev["frames"])
        start, end = decoder.decode(z_a[None])[0], decoder.decode(z_b[None])[0]
        ok_start = np.max(np.abs(frames[0] - start)) < 5e-3
        ok_end = np.max(np.abs(frames[-1] - end)) < 5e-3
        if ok_start and ok_end:
            return None
        if ok_start:
            return "falta el extremo final: el último fotograma debe ser decode(z_mean(x_b)) (t = 1 incluido)"
        if ok_end:
            return "falta el extremo inicial: el primer fotograma debe ser decode(z_mean(x_a)) (t = 0 incluido)"
        t, residual, off = schedule(frames[[0, -1]])
        if np.max(residual) < 1e-2 and np.max(off) > 1e-2:
            return "los extremos no son decode(z_mean(·)): ¿usas el z muestreado? interpola las medias z_mean"
        return "los extremos deben ser decode(z_mean(x_a)) y decode(z_mean(x_b)) (usa z_mean, no píxeles)"

    def latent_mixes():
        t, residual, off = schedule(floats(ev["frames"]))
        if np.max(residual) > 1e-2:
            return ("los fotogramas no son salidas del decodificador: ¿mezclaste píxeles? interpola los códigos "
                    "latentes z_mean y decodifícalos")
        if np.max(off) > 1e-2:
            return ("los códigos no están en el segmento entre z_mean(x_a) y z_mean(x_b): mezcla lineal de z_mean "
                    "(¿usas el z muestreado en lugar de z_mean?)")

    def even_steps():
        for key, steps in (("frames", _STEPS), ("frames_4", 4)):
            t, residual, off = schedule(floats(ev[key]))
            if len(t) != steps:
                return f"con steps={steps} hay {len(t)} fotogramas: t = np.linspace(0, 1, steps)"
            if np.max(residual) > 1e-2 or np.max(off) > 1e-2:
                return "no se pudieron recuperar los códigos latentes de los fotogramas"
            if not np.all(np.diff(t) > 0):
                return "los fotogramas no avanzan de x_a a x_b en orden"
            if np.max(np.abs(t - np.linspace(0.0, 1.0, steps))) > 2e-3:
                return (f"con steps={steps} los pasos no son iguales (t = {np.round(t, 3)}): usa "
                        "t = np.linspace(0, 1, steps), sin suavizado ni saltos")

    return [
        SubCheck("array (steps, 28, 28, 1) para cualquier steps", 1, shape, "interpolate falla"),
        SubCheck("extremos = decode(z_mean(x_a)) y decode(z_mean(x_b))", 2, endpoints, "los extremos no son correctos"),
        SubCheck("fotogramas = decodificación de mezclas latentes (no de píxeles)", 2, latent_mixes,
                 "los fotogramas no son decodificaciones de mezclas latentes"),
        SubCheck("pasos iguales t = 0, 1/(steps−1), …, 1", 1, even_steps, "los pasos no son iguales"),
    ]


_FRAMES_MAX = 4 * 10 * 28 * 28  # a fixed default of 10 frames (steps ignored), stacked or with an extra axis
EVIDENCE = {"type_name": text(), "frames": array(_STEPS, 28, 28, 1, at_most=_FRAMES_MAX),
            "frames_4": array(4, 28, 28, 1, at_most=_FRAMES_MAX)}
PART = Part("test_interpolate", "interpolate", make_probe, subchecks, evidence=EVIDENCE)
