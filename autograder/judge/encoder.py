"""build_encoder(latent_dim): a keras.Model image → [z_mean, z_log_var, z], each (batch, latent_dim).

Judged on behaviour, with the reference Sampling swapped in (a wrong Sampling costs points in its own part) and
fed the judge's fixed noise ε: three outputs of the right shape that follow latent_dim; z must then be exactly
z_mean + exp(0.5·z_log_var)·ε with the z_mean and z_log_var it returns (an encoder that draws its own noise
instead must give a standardised residual that is N(0, 1), independent of the judge's ε and fresh per row);
z_mean and z_log_var are two different heads without an activation (they take both signs and grow without bound
when the input is scaled); the homework's encoder is convolutional (any convolution layer, nested models and
custom layers included). The architecture sub-checks share one unit of weight, so a mistake in the heads or the
sampling loses the same share of the points in both VAE notebooks. z must also carry gradient to both heads (the
reparametrisation's point): ∇x Σ w·z = ∇x Σ w·μ + ∇x Σ ½w(z − μ)·log σ² on 8 images (``gradient_path``).
Outputs are judged as a model's: the same image gives the same z_mean in another call (and in the encoder built for
latent_dim + 2, whose z_mean is evidence, not its reported shape), different images different ones; "is a
keras.Model" needs the model to have run.
"""
from __future__ import annotations

import numpy as np

from autograder.judge import data
from autograder.judge._framework import (FLAG, LATENT_MAX, Part, SubCheck, array, close, floats, model_problem, scalar,
                                         text)

_REPEATS = 32
CONV_CLASSES = {"BaseConv", "BaseSeparableConv", "BaseDepthwiseConv", "Conv2D", "SeparableConv2D",
                "DepthwiseConv2D", "Conv1D", "Conv3D"}


def make_probe(config: dict) -> dict:
    x = data.images(config["dataset"], "test", 100, 64)
    latent = config["latent_dim"]
    eps = np.random.default_rng(3157).normal(0.0, 1.0, (8 * _REPEATS, latent + 2)).astype("float32")
    path_w = np.random.default_rng(3158).normal(0.0, 1.0, (8, latent)).astype("float32")
    return {"latent_dim": np.array(latent), "x": x, "x_repeated": np.repeat(x[:8], _REPEATS, axis=0), "eps": eps,
            "path_w": path_w}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to float32 arithmetic over other batch sizes (the same image, called in another batch)."""
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0, 1.0)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-3, atol=1e-4 * scale))


def _not_a_function_of_the_image(ev, other: np.ndarray) -> str | None:
    """None when z_mean and z_log_var behave as a model of the image: the same image gives the same values in
    another call (the main batch's first 8 images come back 32 times each in the repeated batch; the other-size
    encoder sees images 0-3 twice) and different images different values."""
    for name in ("z_mean", "z_log_var"):
        main, rep = floats(ev[name]), floats(ev["rep_" + name])
        if rep.shape[1:] != main.shape[1:] or len(rep) != 8 * _REPEATS or not np.all(np.isfinite(main[:8])):
            continue  # a wrong shape is judged above; non-finite heads below
        if not _same(np.repeat(main[:8], _REPEATS, axis=0), rep):
            return (f"{name} no es una función de la imagen: la misma imagen da otro {name} en otra llamada "
                    "(z_mean y z_log_var deben salir de capas Dense, sin ruido)")
    main = floats(ev["z_mean"])
    if np.allclose(main, main[:1]) or not _same(other[:4], other[4:]) or np.allclose(other[:4], other[:1]):
        return ("las salidas no dependen de la imagen como las de un modelo (imágenes distintas dan el mismo z_mean, "
                "o la misma imagen da otro)")
    return None


def _gaussian_tails(values: np.ndarray) -> bool:
    """Whether the share of values beyond 2 standard deviations is a normal's 4.55 %, within 6 standard errors (a
    rescaled uniform noise has none)."""
    values = values.ravel()
    tail = float(np.mean(np.abs(values - values.mean()) > 2.0 * values.std()))
    return abs(tail - 0.0455) < 6.0 * np.sqrt(0.0455 * 0.9545 / values.size)


def gradient_path(ev) -> str | None:
    """None when z carries gradient to both heads as z = μ + exp(½·log σ²)·ε does: on 8 images,
    ∇x Σ w·z = ∇x Σ w·μ + ∇x Σ stop(½·w·(z − μ))·log σ² (evidence ``path_z``, ``path_mean``, ``path_var``,
    (8, 28, 28, 1) each, relative error ≤ 1e-3); else which head's path is cut."""
    g_z, g_mean, g_var = (floats(ev[k]).ravel() for k in ("path_z", "path_mean", "path_var"))
    if not (g_z.shape == g_mean.shape == g_var.shape) or not np.all(np.isfinite(np.concatenate([g_z, g_mean, g_var]))):
        return "no se pudo medir el gradiente de z respecto a la imagen"
    scale = max(float(np.linalg.norm(g_mean + g_var)), 1e-12)

    def matches(target):
        return float(np.linalg.norm(g_z - target)) <= 1e-3 * max(scale, float(np.linalg.norm(target)))

    if matches(g_mean + g_var):
        return None
    cut = ("el gradiente no llega a z_mean ni a z_log_var" if matches(0 * g_z) else
           "el gradiente no llega a z_log_var" if matches(g_mean) else
           "el gradiente no llega a z_mean" if matches(g_var) else "el gradiente de z no es el de μ + σ·ε")
    return (f"z tiene el valor correcto pero {cut} a través de z (¿stop_gradient, NumPy o una constante dentro "
            "del codificador?): el truco de reparametrización existe para que ∂z/∂μ = 1 y ∂z/∂log σ² = ½σε")


def subchecks(ev, probe, config, builder: str = "build_encoder") -> list[SubCheck]:
    """The encoder's sub-checks; ``builder`` names the student's function in the diagnoses."""
    latent = int(probe["latent_dim"])
    n = len(probe["x"])

    def outputs():
        if int(ev["n_outputs"]) != 3:
            return "el codificador debe devolver tres salidas [z_mean, z_log_var, z]"
        shapes = [tuple(floats(ev[k]).shape) for k in ("z_mean", "z_log_var", "z")]
        if shapes != [(n, latent)] * 3:
            return f"formas de [z_mean, z_log_var, z] = {shapes}; deben ser (batch, latent_dim) = {(n, latent)}"
        if "other_latent_z_mean" not in ev:
            return (f"{builder}({latent + 2}) falla ({ev.error('other_latent_z_mean')}): {builder} ignora su "
                    "argumento latent_dim (¿un tamaño latente fijo?)")
        other = floats(ev["other_latent_z_mean"])  # build_encoder(latent_dim + 2) on images 0-3, then 0-3 again
        if other.shape != (8, latent + 2):
            return f"{builder} ignora su argumento latent_dim (¿un tamaño latente fijo?)"
        return _not_a_function_of_the_image(ev, other)

    def sampled():
        z_mean, z_log_var, z = (floats(ev[k]) for k in ("rep_z_mean", "rep_z_log_var", "rep_z"))
        if z.shape != z_mean.shape or z.shape != z_log_var.shape:
            return "z, z_mean y z_log_var deben tener la misma forma (batch, latent_dim)"
        if np.allclose(z, z_mean):
            return "z es igual a z_mean: z debe salir de la capa Sampling((z_mean, z_log_var))"
        eps = floats(probe["eps"])[: z.shape[0], : z.shape[1]]

        def exactly(target):  # float32 arithmetic in the kernel, float64 here: far below these tolerances
            with np.errstate(over="ignore", invalid="ignore"):
                return close(z, target, rtol=1e-4, atol=1e-4)

        if exactly(z_mean + np.exp(0.5 * z_log_var) * eps):
            return gradient_path(ev)
        if exactly(z_log_var + np.exp(0.5 * z_mean) * eps):
            return "pasas (z_log_var, z_mean) en orden inverso a Sampling: debe ser Sampling((z_mean, z_log_var))"
        if exactly(z_mean + np.exp(z_log_var) * eps):
            return "z usa exp(z_log_var) como σ: z = z_mean + exp(0.5·z_log_var)·ε (usa la capa Sampling)"
        residual = (z - z_mean) / np.exp(0.5 * z_log_var)
        if not np.all(np.isfinite(residual)):
            return "z no es finito: z debe salir de Sampling((z_mean, z_log_var))"
        # Noise of its own (not the Sampling layer): independent of the judge's ε (|r| < 0.1 is > 5 standard
        # errors of a correlation over these 8·32·latent_dim values), N(0, 1) and fresh per row.
        if abs(np.corrcoef(residual.ravel(), eps.ravel())[0, 1]) > 0.1:
            return ("z sale de la capa Sampling, pero no aplicada a (z_mean, z_log_var) tal cual: debe ser "
                    "z = Sampling()([z_mean, z_log_var]) con las dos salidas que devuelve el codificador")
        if abs(residual.mean()) < 0.15 and abs(residual.std() - 1.0) < 0.15:
            per_image = z.reshape(8, _REPEATS, latent)
            # fresh per row: the residual of each image varies over its 32 repeats as much as N(0, 1) does
            within = float(residual.reshape(8, _REPEATS, -1).std(axis=1).mean())
            if np.allclose(per_image.std(axis=1), 0.0) or not within > 0.8:
                return "la misma imagen da siempre el mismo z: el ruido debe ser nuevo en cada llamada"
            if not _gaussian_tails(residual):
                return ("z lleva un ruido propio con media 0 y desviación 1 pero no gaussiano: z = z_mean + "
                        "exp(0.5·z_log_var)·ε con ε ~ N(0, 1) (usa la capa Sampling)")
            return gradient_path(ev)
        swapped = (z - z_log_var) / np.exp(0.5 * z_mean)
        if abs(swapped.mean()) < 0.15 and abs(swapped.std() - 1.0) < 0.15:
            return "pasas (z_log_var, z_mean) en orden inverso a Sampling: debe ser Sampling((z_mean, z_log_var))"
        var_as_std = (z - z_mean) / np.exp(z_log_var)
        if abs(var_as_std.mean()) < 0.15 and abs(var_as_std.std() - 1.0) < 0.15:
            return "z usa exp(z_log_var) como σ: z = z_mean + exp(0.5·z_log_var)·ε (usa la capa Sampling)"
        return ("z no es z_mean + exp(0.5·z_log_var)·ε con las z_mean y z_log_var que devuelve el codificador: "
                "z debe salir de Sampling aplicada a esas dos salidas")

    def heads():
        z_mean, z_log_var = floats(ev["z_mean"]), floats(ev["z_log_var"])
        if np.allclose(z_mean, z_log_var):
            return "z_mean y z_log_var son iguales: deben ser dos capas Dense distintas (dos cabezas)"
        for name in ("z_mean", "z_log_var"):
            value, main = floats(ev["big_" + name]), floats(ev[name])
            if not np.all(np.isfinite(value)):
                continue
            # both signs on the judge's images as well as on the scaled ones (one crafted array is not enough)
            if value.min() >= 0.0 or (np.all(np.isfinite(main)) and main.min() >= 0.0):
                return (f"{name} nunca es negativo: su capa tiene una activación (¿relu/softplus?); las cabezas "
                        "z_mean y z_log_var deben ser Dense sin activación")
            if np.abs(value).max() <= 1.0 + 1e-6:
                return (f"{name} está acotado en [-1, 1]: su capa tiene una activación (¿tanh/sigmoid?); las "
                        "cabezas deben ser lineales")

    def convolutional():
        classes = {c for entry in np.asarray(ev["layers"]).tolist() for c in str(entry).split(":")}
        if not classes & CONV_CLASSES:
            return "el codificador de la tarea debe ser convolucional (capas Conv2D)"

    architecture = 0.5 if config.get("convolutional") else 1.0  # one unit shared with "convolucional"
    checks = [
        SubCheck("es un keras.Model", architecture, lambda: model_problem(ev, builder, "z_mean", "imágenes"),
                 f"{builder} falla al construir el modelo"),
        SubCheck("salidas [z_mean, z_log_var, z] con forma (batch, latent_dim)", 2, outputs,
                 "las salidas del codificador no son correctas"),
        SubCheck("z = z_mean + exp(0.5·z_log_var)·ε (Sampling sobre sus dos salidas, con gradiente a ambas)", 2,
                 sampled,
                 "z no se muestrea de q(z|x)"),
        SubCheck("z_mean y z_log_var: dos cabezas lineales distintas", 1, heads,
                 "las cabezas z_mean / z_log_var no son correctas"),
    ]
    if config.get("convolutional"):
        checks.append(SubCheck("convolucional", 1.0 - architecture, convolutional, "no hay capas convolucionales"))
    return checks


_PIXELS = 28 * 28  # a wrong model may return an image-sized output: up to one image's values per row
EVIDENCE = {"is_model": scalar(FLAG), "n_outputs": scalar(), "layers": text(500),
            **{k: array(64, LATENT_MAX, at_most=64 * _PIXELS)
               for k in ("z_mean", "z_log_var", "z", "big_z_mean", "big_z_log_var")},
            **{k: array(8 * _REPEATS, LATENT_MAX, at_most=8 * _REPEATS * _PIXELS)
               for k in ("rep_z_mean", "rep_z_log_var", "rep_z")},
            "other_latent_z_mean": array(8, LATENT_MAX, at_most=8 * _PIXELS),
            **{k: array(8, 28, 28, 1) for k in ("path_z", "path_mean", "path_var")}}
PART = Part("test_encoder", "build_encoder", make_probe, subchecks, evidence=EVIDENCE)
