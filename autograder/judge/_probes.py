"""Probe networks with known, invertible maps (NumPy side), so the judge can recover the latent codes a student used.

`LinearDecoder`: z → sigmoid(z·W + b) reshaped to (28, 28, 1); `recover_codes(images)` = least squares of
logit(images) − b on W, whose residual tells whether an image is a decoder output at all. `LinearEncoder`:
z_mean = flatten(x)·A, z_log_var = flatten(x)·B + b_lv. The kernel builds the same maps as keras models from these
weights (``kernel_side.linear_decoder`` / ``linear_encoder``).
"""
from __future__ import annotations

import numpy as np

PIXELS = 28 * 28


class LinearDecoder:
    def __init__(self, latent_dim: int, seed: int):
        rng = np.random.default_rng(seed)
        self.W = (rng.normal(0.0, 1.0, (latent_dim, PIXELS)) / np.sqrt(latent_dim)).astype("float32")
        self.b = rng.normal(0.0, 0.3, PIXELS).astype("float32")

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {f"W{prefix}": self.W, f"b{prefix}": self.b}

    def decode(self, z) -> np.ndarray:
        logits = np.asarray(z, "float64") @ self.W + self.b
        return (1.0 / (1.0 + np.exp(-logits))).reshape(-1, 28, 28, 1)

    def recover_codes(self, images):
        """(codes (n, latent_dim), relative residual per image): residual ≈ 0 iff the image is a decoder output."""
        images = np.asarray(images, "float64")
        p = np.clip(images.reshape(len(images), -1), 1e-7, 1 - 1e-7)
        target = np.log(p / (1 - p)) - self.b
        codes, *_ = np.linalg.lstsq(self.W.T.astype("float64"), target.T, rcond=None)
        codes = codes.T
        residual = np.linalg.norm(codes @ self.W - target, axis=1) / np.maximum(np.linalg.norm(target, axis=1), 1e-9)
        return codes, residual


class LinearEncoder:
    def __init__(self, latent_dim: int, seed: int, log_var: float = -12.0, log_var_scale: float = 0.0):
        rng = np.random.default_rng(seed)
        self.A = (rng.normal(0.0, 1.0, (PIXELS, latent_dim)) / np.sqrt(PIXELS / 4)).astype("float32")
        self.B = (rng.normal(0.0, 1.0, (PIXELS, latent_dim)) * log_var_scale / np.sqrt(PIXELS)).astype("float32")
        self.b_lv = np.full(latent_dim, log_var, "float32")

    def arrays(self) -> dict[str, np.ndarray]:
        return {"A": self.A, "B": self.B, "b_lv": self.b_lv}

    def z_mean(self, x) -> np.ndarray:
        return np.asarray(x, "float64").reshape(len(x), -1) @ self.A


class LinearCondDecoder(LinearDecoder):
    """[z, y] → sigmoid(z·W + y·V + b): a LinearDecoder whose logits also take the one-hot label y through V."""

    def __init__(self, latent_dim: int, classes: int, seed: int):
        super().__init__(latent_dim, seed)
        rng = np.random.default_rng(seed + 1)
        self.V = (rng.normal(0.0, 1.0, (classes, PIXELS))).astype("float32")

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {**super().arrays(prefix), f"V{prefix}": self.V}

    @classmethod
    def from_arrays(cls, probe: dict, prefix: str = "") -> "LinearCondDecoder":
        d = cls.__new__(cls)
        d.W, d.V, d.b = probe["W" + prefix], probe["V" + prefix], probe["b" + prefix]
        return d

    def recover(self, images):
        """(codes (n, latent_dim), label weights (n, classes), relative residual per image): least squares of
        logit(images) − b on [W; V]; a decoder output with a one-hot label gives that one-hot row, residual ≈ 0."""
        images = np.asarray(images, "float64").reshape(len(images), -1)
        p = np.clip(images, 1e-7, 1 - 1e-7)
        target = np.log(p / (1 - p)) - self.b
        basis = np.concatenate([self.W, self.V]).astype("float64")
        coef, *_ = np.linalg.lstsq(basis.T, target.T, rcond=None)
        coef = coef.T
        # a pixel saturated in float32 (codes far from the prior) has lost its logit: such an image is solved on
        # its other pixels (when enough of them are left to determine the unknowns)
        live = (images > 1e-6) & (images < 1 - 1e-6)
        for i in np.flatnonzero(~live.all(axis=1) & (live.sum(axis=1) >= 2 * len(basis))):
            coef[i], *_ = np.linalg.lstsq(basis.T[live[i]], target[i, live[i]], rcond=None)
        error = np.where(live, coef @ basis - target, 0.0)
        scale = np.maximum(np.linalg.norm(np.where(live, target, 0.0), axis=1), 1e-9)
        k = self.W.shape[0]
        return coef[:, :k], coef[:, k:], np.linalg.norm(error, axis=1) / scale
