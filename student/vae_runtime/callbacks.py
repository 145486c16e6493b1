"""Training callbacks: KL annealing (β warm-up) and a posterior-collapse monitor."""
from __future__ import annotations

import keras

from vae_runtime.diagnostics import active_units


def _set_beta(model, value):
    beta = getattr(model, "beta", None)
    if hasattr(beta, "assign"):
        beta.assign(float(value))
    else:
        model.beta = float(value)


class KLAnnealing(keras.callbacks.Callback):
    """Linear β warm-up: at the start of epoch e (0-based) β = start + (target - start) · min(1, e / warmup_epochs).

    Sets `model.beta` (assigned in place when it is a `keras.Variable`: no retracing). `self.betas` records the value used
    in each epoch, also logged as `beta`.
    """

    def __init__(self, target_beta=1.0, warmup_epochs=10, start_beta=0.0):
        super().__init__()
        self.target_beta = float(target_beta)
        self.warmup_epochs = int(warmup_epochs)
        self.start_beta = float(start_beta)
        self.betas = []

    def beta_at(self, epoch):
        if self.warmup_epochs <= 0:
            return self.target_beta
        fraction = min(1.0, epoch / self.warmup_epochs)
        return self.start_beta + (self.target_beta - self.start_beta) * fraction

    def on_epoch_begin(self, epoch, logs=None):
        value = self.beta_at(epoch)
        _set_beta(self.model, value)
        self.betas.append(value)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.betas:
            logs["beta"] = self.betas[-1]


class PosteriorCollapseMonitor(keras.callbacks.Callback):
    """After each epoch counts active units of `model.encoder` on x_val (Burda et al. threshold).

    `self.active_units` records one int per epoch (also logged as `active_units`); when fewer than
    `min_active` units are active it prints a warning in Spanish (stdout, not stderr) and records the epoch
    in `self.collapsed_epochs`.
    """

    def __init__(self, x_val, threshold=1e-2, min_active=1):
        super().__init__()
        self.x_val = x_val
        self.threshold = float(threshold)
        self.min_active = int(min_active)
        self.active_units = []
        self.collapsed_epochs = []

    def on_epoch_end(self, epoch, logs=None):
        n = active_units(self.model.encoder, self.x_val, threshold=self.threshold)
        self.active_units.append(n)
        if logs is not None:
            logs["active_units"] = n
        if n < self.min_active:
            self.collapsed_epochs.append(epoch)
            print(f"AVISO (época {epoch + 1}): posible colapso del posterior: solo {n} dimensiones latentes "
                  f"activas (mínimo esperado {self.min_active}). Prueba con un beta menor o un calentamiento de KL.")
