"""Matplotlib figures for the course. Every function returns the Figure and saves a PNG when `path` is given."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

TITLE_BAND = 9  # pixels above each titled row of 28-pixel images: one line of 8-point text


def _finish(fig, path):
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100)
    return fig


def _as_images(images):
    images = np.asarray(images)
    return images[..., 0] if images.ndim == 4 else images


def tile_images(images, n_cols=10, gap=2, band=0):
    """Images `(n, h, w[, 1])` tiled row-major into one array `(rows·(h+gap+band)-gap, cols·(w+gap)-gap)`: white
    gaps, and a white band of `band` pixels above each row (room for the images' titles)."""
    images = _as_images(images)
    n, h, w = images.shape
    n_cols = max(1, min(n_cols, n))
    n_rows = math.ceil(n / n_cols)
    row = h + gap + band
    mosaic = np.ones((n_rows * row - gap, n_cols * (w + gap) - gap), dtype="float32")
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        top = r * row + band
        mosaic[top:top + h, c * (w + gap):c * (w + gap) + w] = image
    return mosaic


def plot_image_grid(images, n_cols=10, titles=None, title=None, path=None):
    """Images `(n, 28, 28[, 1])` in [0, 1] on a grid with `n_cols` columns, optional per-image titles.

    The grid is ONE tiled image on one axis (titles are text over each image's band): drawing it costs the same for
    4 images or 100, where an axis per image costs ~10 ms each to lay out and render.
    """
    images = _as_images(images)
    n, h, w = images.shape
    n_cols = max(1, min(n_cols, n))
    n_rows = math.ceil(n / n_cols)
    band, gap = (TITLE_BAND, 2) if titles is not None else (0, 2)
    figsize = (1.2 * n_cols, (1.2 + 0.4 * bool(band)) * n_rows + (0.4 if title else 0))
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(tile_images(images, n_cols, gap, band), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.axis("off")
    for i, text in enumerate(titles if titles is not None else ()):
        if i < n and str(text):
            r, c = divmod(i, n_cols)
            ax.text(c * (w + gap) + w / 2, r * (h + gap + band) + band - 1, str(text), fontsize=8,
                    ha="center", va="bottom")
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_interpolation(frames, title="Interpolación en el espacio latente", path=None):
    """One strip of interpolation frames `(steps, 28, 28[, 1])`, endpoints first and last (labelled A and B)."""
    frames = _as_images(frames)
    labels = ["A"] + [""] * (len(frames) - 2) + ["B"] if len(frames) > 1 else ["A"]
    return plot_image_grid(frames, n_cols=len(frames), titles=labels, title=title, path=path)


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
