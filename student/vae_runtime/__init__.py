"""vae_runtime: what the vaekit course notebooks (Clase 157, Variational Autoencoders) need to run.

The student's package: data loading (real MNIST / Fashion-MNIST, offline first), plots, seeding and
grading-mode detection, device set-up, the reference classifier that scores generated samples, training
callbacks (KL annealing, posterior-collapse monitor), latent-space diagnostics, the decoder given in the class
notebook, and helpers for the visible tests (`quiet`, `testing.fixed_encoder`).

It holds NO exercise answers: no sampling layer, KL divergence, reconstruction loss, VAE model or training
step, encoder, convolutional decoder, prior sampling or latent interpolation. Those are what the student
writes (the instructors' reference implementation, `vae_lib`, is not part of this package).

Install: the wheel that comes beside the released notebook (`vaekit release` builds it),
`pip install "vae_runtime-0.1.0-py3-none-any.whl[cpu]"`. Usage: `import vae_runtime as vr`.
"""
from vae_runtime import testing
from vae_runtime.callbacks import KLAnnealing, PosteriorCollapseMonitor
from vae_runtime.classifier import class_accuracy, load_classifier, sample_quality
from vae_runtime.data import DataNotFoundError, dataset_source, load_dataset
from vae_runtime.devices import configure_devices, device_summary
from vae_runtime.diagnostics import (
    CollapseVerdict,
    active_units,
    interpolation_smoothness,
    latent_stats,
    posterior_collapse,
)
from vae_runtime.generation import encode_mean, reconstruct
from vae_runtime.networks import build_dense_decoder
from vae_runtime.plotting import (
    plot_history,
    plot_image_grid,
    plot_interpolation,
    plot_latent_scatter,
    plot_manifold,
    tile_images,
)
from vae_runtime.seeding import grading_mode, seed_everything
from vae_runtime.testing import fixed_encoder, quiet

__version__ = "0.1.0"

__all__ = [
    "load_dataset", "dataset_source", "DataNotFoundError",
    "plot_image_grid", "plot_interpolation", "plot_latent_scatter", "plot_manifold", "plot_history", "tile_images",
    "seed_everything", "grading_mode", "device_summary", "configure_devices",
    "load_classifier", "sample_quality", "class_accuracy",
    "KLAnnealing", "PosteriorCollapseMonitor",
    "latent_stats", "active_units", "posterior_collapse", "CollapseVerdict", "interpolation_smoothness",
    "encode_mean", "reconstruct", "build_dense_decoder",
    "quiet", "fixed_encoder", "testing",
]
