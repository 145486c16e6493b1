"""vae_lib: reference Variational Autoencoder library for vaekit (see docs/architecture.md)."""
