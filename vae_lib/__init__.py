"""vae_lib: reference Variational Autoencoder library for vaekit (see docs/architecture.md).

Keras 3 (TensorFlow backend by default). Reduction rule everywhere: sum per example (over pixels /
latent dims), mean over the batch.
"""
from vae_lib.callbacks import KLAnnealing, PosteriorCollapseMonitor
from vae_lib.classifier import build_classifier, load_classifier, sample_quality, train_classifier
from vae_lib.data import DataNotFoundError, dataset_source, load_dataset
from vae_lib.devices import configure_devices, device_summary
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
from vae_lib.losses import bce_from_logits, kl_divergence, reconstruction_loss
from vae_lib.model import VAE
from vae_lib.networks import build_conv_decoder, build_conv_encoder, build_dense_decoder, build_dense_encoder
from vae_lib.plotting import plot_history, plot_image_grid, plot_interpolation, plot_latent_scatter, plot_manifold, tile_images
from vae_lib.sampling import Sampling
from vae_lib.seeding import grading_mode, seed_everything

__all__ = [
    "Sampling", "kl_divergence", "reconstruction_loss", "bce_from_logits",
    "build_dense_encoder", "build_dense_decoder", "build_conv_encoder", "build_conv_decoder",
    "VAE", "KLAnnealing", "PosteriorCollapseMonitor",
    "sample_prior", "encode_mean", "reconstruct", "interpolate_latent", "interpolate", "traverse", "manifold_grid",
    "latent_stats", "active_units", "posterior_collapse", "CollapseVerdict", "interpolation_smoothness",
    "importance_weighted_elbo",
    "build_classifier", "train_classifier", "load_classifier", "sample_quality",
    "load_dataset", "dataset_source", "DataNotFoundError",
    "plot_image_grid", "plot_interpolation", "plot_latent_scatter", "plot_manifold", "plot_history", "tile_images",
    "device_summary", "configure_devices", "seed_everything", "grading_mode",
]
