"""Check of the student's `sample_images(decoder, n, latent_dim, seed=None)`.

A probe decoder (known linear map + sigmoid) lets the check invert the returned images and recover the codes
the student drew: they must be N(0, I). The student's trained model then checks that samples re-encode and
decode to themselves, and that the reference classifier recognises them.
"""
from __future__ import annotations

import numpy as np

from autograder.checks._framework import SubCheck, grade, seed, to_numpy
from autograder.checks._probes import LinearDecoder

_PROBE_LATENT = 7

# Minimum share of samples of a fully trained model that the reference classifier recognises (p_max > 0.5).
MIN_RECOGNISABLE_FULL = 0.5
MAX_REENCODE_ERROR = 0.12  # mean |x − decode(z_mean(x))| per pixel for generated samples


def check(sample_images, encoder, decoder, latent_dim: int, dataset: str = "mnist", trained: str = "short",
          points: float = 2.0, seed_value: int = 157) -> float:
    """`trained`: "full" (the student's saved full run) or "short" (the seeded grading-mode run)."""
    import vae_lib

    seed(seed_value)
    probe = LinearDecoder(_PROBE_LATENT, seed=seed_value)
    model_note = ("modelo: el del entrenamiento completo" if trained == "full"
                  else "modelo: entrenamiento corto de calificación (pocas imágenes, 1 época)")
    state = {}

    def shape():
        images = sample_images(probe.model, 16, _PROBE_LATENT, seed=0)
        if not isinstance(images, np.ndarray):
            return f"devuelve {type(images).__name__}; debe devolver un array de NumPy (n, 28, 28, 1)"
        if images.shape != (16, 28, 28, 1):
            return f"forma {images.shape}; debe ser (n, 28, 28, 1)"
        if images.min() < 0 or images.max() > 1:
            return "los valores deben estar en [0, 1] (la salida sigmoid del decodificador)"

    def from_prior():
        images = to_numpy(sample_images(probe.model, 2000, _PROBE_LATENT, seed=1))
        codes, residual = probe.recover_codes(images)
        if np.max(residual) > 1e-2:
            return "las imágenes no son salidas del decodificador para z ~ N(0, I): decodifica z con decoder"
        mean, std = codes.mean(axis=0), codes.std(axis=0)
        corr = np.corrcoef(codes.T) - np.eye(_PROBE_LATENT)
        if np.all(np.abs(mean) < 0.1) and np.all(np.abs(std - 1.0) < 0.1) and np.max(np.abs(corr)) < 0.1:
            return None
        if np.all(np.abs(mean - 0.5) < 0.1) or np.all(std < 0.4):
            return "los códigos parecen uniformes en [0, 1): muestrea z ~ N(0, I) (normal estándar)"
        return (f"los códigos decodificados no siguen N(0, I) (media {np.round(mean, 2)}, desviación "
                f"{np.round(std, 2)}): muestrea z ~ N(0, I) de tamaño (n, latent_dim), no de datos codificados")

    def seeded():
        a = to_numpy(sample_images(probe.model, 8, _PROBE_LATENT, seed=3))
        b = to_numpy(sample_images(probe.model, 8, _PROBE_LATENT, seed=3))
        c = to_numpy(sample_images(probe.model, 8, _PROBE_LATENT, seed=4))
        if not np.allclose(a, b):
            return "con la misma semilla deben salir las mismas muestras (usa seed para el generador de z)"
        if np.allclose(a, c):
            return ("con semillas distintas salen las mismas imágenes: ¿decodificas datos codificados en lugar de "
                    "z ~ N(0, I)?")

    def student_samples():
        if encoder is None or decoder is None:
            raise AssertionError("no hay un modelo entrenado (encoder y decoder) con el que generar: "
                                 "ejecuta antes la celda de entrenamiento")
        if "images" not in state:
            state["images"] = to_numpy(sample_images(decoder, 100, latent_dim, seed=5)).astype("float32")
        return state["images"]

    def reencode():
        images = student_samples()
        z_mean = vae_lib.encode_mean(encoder, images[:64])
        rebuilt = to_numpy(decoder.predict(z_mean.astype("float32"), verbose=0))
        error = float(np.mean(np.abs(rebuilt - images[:64])))
        if error > MAX_REENCODE_ERROR:
            return (f"al recodificar y decodificar una muestra no se recupera (error medio {error:.3f} > "
                    f"{MAX_REENCODE_ERROR}; {model_note})")

    def recognisable():
        share = float(vae_lib.sample_quality(student_samples(), dataset)["recognisable_share"])
        needed = MIN_RECOGNISABLE_FULL
        if share < needed:
            return (f"el clasificador de referencia reconoce solo el {share:.0%} de las muestras (mínimo "
                    f"{needed:.0%}; {model_note})")

    subchecks = [
        SubCheck("array (n, 28, 28, 1) en [0, 1]", 1, shape, "sample_images falla"),
        SubCheck("z ~ N(0, I) decodificado", 2, from_prior, "las muestras no vienen de z ~ N(0, I)"),
        SubCheck("la semilla fija las muestras", 1, seeded, "la semilla no se respeta"),
        SubCheck("las muestras se recodifican y reconstruyen", 1, reencode, "las muestras no se reconstruyen"),
    ]
    if trained == "full":  # a seconds-long grading run cannot be expected to draw recognisable samples
        subchecks.append(SubCheck("el clasificador de referencia reconoce las muestras", 1, recognisable,
                                  "las muestras no se reconocen"))
    else:
        model_note += "; el clasificador de referencia solo se aplica al modelo del entrenamiento completo"
    return grade("sample_images", subchecks, points, note=model_note)
