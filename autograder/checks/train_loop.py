"""Check of the student's `VAE(keras.Model)` training step.

Uses the student's class with the reference networks, so only `train_step` is graded:
- one step with a probe encoder whose σ ≈ 0.0025 (z ≈ z_mean, so the reconstruction term is deterministic)
  and β = 5: metric keys, reconstruction summed over pixels, loss − reconstruction = β·KL, weights change;
- a few steps on real images: the loss decreases.
"""
from __future__ import annotations

import numpy as np

from autograder.checks._framework import SubCheck, grade, seed, to_numpy
from autograder.checks._probes import LinearEncoder

_KEYS = ("loss", "reconstruction_loss", "kl_loss")
_BETA = 5.0


def _images(dataset: str, n: int):
    import vae_lib

    x, _ = vae_lib.load_dataset(dataset, split="train", limit=n)
    return np.asarray(x, "float32")


def check(VAE, points: float = 2.0, dataset: str = "mnist", latent_dim: int = 4, seed_value: int = 157) -> float:
    import keras
    import vae_lib

    seed(seed_value)
    x = _images(dataset, 512)
    batch = x[:64]
    state = {}

    def one_step():
        if "logs" in state:
            return state["logs"]
        probe = LinearEncoder(latent_dim, seed=seed_value)
        decoder = vae_lib.build_dense_decoder(latent_dim, hidden=(64,))
        vae = VAE(probe.model, decoder, beta=_BETA)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        z_mean = probe.z_mean(batch).astype("float32")
        state["expected_recon"] = float(np.mean(to_numpy(
            vae_lib.reconstruction_loss(batch, decoder(z_mean)))))
        state["expected_kl"] = float(np.mean(to_numpy(
            vae_lib.kl_divergence(z_mean, np.full_like(z_mean, -12.0)))))
        before = {"codificador": [to_numpy(w) for w in probe.model.trainable_weights],
                  "decodificador": [to_numpy(w) for w in decoder.trainable_weights]}
        logs = vae.train_step(keras.ops.convert_to_tensor(batch))
        state["logs"] = {k: float(np.mean(to_numpy(v))) for k, v in dict(logs).items()}
        after = {"codificador": [to_numpy(w) for w in probe.model.trainable_weights],
                 "decodificador": [to_numpy(w) for w in decoder.trainable_weights]}
        state["unchanged"] = [name for name in before
                              if all(np.array_equal(b, a) for b, a in zip(before[name], after[name]))]
        return state["logs"]

    def keys():
        missing = [k for k in _KEYS if k not in one_step()]
        if missing:
            return f"train_step debe devolver un dict con {list(_KEYS)}; faltan {missing}"

    def reconstruction_sum():
        recon, expected = one_step()["reconstruction_loss"], state["expected_recon"]
        if np.isclose(recon, expected, rtol=0.02):
            return None
        if np.isclose(recon, expected / (28 * 28), rtol=0.02):
            return ("la reconstrucción es una media sobre píxeles: súmala sobre los 784 píxeles (media solo sobre el "
                    "batch); con la media el KL domina y el posterior colapsa")
        if np.isclose(recon, expected * 64, rtol=0.02):
            return "la reconstrucción se suma también sobre el batch: súmala sobre píxeles y promedia sobre el batch"
        return (f"reconstruction_loss = {recon:.2f}, se esperaba {expected:.2f} (BCE sumada sobre píxeles, media "
                "sobre el batch, con z muestreado)")

    def beta_applied():
        logs = one_step()
        if not all(k in logs for k in _KEYS):
            return "sin las claves loss / reconstruction_loss / kl_loss no se puede comprobar β"
        gap, kl = logs["loss"] - logs["reconstruction_loss"], logs["kl_loss"]
        if np.isclose(gap, _BETA * kl, rtol=1e-3, atol=1e-3):
            return None
        if np.isclose(gap, kl, rtol=1e-3, atol=1e-3):
            return "β no se aplica: la pérdida debe ser reconstrucción + self.beta · KL"
        return f"loss − reconstruction_loss = {gap:.3f} pero β·kl_loss = {_BETA * kl:.3f} (β = {_BETA:g})"

    def weights_change():
        one_step()
        if state["unchanged"]:
            return (f"los pesos del {' y del '.join(state['unchanged'])} no cambian tras un paso: calcula los "
                    "gradientes de la pérdida total respecto a self.trainable_weights y aplícalos con self.optimizer")

    def loss_decreases():
        seed(seed_value)
        encoder = vae_lib.build_dense_encoder(latent_dim, hidden=(128,), seed=seed_value)
        decoder = vae_lib.build_dense_decoder(latent_dim, hidden=(128,))
        vae = VAE(encoder, decoder, beta=1.0)
        vae.compile(optimizer=keras.optimizers.Adam(2e-3))
        losses = []
        record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: losses.append(float(logs["loss"])))
        vae.fit(x, epochs=1, batch_size=32, shuffle=False, verbose=0, callbacks=[record])
        first, last = np.mean(losses[:2]), np.mean(losses[-2:])
        if not (np.isfinite(last) and last < 0.9 * first):
            return f"la pérdida no baja en {len(losses)} pasos con imágenes reales ({first:.2f} → {last:.2f})"

    subchecks = [
        SubCheck("devuelve loss, reconstruction_loss y kl_loss", 1, keys, "train_step falla"),
        SubCheck("reconstrucción: BCE sumada sobre píxeles, media sobre el batch", 2, reconstruction_sum,
                 "la reconstrucción no es correcta"),
        SubCheck("loss = reconstrucción + β·KL", 2, beta_applied, "β no se aplica bien"),
        SubCheck("los pesos del codificador y del decodificador cambian", 1, weights_change,
                 "los pesos no cambian tras un paso"),
        SubCheck("la pérdida baja en unos pasos con datos reales", 1, loss_decreases, "la pérdida no baja"),
    ]
    return grade("VAE.train_step", subchecks, points)
