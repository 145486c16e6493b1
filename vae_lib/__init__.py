"""vae_lib: reference Variational Autoencoder library for vaekit (see docs/architecture.md).

Keras 3 (TensorFlow backend by default). Reduction rule everywhere: sum per example (over pixels /
latent dims), mean over the batch.

The parts the students' notebooks need that are not exercise answers (data, plots, seeding, devices, the
reference classifier, callbacks, latent diagnostics, the dense decoder) live in `vae_runtime` (the students'
package, `student/`); vae_lib re-exports them, so its public API is unchanged. The moved modules are also
reachable under their old names (`vae_lib.data`, `vae_lib.plotting`, ...).
"""
import sys as _sys

from vae_runtime import callbacks, classifier, data, devices, plotting, seeding
from vae_runtime.callbacks import KLAnnealing, PosteriorCollapseMonitor
from vae_runtime.classifier import build_classifier, load_classifier, sample_quality, train_classifier
from vae_runtime.data import DataNotFoundError, dataset_source, load_dataset
from vae_runtime.devices import configure_devices, device_summary
from vae_runtime.plotting import (
    plot_history,
    plot_image_grid,
    plot_interpolation,
    plot_latent_scatter,
    plot_manifold,
    tile_images,
)
from vae_runtime.seeding import grading_mode, seed_everything

from vae_lib.diagnostics import (
    CollapseVerdict,
    active_units,
    importance_weighted_elbo,
    interpolation_smoothness,
    latent_stats,
    posterior_collapse,
)
from vae_lib.generation import (
    encode_mean,
    interpolate,
    interpolate_latent,
    manifold_grid,
    reconstruct,
    sample_prior,
    traverse,
)
from vae_lib.conditional import CVAE, build_cond_decoder, build_cond_encoder, class_accuracy, one_hot, sample_class
from vae_lib.losses import bce_from_logits, kl_divergence, reconstruction_loss
from vae_lib.model import VAE
from vae_lib.networks import build_conv_decoder, build_conv_encoder, build_dense_decoder, build_dense_encoder
from vae_lib.sampling import Sampling

# `import vae_lib.data` (and the other moved modules) keeps working: the same module objects as vae_runtime's.
for _module in (callbacks, classifier, data, devices, plotting, seeding):
    _sys.modules.setdefault(f"{__name__}.{_module.__name__.rsplit('.', 1)[-1]}", _module)
del _module

__all__ = [
    "Sampling", "kl_divergence", "reconstruction_loss", "bce_from_logits",
    "build_dense_encoder", "build_dense_decoder", "build_conv_encoder", "build_conv_decoder",
    "VAE", "KLAnnealing", "PosteriorCollapseMonitor",
    "CVAE", "build_cond_encoder", "build_cond_decoder", "sample_class", "class_accuracy", "one_hot",
    "sample_prior", "encode_mean", "reconstruct", "interpolate_latent", "interpolate", "traverse", "manifold_grid",
    "latent_stats", "active_units", "posterior_collapse", "CollapseVerdict", "interpolation_smoothness",
    "importance_weighted_elbo",
    "build_classifier", "train_classifier", "load_classifier", "sample_quality",
    "load_dataset", "dataset_source", "DataNotFoundError",
    "plot_image_grid", "plot_interpolation", "plot_latent_scatter", "plot_manifold", "plot_history", "tile_images",
    "device_summary", "configure_devices", "seed_everything", "grading_mode",
]
