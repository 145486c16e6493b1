"""Shared fixtures: small REAL data subsets (loaded once per session) and one small trained VAE."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import re  # noqa: E402

import pytest  # noqa: E402


def pytest_configure(config):
    """The library noise vaekit's console filters (``autograder.quiet.NOISE``) is filtered in tests too, so the
    warnings summary shows only what nobody has looked at yet."""
    from autograder.quiet import NOISE

    for message, module in NOISE:
        config.addinivalue_line("filterwarnings", f"ignore:{re.escape(message)}::{re.escape(module)}\\Z")


@pytest.fixture(scope="session")
def chromium_browser():
    """The session's one headless Chromium (Playwright's sync API runs once per thread): JupyterLab tests and the
    page checks share it; closed when the session ends."""
    import pagecheck

    yield pagecheck.shared_browser()
    pagecheck.close_shared_browser()


@pytest.fixture(scope="session")
def mnist_small():
    """2,000 real MNIST training images `(2000, 28, 28, 1)` float32 in [0, 1] and their labels."""
    from vae_lib import load_dataset

    return load_dataset("mnist", "train", limit=2000)


@pytest.fixture(scope="session")
def fashion_small():
    """1,000 real Fashion-MNIST test images and labels."""
    from vae_lib import load_dataset

    return load_dataset("fashion_mnist", "test", limit=1000)


@pytest.fixture(scope="session")
def trained_vae(mnist_small):
    """A dense VAE (latent 2) trained for 15 epochs on the 2,000 MNIST images (seeded; a few seconds)."""
    import keras

    from vae_lib import VAE, build_dense_decoder, build_dense_encoder, seed_everything

    seed_everything(0)
    x, _ = mnist_small
    model = VAE(build_dense_encoder(2, hidden=(256,)), build_dense_decoder(2, hidden=(256,)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, epochs=15, batch_size=64, verbose=0)
    return model
