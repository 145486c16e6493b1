"""Plotting, devices, seeding and the reference classifier."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_lib import (  # noqa: E402
    configure_devices,
    device_summary,
    grading_mode,
    load_classifier,
    plot_history,
    plot_image_grid,
    plot_interpolation,
    plot_latent_scatter,
    plot_manifold,
    sample_quality,
    seed_everything,
    tile_images,
)


def test_plots_return_figures_and_save_png(tmp_path, mnist_small):
    x, y = mnist_small
    figures = {
        "grid": plot_image_grid(x[:12], n_cols=6, titles=list(y[:12])),
        "interp": plot_interpolation(x[:8]),
        "scatter": plot_latent_scatter(np.random.default_rng(0).normal(size=(100, 2)), y[:100]),
        "manifold": plot_manifold(np.zeros((5 * 28, 5 * 28))),
        "history": plot_history({"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2], "kl_loss": [1, 2, 3]}),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.read_bytes()[:4] == b"\x89PNG"
    saved = tmp_path / "direct.png"
    plot_image_grid(x[:4], path=saved)
    assert saved.stat().st_size > 1000


def test_tile_images_places_each_image_row_major(mnist_small):
    x, _ = mnist_small
    mosaic = tile_images(x[:7], n_cols=3, gap=2)
    assert mosaic.shape == (3 * 30 - 2, 3 * 30 - 2)
    np.testing.assert_array_equal(mosaic[0:28, 30:58], x[1, ..., 0])  # row 0, column 1
    np.testing.assert_array_equal(mosaic[60:88, 0:28], x[6, ..., 0])  # row 2, column 0
    assert np.all(mosaic[28:30, :] == 1.0)  # white gap between rows
    assert np.all(mosaic[60:88, 30:] == 1.0)  # the two empty slots stay white


def test_device_summary_names_backend_and_devices():
    text = device_summary()
    assert "backend tensorflow" in text and "CPU" in text
    assert isinstance(configure_devices(), list)


def test_seed_everything_is_reproducible():
    import keras

    seed_everything(123)
    a = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))))
    seed_everything(123)
    b = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_grading_mode(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert grading_mode() is False
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert grading_mode() is True


@pytest.mark.parametrize("dataset, minimum", [("fashion_mnist", 0.85), ("mnist", 0.97)])
def test_reference_classifier_recognises_real_images(dataset, minimum):
    from vae_lib import load_dataset

    x, y = load_dataset(dataset, "test", limit=1000)
    quality = sample_quality(x, dataset)
    assert quality["recognisable_share"] >= minimum
    assert quality["class_histogram"].shape == (10,) and quality["class_histogram"].sum() == 1000
    accuracy = np.mean(load_classifier(dataset).predict(x, verbose=0).argmax(axis=1) == y)
    assert accuracy >= minimum
    blank = sample_quality(np.zeros((50, 28, 28, 1), "float32"), dataset)
    assert blank["class_histogram"].max() == 50  # all blanks land in one class
    assert 0.0 <= blank["mean_max_prob"] <= 1.0
