"""Check of the student's `Sampling` layer (reparameterisation trick).

Hidden inputs: 20,000 rows of a fixed (z_mean, z_log_var) pair with 4 latent dims, so the empirical mean and
std of z per dim can be compared with μ and exp(0.5·log σ²) (tolerance well above sampling noise).
"""
from __future__ import annotations

import numpy as np

from autograder.checks._framework import SubCheck, close, grade, seed, to_numpy

_MU = np.array([0.5, -1.0, 2.0, 0.0], dtype="float32")
_LOG_VAR = np.array([np.log(4.0), np.log(0.25), 1.0, -1.0], dtype="float32")
_N = 20_000


def check(Sampling, points: float = 2.0, seed_value: int = 157) -> float:
    """Grade `Sampling` (the class, not an instance). Returns points in [0, points]."""
    import keras
    import tensorflow as tf

    seed(seed_value)
    mu = keras.ops.convert_to_tensor(np.tile(_MU, (_N, 1)))
    log_var = keras.ops.convert_to_tensor(np.tile(_LOG_VAR, (_N, 1)))
    expected_std = np.exp(0.5 * _LOG_VAR)
    state = {}

    def draw():
        if "z" not in state:
            layer = Sampling()
            state["layer"] = layer
            state["z"] = to_numpy(layer((mu, log_var)))
        return state["z"]

    def shape():
        z = draw()
        if z.shape != (_N, 4):
            return f"z tiene forma {z.shape}; debe tener la forma de z_mean {(_N, 4)} (un z por fila)"

    def mean():
        z = draw()
        got = z.mean(axis=0)
        if not np.all(np.abs(got - _MU) < 0.08 * np.maximum(1.0, expected_std)):
            shift = (got - _MU) / expected_std
            if np.allclose(shift, 0.5, atol=0.1):
                return "la media de z está desplazada +0.5·σ: ¿ruido uniforme en [0, 1)? usa keras.random.normal"
            return f"la media de z ({np.round(got, 2)}) no es μ ({_MU}): z = μ + σ·ε con ε de media 0"

    def std():
        z = draw()
        got = z.std(axis=0)
        if close(got, expected_std, rtol=0.06):
            return None
        if not np.all(np.isfinite(got)):
            return "z contiene NaN: ¿raíz de log σ²? log σ² puede ser negativo; σ = exp(0.5·log σ²)"
        if close(got, np.exp(_LOG_VAR), rtol=0.06):
            return "usaste exp(log σ²) (la varianza) como desviación típica; σ = exp(0.5·log σ²)"
        if close(got, np.abs(_LOG_VAR), rtol=0.06):
            return "usaste log σ² directamente como σ (confusión σ / log σ²); σ = exp(0.5·log σ²)"
        if close(got, expected_std / np.sqrt(12.0), rtol=0.08):
            return "la dispersión de z es la de un ruido uniforme en [0, 1): usa keras.random.normal"
        if np.allclose(got, 0.0, atol=1e-6):
            return "z no varía entre filas: el ruido ε es fijo (o nulo); debe ser un ε ~ N(0, 1) por elemento"
        return f"desviación típica de z {np.round(got, 3)} ≠ exp(0.5·log σ²) = {np.round(expected_std, 3)}"

    def gaussian():
        z = draw()
        eps = (z - z.mean(axis=0)) / np.maximum(z.std(axis=0), 1e-12)
        tail = float(np.mean(np.abs(eps) > 2.0))  # 4.55 % for a normal, 0 % for a uniform
        if not 0.035 < tail < 0.058:
            return (f"el ruido no es gaussiano ({tail:.1%} de valores a más de 2σ; una normal da 4.6 %): "
                    "¿keras.random.uniform? usa keras.random.normal")

    def fresh_noise():
        layer = state.get("layer") or Sampling()
        small_mu, small_lv = mu[:256], log_var[:256]
        first, second = to_numpy(layer((small_mu, small_lv))), to_numpy(layer((small_mu, small_lv)))
        if np.allclose(first, second):
            return ("el ruido es el mismo en cada llamada: ¿una semilla fija dentro de call() o ε creado una sola "
                    "vez? usa keras.random.normal(..., seed=self.seed_generator)")
        graph_call = tf.function(lambda m, v: layer((m, v)))
        first, second = to_numpy(graph_call(small_mu, small_lv)), to_numpy(graph_call(small_mu, small_lv))
        if np.allclose(first, second):
            return ("dentro de un tf.function (como en fit) el ruido queda fijo: ¿ruido de NumPy? "
                    "usa keras.random.normal con un SeedGenerator")

    def gradients():
        layer = Sampling()
        m, v = tf.Variable(mu[:64]), tf.Variable(log_var[:64])
        with tf.GradientTape() as tape:
            z = layer((m, v))
            total = tf.reduce_sum(z * z)
        grad_m, grad_v = tape.gradient(total, [m, v])
        missing = [name for name, g in (("μ", grad_m), ("log σ²", grad_v))
                   if g is None or not np.any(to_numpy(g) != 0)]
        if missing:
            return (f"el gradiente no llega a {' ni a '.join(missing)}: calcula z con operaciones de "
                    "keras.ops (sin NumPy ni stop_gradient) para que la reparametrización sea derivable")

    subchecks = [
        SubCheck("z tiene la forma de z_mean", 1, shape, "Sampling falla al llamarla con (z_mean, z_log_var)"),
        SubCheck("media de z ≈ μ", 1, mean, "la media de z no es μ"),
        SubCheck("desviación típica de z ≈ exp(0.5·log σ²)", 2, std, "la desviación típica de z no es σ"),
        SubCheck("ε ~ N(0, 1) (forma gaussiana)", 1, gaussian, "el ruido no es gaussiano"),
        SubCheck("ruido nuevo en cada llamada (también en tf.function)", 1, fresh_noise,
                 "el ruido no se renueva en cada llamada"),
        SubCheck("los gradientes llegan a μ y log σ²", 1, gradients, "los gradientes no llegan a μ y log σ²"),
    ]
    return grade("Sampling (truco de reparametrización)", subchecks, points)
