"""Sampling (reparameterisation trick): z = μ + exp(0.5·log σ²)·ε with ε ~ N(0, 1), fresh at every call.

Evidence: z for 20,000 rows of one fixed (μ, log σ²) with 4 latent dims (its mean, std, tails and the correlation
between dims are compared with μ, exp(0.5·log σ²) and N(0, I)), two calls eager and in a tf.function (fresh noise:
each a draw like z's, and the two independent: uncorrelated, not the same values reordered), and the gradients of
Σ z·w: they must be w for μ and 0.5·(z − μ)·w for log σ², with that call's z a draw like z's.
"""
from __future__ import annotations

import numpy as np

from autograder.judge._framework import Part, SubCheck, array, close, floats

_MU = np.array([0.5, -1.0, 2.0, 0.0], dtype="float32")
_LOG_VAR = np.array([np.log(4.0), np.log(0.25), 1.0, -1.0], dtype="float32")
_N = 20_000


def make_probe(config: dict) -> dict:
    rng = np.random.default_rng(4157)
    return {"mu": np.tile(_MU, (_N, 1)), "log_var": np.tile(_LOG_VAR, (_N, 1)),
            "w": rng.normal(0.0, 1.0, (64, 4)).astype("float32")}


def _implied_eps(z: np.ndarray) -> np.ndarray:
    """(z − μ)/σ per latent dim: the noise that a z of the probe's (μ, log σ²) rows was drawn with."""
    return (z - _MU) / np.exp(0.5 * _LOG_VAR.astype("float64"))


def _same_draws(sample: np.ndarray, z: np.ndarray) -> bool:
    """Whether a small sample's implied noise has the per-dimension mean and standard deviation of z's (the big
    sample of the same layer), within 6 standard errors: a crafted or constant draw does not."""
    eps, ref = _implied_eps(sample), _implied_eps(z)
    if eps.ndim != 2 or eps.shape[1:] != ref.shape[1:] or not (np.all(np.isfinite(eps)) and np.all(np.isfinite(ref))):
        return False
    scale = np.maximum(ref.std(axis=0), 1e-12)
    return bool(np.all(np.abs(eps.mean(axis=0) - ref.mean(axis=0)) < 6 * scale / np.sqrt(len(eps)))
                and np.all(np.abs(eps.std(axis=0) / scale - 1.0) < 0.3))


def _dependent_draws(first: np.ndarray, second: np.ndarray, z: np.ndarray, where: str) -> str | None:
    """None when two calls' noises look like independent draws of the layer's noise; else a diagnosis.
    Independent: each is a draw like z's (same per-dimension mean and spread), they are uncorrelated (|r| < 0.35:
    over 5 standard errors even when one ε is shared by a whole row) and not the same values reordered (the median
    gap between their sorted values, ~0.04 σ for two independent draws of 1,024 and never below 0.008 σ in 20,000
    simulated pairs, is at least 0.002 σ)."""
    a, b = _implied_eps(first), _implied_eps(second)
    if a.shape != b.shape or not (_same_draws(first, z) and _same_draws(second, z)):
        return (f"{where} el ruido no es una muestra como la de las demás llamadas: cada llamada debe dar "
                "ε ~ N(0, 1) nuevo, con keras.random.normal(..., seed=self.seed_generator)")
    r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    gap = np.median(np.abs(np.sort(a.ravel()) - np.sort(b.ravel()))) / max(float(a.std()), 1e-12)
    if not abs(r) < 0.35 or gap < 0.002:
        return (f"{where} el ruido cambia pero no es independiente (el mismo ε alterado o reordenado): cada "
                "llamada debe sacar ε nuevo con keras.random.normal(..., seed=self.seed_generator)")
    return None


def subchecks(ev, probe, config) -> list[SubCheck]:
    expected_std = np.exp(0.5 * _LOG_VAR.astype("float64"))

    def z():
        return floats(ev["z"])

    def shape():
        if z().shape != (_N, 4):
            return f"z tiene forma {z().shape}; debe tener la forma de z_mean {(_N, 4)} (un z por fila)"

    def mean():
        got = z().mean(axis=0)
        if not np.all(np.abs(got - _MU) < 0.08 * np.maximum(1.0, expected_std)):
            shift = (got - _MU) / expected_std
            if np.allclose(shift, 0.5, atol=0.1):
                return "la media de z está desplazada +0.5·σ: ¿ruido uniforme en [0, 1)? usa keras.random.normal"
            return f"la media de z ({np.round(got, 2)}) no es μ ({_MU}): z = μ + σ·ε con ε de media 0"

    def std():
        got = z().std(axis=0)
        if close(got, expected_std, rtol=0.06):
            return None
        if not np.all(np.isfinite(got)):
            return "z contiene NaN o infinitos: ¿raíz de log σ²? log σ² puede ser negativo; σ = exp(0.5·log σ²)"
        if close(got, np.exp(_LOG_VAR), rtol=0.06):
            return "usaste exp(log σ²) (la varianza) como desviación típica; σ = exp(0.5·log σ²)"
        if close(got, np.abs(_LOG_VAR), rtol=0.06):
            return "usaste log σ² directamente como σ (confusión σ / log σ²); σ = exp(0.5·log σ²)"
        if close(got, np.exp(0.25 * _LOG_VAR), rtol=0.06):
            return "usaste exp(0.25·log σ²): σ = exp(0.5·log σ²) (la mitad del logaritmo de la varianza)"
        if close(got, expected_std / np.sqrt(12.0), rtol=0.08):
            return "la dispersión de z es la de un ruido uniforme en [0, 1): usa keras.random.normal"
        if np.allclose(got, 0.0, atol=1e-6):
            return "z no varía entre filas: el ruido ε es fijo (o nulo); debe ser un ε ~ N(0, 1) por elemento"
        return f"desviación típica de z {np.round(got, 3)} ≠ exp(0.5·log σ²) = {np.round(expected_std, 3)}"

    def gaussian():
        eps = (z() - _MU) / expected_std
        tail = float(np.mean(np.abs(eps - eps.mean(axis=0)) > 2.0 * eps.std(axis=0)))  # 4.55 % for a normal
        if not 0.035 < tail < 0.058:
            return (f"el ruido no es gaussiano ({tail:.1%} de valores a más de 2σ; una normal da 4.6 %): "
                    "¿keras.random.uniform? usa keras.random.normal")
        corr = np.corrcoef(eps.T) - np.eye(4)
        if np.max(np.abs(corr)) > 0.05:
            return ("el ruido de las distintas dimensiones latentes está correlacionado: ¿un solo ε por fila "
                    "(forma (batch, 1))? ε debe tener la forma de z_mean")

    def fresh_noise():
        first, second = floats(ev["fresh_1"]), floats(ev["fresh_2"])
        if np.allclose(first, second):
            return ("el ruido es el mismo en cada llamada: ¿una semilla fija dentro de call() o ε creado una sola "
                    "vez? usa keras.random.normal(..., seed=self.seed_generator)")
        graph = floats(ev["graph_1"]), floats(ev["graph_2"])
        if np.allclose(*graph):
            return ("dentro de un tf.function (como en fit) el ruido queda fijo: ¿ruido de NumPy? "
                    "usa keras.random.normal con un SeedGenerator")
        for draws, where in (((first, second), "en dos llamadas"), (graph, "en dos llamadas dentro de tf.function")):
            problem = _dependent_draws(*draws, z(), where)
            if problem:
                return problem

    def gradients():
        w = floats(probe["w"])
        zs = floats(ev["grad_z"])
        mu, log_var = floats(probe["mu"][:64]), floats(probe["log_var"][:64])
        if not close(floats(ev["grad_mu"]), w, rtol=1e-3, atol=1e-5):
            return "∂z/∂μ debe ser 1: z = μ + σ·ε (sin escalar ni cortar el gradiente de μ)"
        if not close(floats(ev["grad_log_var"]), 0.5 * (zs - mu) * w, rtol=2e-3, atol=1e-4):
            return ("el gradiente respecto a log σ² no es el de z = μ + exp(0.5·log σ²)·ε: calcula σ con "
                    "keras.ops.exp(0.5 * z_log_var), sin NumPy ni stop_gradient")
        # the expected ∂/∂log σ² is built from this call's z: it must be a draw of the same layer as z
        if not _same_draws(zs, z()):
            return ("el z de la llamada derivada no es una muestra de tu capa como las demás (su ε no es como el "
                    "de z): los gradientes se comprueban con el z que devuelve Sampling")

    return [
        SubCheck("z tiene la forma de z_mean", 1, shape, "Sampling falla al llamarla con (z_mean, z_log_var)"),
        SubCheck("media de z ≈ μ", 1, mean, "la media de z no es μ"),
        SubCheck("desviación típica de z ≈ exp(0.5·log σ²)", 2, std, "la desviación típica de z no es σ"),
        SubCheck("ε ~ N(0, I) (gaussiano, independiente por dimensión)", 1, gaussian, "el ruido no es N(0, I)"),
        SubCheck("ruido nuevo en cada llamada (también en tf.function)", 1, fresh_noise,
                 "el ruido no se renueva en cada llamada"),
        SubCheck("los gradientes llegan a μ y log σ² (reparametrización derivable)", 1, gradients,
                 "los gradientes no llegan a μ y log σ²"),
    ]


EVIDENCE = {"z": array(_N, 4), **{k: array(256, 4) for k in ("fresh_1", "fresh_2", "graph_1", "graph_2")},
            **{k: array(64, 4) for k in ("grad_z", "grad_mu", "grad_log_var")}}
PART = Part("test_sampling", "Sampling (truco de reparametrización)", make_probe, subchecks, evidence=EVIDENCE)
