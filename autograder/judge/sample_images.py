"""sample_images(decoder, n, latent_dim, seed=None): n images decoded from z ~ N(0, I).

Judged on probe decoders (known linear map + sigmoid), whose images invert exactly to the codes the student drew:
they must be N(0, I) of the requested latent size (mean, deviation, correlations and the share beyond 2σ),
fixed by the seed, and independent across seeds. The first probe decoder has the
assignment's latent size (what the student's notebook uses), the second another one: a latent size hard-coded
instead of ``latent_dim`` fails only the sub-check that names it. The student's own trained model is then
measured on the judge's codes and test images and reported (not scored: a wrong KL or train step must not cost
points here): the reference classifier's recognisable share, and the reconstruction BCE.
"""
from __future__ import annotations

import numpy as np

from autograder.judge import data
from autograder.judge._framework import NOT_MEASURED, Part, SubCheck, array, floats, measures_trained, text
from autograder.judge._probes import LinearDecoder

_OTHER_LATENT = 5


def make_probe(config: dict) -> dict:
    rng = np.random.default_rng(8157)
    latent = config["latent_dim"]
    other = _OTHER_LATENT if latent != _OTHER_LATENT else _OTHER_LATENT + 2
    return {**LinearDecoder(latent, seed=8158).arrays(), **LinearDecoder(other, seed=8159).arrays("_other"),
            "measure_trained": measures_trained(config), "trained_z": rng.normal(0.0, 1.0, (100, config["latent_dim"])).astype("float32"),
            "trained_x": data.images(config["dataset"], "test", 0, 64)}


def _decoder(probe, suffix=""):
    d = LinearDecoder.__new__(LinearDecoder)
    d.W, d.b = probe["W" + suffix], probe["b" + suffix]
    return d


def _prior_problem(codes: np.ndarray) -> str | None:
    """None when n codes are a plausible sample of N(0, I): each dimension's mean, standard deviation and every
    pairwise correlation within 5 standard errors (1/√n, 1/√(2n), 1/√n) of 0, 1 and 0; else a diagnosis."""
    n = len(codes)
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    corr = np.corrcoef(codes.T) - np.eye(codes.shape[1])
    if np.all(np.abs(mean) < 5 / np.sqrt(n)) and np.all(np.abs(std - 1.0) < 5 / np.sqrt(2 * n)) \
            and np.max(np.abs(corr)) < 5 / np.sqrt(n):
        # …and the normal's shape, not only its first two moments: 4.55 % of the values beyond 2σ, within 6
        # standard errors (a uniform rescaled to mean 0 and deviation 1 has none)
        tail = float(np.mean(np.abs(codes - mean) > 2.0 * std))
        if abs(tail - 0.0455) < 6.0 * np.sqrt(0.0455 * 0.9545 / codes.size):
            return None
        return (f"los códigos tienen la media y la desviación de N(0, I) pero no su forma ({tail:.1%} de valores a "
                "más de 2σ; una normal da 4.6 %): muestrea z con una normal estándar")
    if np.all(np.abs(mean - 0.5) < 0.1) and np.all(np.abs(std - 12 ** -0.5) < 0.05) \
            and codes.min() > -0.05 and codes.max() < 1.05:  # U[0, 1): mean 1/2, std 1/√12, inside [0, 1)
        return "los códigos parecen uniformes en [0, 1): muestrea z ~ N(0, I) (normal estándar)"
    return (f"los códigos decodificados no siguen N(0, I) (media {np.round(mean, 2)}, desviación "
            f"{np.round(std, 2)}): muestrea z ~ N(0, I) de tamaño (n, latent_dim), no de datos codificados")


def array_problem(ev) -> str | None:
    """None when a sampler's first call (evidence ``type_name``, ``small``: 16 images) returned a NumPy array
    (n, 28, 28, 1) in [0, 1]; else a diagnosis. Shared by sample_images and sample_class."""
    if ev.text("type_name") != "ndarray":
        return f"devuelve {ev.text('type_name')}; debe devolver un array de NumPy (n, 28, 28, 1)"
    images = floats(ev["small"])
    if images.shape != (16, 28, 28, 1):
        return f"forma {images.shape}; debe ser (n, 28, 28, 1)"
    if images.min() < 0 or images.max() > 1:
        return "los valores deben estar en [0, 1] (la salida sigmoid del decodificador)"
    return None


def seed_problem(ev, codes_of) -> str | None:
    """None when the seed fixes a sampler's images (``seed3_a`` = ``seed3_b``) and other seeds give independent
    draws: ``seed4``'s codes (``codes_of(images)``, recovered by the probe decoder) uncorrelated with seed 3's
    (|r| < 0.6, over 5 standard errors of a correlation of 8·latent_dim values), not one draw altered."""
    a, b, c = floats(ev["seed3_a"]), floats(ev["seed3_b"]), floats(ev["seed4"])
    if not np.allclose(a, b):
        return "con la misma semilla deben salir las mismas muestras (usa seed para el generador de z)"
    if np.allclose(a, c):
        return ("con semillas distintas salen las mismas imágenes: ¿decodificas datos codificados en lugar de "
                "z ~ N(0, I)?")
    codes_a, codes_c = codes_of(a), codes_of(c)
    if not abs(np.corrcoef(codes_a.ravel(), codes_c.ravel())[0, 1]) < 0.6:
        return ("con semillas distintas salen casi las mismas muestras (no son extracciones independientes): "
                "usa seed para crear el generador de z")
    return None


def other_latent_images(ev, probe, n: int) -> tuple[np.ndarray | None, str | None]:
    """The ``other_latent`` evidence (``n`` images a sampler drew from the probe decoder of another latent size,
    ``W_other``), or a diagnosis. Shared by sample_images and sample_class."""
    other = probe["W_other"].shape[0]
    if "other_latent" not in ev:
        return None, (f"con un decodificador de latent_dim = {other} falla ({ev.error('other_latent')}): "
                      "¿tamaño latente fijo en lugar del argumento latent_dim?")
    images = floats(ev["other_latent"])
    if images.shape != (n, 28, 28, 1):
        return None, f"con latent_dim = {other} devolvió forma {images.shape}"
    return images, None


def subchecks(ev, probe, config) -> list[SubCheck]:
    def main_prior_problem():
        try:
            return _prior_problem(_decoder(probe).recover_codes(floats(ev["prior"]))[0])
        except Exception:  # noqa: BLE001 (no usable main samples: judged by "z ~ N(0, I) decodificado")
            return "sin muestras"

    def from_prior():
        codes, residual = _decoder(probe).recover_codes(floats(ev["prior"]))
        if len(codes) != 2000:
            return f"se pidieron 2000 muestras y devolvió {len(codes)}"
        if np.max(residual) > 1e-2:
            return "las imágenes no son salidas del decodificador para z ~ N(0, I): decodifica z con decoder"
        return _prior_problem(codes)

    def follows_latent_dim():
        other = probe["W_other"].shape[0]
        images, problem = other_latent_images(ev, probe, 500)
        if problem:
            return problem
        codes, residual = _decoder(probe, "_other").recover_codes(images)
        if np.max(residual) > 1e-2:
            return f"con otro decodificador (latent_dim = {other}) las imágenes no son sus salidas"
        problem = _prior_problem(codes)
        if problem and not main_prior_problem():  # a wrong prior is judged once, by "z ~ N(0, I) decodificado"
            return f"con latent_dim = {other}: {problem} (¿tamaño latente fijo en lugar de latent_dim?)"

    return [
        SubCheck("array (n, 28, 28, 1) en [0, 1]", 1, lambda: array_problem(ev), "sample_images falla"),
        SubCheck("z ~ N(0, I) decodificado", 2, from_prior, "las muestras no vienen de z ~ N(0, I)"),
        SubCheck("z de tamaño latent_dim (probado con otro tamaño)", 1, follows_latent_dim,
                 "no usa latent_dim"),
        SubCheck("la semilla fija las muestras", 1,
                 lambda: seed_problem(ev, lambda images: _decoder(probe).recover_codes(images)[0]),
                 "la semilla no se respeta"),
    ]


def notes(ev, probe, config) -> list[str]:
    """The student's trained model, measured by the judge (informative)."""
    import vae_lib

    if config.get("trained") != "full":
        return [NOT_MEASURED]
    source = "pesos del entrenamiento completo entregados"
    if "trained_samples" not in ev or "trained_reconstructions" not in ev:
        return [f"modelo entrenado (informativo, no puntúa): no se pudo generar con tu encoder/decoder "
                f"({ev.error('trained_samples') or 'no están definidos'})"]
    samples = np.clip(floats(ev["trained_samples"]), 0, 1).astype("float32")
    share = float(vae_lib.sample_quality(samples, config["dataset"])["recognisable_share"])
    x = probe["trained_x"]
    recon = floats(ev["trained_reconstructions"])
    bce = float(np.mean(np.asarray(vae_lib.reconstruction_loss(x, np.clip(recon, 0, 1).astype("float32"))))) \
        if recon.shape == x.shape else float("nan")
    return [f"modelo entrenado ({source}; informativo, no puntúa): el clasificador de referencia reconoce el "
            f"{share:.0%} de 100 muestras; reconstrucción BCE media {bce:.1f} nats por imagen de test"]


EVIDENCE = {"type_name": text(), "small": array(16, 28, 28, 1), "prior": array(2000, 28, 28, 1, headroom=1),
            "seed3_a": array(8, 28, 28, 1), "seed3_b": array(8, 28, 28, 1), "seed4": array(8, 28, 28, 1),
            "other_latent": array(500, 28, 28, 1, headroom=2),
            "trained_samples": array(100, 28, 28, 1, optional=True),  # only when the notebook has a trained model
            "trained_reconstructions": array(64, 28, 28, 1, optional=True)}
PART = Part("test_sample_images", "sample_images", make_probe, subchecks, notes, evidence=EVIDENCE)
