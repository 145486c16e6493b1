"""kl_divergence(z_mean, z_log_var): KL(N(μ, σ²) ‖ N(0, I)) per example, shape (batch,), summed over latent dims.

Evidence: its value on seeded (μ, log σ²), its value at the prior, and the gradients of Σ KL, which must be μ and
0.5·(exp(log σ²) − 1) (a NumPy KL has none: its gradients are None). The value is compared with
``vae_lib.kl_divergence``.
"""
from __future__ import annotations

import numpy as np

from autograder.judge._framework import FLAG, Part, SubCheck, array, close, floats

_BATCH, _LATENT = 16, 5


def make_probe(config: dict) -> dict:
    rng = np.random.default_rng(5157)
    return {"z_mean": rng.normal(0.0, 1.0, (_BATCH, _LATENT)).astype("float32"),
            "z_log_var": rng.uniform(-2.0, 1.0, (_BATCH, _LATENT)).astype("float32")}


def subchecks(ev, probe, config) -> list[SubCheck]:
    import vae_lib

    z_mean, z_log_var = floats(probe["z_mean"]), floats(probe["z_log_var"])
    reference = floats(vae_lib.kl_divergence(probe["z_mean"], probe["z_log_var"]))

    def kl():
        return floats(ev["kl"])

    def shape():
        if kl().shape == (_BATCH,):
            return None
        if kl().shape == ():
            return "devuelve un escalar: no promedies sobre el batch aquí; debe devolver un valor por ejemplo (batch,)"
        if kl().shape == (_BATCH, _LATENT):
            return "devuelve (batch, latent_dim): falta sumar sobre las dimensiones latentes (axis=-1)"
        return f"forma {kl().shape}; debe ser (batch,) = {(_BATCH,)}: suma sobre las dimensiones latentes (axis=-1)"

    def depends_on_inputs() -> str | None:
        """A constant (0 everywhere, say) is ≥ 0 and 0 at the prior without being a KL: the probe's 16 examples
        have different KLs, so a KL that gives them all the same value is not computed from them."""
        value = kl()
        if value.size < 2 or np.allclose(value, value.ravel()[0], rtol=1e-6, atol=1e-6):
            return ("el KL sale igual para todos los ejemplos (¿un valor constante?): debe calcularse a partir de "
                    "z_mean y z_log_var de cada ejemplo")
        return None

    def non_negative():
        if np.all(kl() >= -1e-5):
            return depends_on_inputs()
        return "el KL sale negativo en algún ejemplo, y el KL nunca es negativo: ¿signo invertido?"

    def zero_at_prior():
        if not np.allclose(floats(ev["kl_prior"]), 0.0, atol=1e-5):
            return "KL(N(0, I) ‖ N(0, I)) debe ser 0: revisa el término constante (+1)"
        return depends_on_inputs()

    def matches_reference():
        value = kl()
        if close(value, reference, rtol=1e-4, atol=1e-4):
            return None
        if close(value, -reference, rtol=1e-3, atol=1e-4):
            return "signo invertido: KL = -0.5·Σ(1 + log σ² - μ² - exp(log σ²))"
        if close(value, 2.0 * reference, rtol=1e-3, atol=1e-4):
            return "el KL sale el doble: falta el factor 0.5"
        if close(value, reference / _LATENT, rtol=1e-3, atol=1e-4):
            return "promediaste sobre las dimensiones latentes: el KL se suma sobre ellas (axis=-1)"
        log_sigma = floats(vae_lib.kl_divergence(probe["z_mean"], 2.0 * probe["z_log_var"]))
        if close(value, log_sigma, rtol=1e-3, atol=1e-4):
            return ("tratas z_log_var como log σ en vez de log σ²: la varianza es exp(z_log_var) y su logaritmo "
                    "z_log_var (sin multiplicar por 2)")
        if value.shape == () and np.isclose(float(value), reference.mean(), rtol=1e-3):
            return "devuelve la media sobre el batch: kl_divergence debe devolver (batch,); la media va en train_step"
        if value.shape == () and np.isclose(float(value), reference.sum(), rtol=1e-3):
            return "sumaste también sobre el batch: debe devolver un valor por ejemplo (batch,)"
        if value.shape == (_BATCH, _LATENT) and close(value.sum(axis=-1), reference, rtol=1e-3, atol=1e-4):
            return "los términos por dimensión son correctos, pero falta sumarlos sobre las dimensiones latentes"
        return "el valor no coincide con KL = -0.5·Σ(1 + log σ² - μ² - exp(log σ²)) sumado sobre las dimensiones latentes"

    def gradients():
        if "grad_is_none" in ev and bool(np.all(ev["grad_is_none"])):
            return ("el KL no tiene gradiente (tape.gradient da None): calcúlalo con keras.ops, no con NumPy ni "
                    "fuera del grafo, para poder entrenar con él")
        g_mean, g_log_var = floats(ev["grad_z_mean"]), floats(ev["grad_z_log_var"])
        if not np.any(g_mean) and not np.any(g_log_var):
            return "el KL no tiene gradiente: calcúlalo con keras.ops (no con NumPy) para poder entrenar con él"
        if not (close(g_mean, z_mean, rtol=1e-3, atol=1e-4)
                and close(g_log_var, 0.5 * (np.exp(z_log_var) - 1.0), rtol=1e-3, atol=1e-4)):
            return ("los gradientes de tu KL no son los de la forma cerrada (∂KL/∂μ = μ, ∂KL/∂log σ² = "
                    "0.5·(σ² − 1)): revisa la fórmula")

    return [
        SubCheck("forma (batch,)", 1, shape, "kl_divergence falla al llamarla"),
        SubCheck("KL ≥ 0", 0.5, non_negative, "el KL no es siempre ≥ 0"),
        SubCheck("KL = 0 cuando q(z|x) = N(0, I)", 0.5, zero_at_prior, "KL(N(0,I)‖N(0,I)) no es 0"),
        SubCheck("valor igual a la forma cerrada", 4, matches_reference, "el valor del KL no es correcto"),
        SubCheck("derivable, con los gradientes de la forma cerrada", 2, gradients, "el KL no es derivable"),
    ]


# a KL not summed over the latent dims is (batch, latent): the bounds allow it
EVIDENCE = {"kl": array(_BATCH, _LATENT), "kl_prior": array(4, _LATENT), "grad_is_none": array(2, kinds=FLAG),
            "grad_z_mean": array(_BATCH, _LATENT), "grad_z_log_var": array(_BATCH, _LATENT)}
PART = Part("test_kl_divergence", "kl_divergence", make_probe, subchecks, evidence=EVIDENCE)
