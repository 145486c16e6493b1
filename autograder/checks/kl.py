"""Check of the student's `kl_divergence(z_mean, z_log_var)` against `vae_lib.kl_divergence`."""
from __future__ import annotations

import numpy as np

from autograder.checks._framework import SubCheck, close, grade, seed, to_numpy

_BATCH, _LATENT = 16, 5


def check(kl_divergence, points: float = 1.0, seed_value: int = 157) -> float:
    """Grade `kl_divergence`: shape (batch,), KL ≥ 0, 0 at N(0, I), value equal to the closed form."""
    import vae_lib

    seed(seed_value)
    rng = np.random.default_rng(seed_value)
    z_mean = rng.normal(0.0, 1.0, (_BATCH, _LATENT)).astype("float32")
    z_log_var = rng.uniform(-2.0, 1.0, (_BATCH, _LATENT)).astype("float32")
    reference = to_numpy(vae_lib.kl_divergence(z_mean, z_log_var))
    state = {}

    def value():
        if "kl" not in state:
            state["kl"] = to_numpy(kl_divergence(z_mean, z_log_var))
        return state["kl"]

    def shape():
        kl = value()
        if kl.shape == (_BATCH,):
            return None
        if kl.shape == ():
            return "devuelve un escalar: no promedies sobre el batch aquí; debe devolver un valor por ejemplo (batch,)"
        if kl.shape == (_BATCH, _LATENT):
            return "devuelve (batch, latent_dim): falta sumar sobre las dimensiones latentes (axis=-1)"
        return f"forma {kl.shape}; debe ser (batch,) = {(_BATCH,)}: suma sobre las dimensiones latentes (axis=-1)"

    def non_negative():
        kl = value()
        if np.all(kl >= -1e-5):
            return None
        if close(kl.reshape(-1)[:_BATCH] if kl.size >= _BATCH else kl, -reference, rtol=1e-3, atol=1e-4):
            return "el KL sale negativo: signo invertido; KL = -0.5·Σ(1 + log σ² - μ² - σ²)"
        return "el KL sale negativo en algún ejemplo, y el KL nunca es negativo: ¿signo invertido?"

    def zero_at_prior():
        kl = to_numpy(kl_divergence(np.zeros((4, _LATENT), "float32"), np.zeros((4, _LATENT), "float32")))
        if not np.allclose(kl, 0.0, atol=1e-5):
            return "KL(N(0, I) ‖ N(0, I)) debe ser 0: revisa el término constante (+1)"

    def matches_reference():
        kl = value()
        if close(kl, reference, rtol=1e-4, atol=1e-4):
            return None
        if close(kl, -reference, rtol=1e-3, atol=1e-4):
            return "signo invertido: KL = -0.5·Σ(1 + log σ² - μ² - exp(log σ²))"
        if close(kl, 2.0 * reference, rtol=1e-3, atol=1e-4):
            return "el KL sale el doble: falta el factor 0.5"
        if close(kl, reference / _LATENT, rtol=1e-3, atol=1e-4):
            return "promediaste sobre las dimensiones latentes: el KL se suma sobre ellas (axis=-1)"
        if kl.shape == () and np.isclose(float(kl), reference.mean(), rtol=1e-3):
            return "devuelve la media sobre el batch: kl_divergence debe devolver (batch,); la media va en train_step"
        if kl.shape == () and np.isclose(float(kl), reference.sum(), rtol=1e-3):
            return "sumaste también sobre el batch: debe devolver un valor por ejemplo (batch,)"
        return "el valor no coincide con KL = -0.5·Σ(1 + log σ² - μ² - exp(log σ²)) sumado sobre las dimensiones latentes"

    subchecks = [
        SubCheck("forma (batch,)", 1, shape, "kl_divergence falla al llamarla"),
        SubCheck("KL ≥ 0", 1, non_negative, "el KL no es siempre ≥ 0"),
        SubCheck("KL = 0 cuando q(z|x) = N(0, I)", 1, zero_at_prior, "KL(N(0,I)‖N(0,I)) no es 0"),
        SubCheck("valor igual a la forma cerrada", 3, matches_reference, "el valor del KL no es correcto"),
    ]
    return grade("kl_divergence", subchecks, points)
