"""Matplotlib figures for the course. Every function returns the Figure and saves a PNG when `path` is given."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def _finish(fig, path):
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100)
    return fig


def _as_images(images):
    images = np.asarray(images)
    return images[..., 0] if images.ndim == 4 else images


def tile_images(images, n_cols=10, gap=2):
    """Images `(n, h, w[, 1])` tiled row-major into one array `(rows·(h+gap)-gap, cols·(w+gap)-gap)`, gaps white."""
    images = _as_images(images)
    n, h, w = images.shape
    n_cols = max(1, min(n_cols, n))
    n_rows = math.ceil(n / n_cols)
    mosaic = np.ones((n_rows * (h + gap) - gap, n_cols * (w + gap) - gap), dtype="float32")
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        mosaic[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = image
    return mosaic


def plot_image_grid(images, n_cols=10, titles=None, title=None, path=None):
    """Images `(n, 28, 28[, 1])` in [0, 1] on a grid with `n_cols` columns (optional per-image titles).

    Without titles the grid is drawn as one tiled image (fast even for 100 images); with titles, one axis each.
    """
    images = _as_images(images)
    n = len(images)
    n_cols = max(1, min(n_cols, n))
    n_rows = math.ceil(n / n_cols)
    figsize = (1.2 * n_cols, 1.2 * n_rows + (0.4 if title else 0))
    if titles is None:
        fig, ax = plt.subplots(figsize=figsize)
        ax.imshow(tile_images(images, n_cols), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.axis("off")
    else:
        fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize, squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i < n:
                ax.imshow(images[i], cmap="gray", vmin=0.0, vmax=1.0)
                ax.set_title(str(titles[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_interpolation(frames, title="Interpolación en el espacio latente", path=None):
    """One strip of interpolation frames `(steps, 28, 28[, 1])`, endpoints first and last."""
    frames = _as_images(frames)
    fig, axes = plt.subplots(1, len(frames), figsize=(1.2 * len(frames), 1.6), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.imshow(frames[i], cmap="gray", vmin=0.0, vmax=1.0)
        ax.axis("off")
    axes.flat[0].set_title("A", fontsize=8)
    axes.flat[-1].set_title("B", fontsize=8)
    fig.suptitle(title)
    return _finish(fig, path)


def plot_latent_scatter(z, labels, class_names=None, title="Espacio latente (z_mean)", path=None):
    """Scatter of the first two latent coordinates `z (n, >=2)`, coloured by integer label."""
    z = np.asarray(z)
    labels = np.asarray(labels)
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7, vmin=-0.5, vmax=9.5)
    bar = fig.colorbar(points, ax=ax, ticks=range(10))
    if class_names is not None:
        bar.ax.set_yticklabels(class_names)
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title)
    return _finish(fig, path)


def plot_manifold(grid, span=3.0, title="Variedad latente 2-D", path=None):
    """The image from `manifold_grid` `(n·28, n·28)`, with latent coordinates on the axes."""
    grid = np.asarray(grid)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, extent=(-span, span, -span, span))
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title)
    return _finish(fig, path)


def plot_history(history, keys=("loss", "reconstruction_loss", "kl_loss"), title="Curvas de entrenamiento", path=None):
    """Training curves from a Keras `History` (or its `.history` dict): one panel per key, with `val_` if present."""
    logs = getattr(history, "history", history)
    keys = [k for k in keys if k in logs]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(4 * max(1, len(keys)), 3), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        epochs = np.arange(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], marker="o", label="entrenamiento")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], marker="o", label="validación")
            ax.legend()
        ax.set_xlabel("época")
        ax.set_title(key)
    fig.suptitle(title)
    return _finish(fig, path)
