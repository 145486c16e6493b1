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
from vae_runtime.plotting import TITLE_BAND  # noqa: E402


def test_plots_draw_the_given_data_and_save_png(tmp_path, mnist_small):
    x, y = mnist_small
    z = np.random.default_rng(0).normal(size=(100, 2))
    grid = np.random.default_rng(1).uniform(size=(5 * 28, 5 * 28))
    history = {"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2], "kl_loss": [1, 2, 3]}
    figures = {
        "grid": plot_image_grid(x[:12], n_cols=6, titles=list(y[:12])),
        "interp": plot_interpolation(x[:8]),
        "scatter": plot_latent_scatter(z, y[:100]),
        "manifold": plot_manifold(grid, span=2.0),
        "history": plot_history(history),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.read_bytes()[:4] == b"\x89PNG"
    # what each figure shows is the data it was given, in order
    (grid_axis,) = figures["grid"].axes  # one axis: the tiled images, each title over its own image
    np.testing.assert_array_equal(grid_axis.images[0].get_array(), tile_images(x[:12], 6, 2, TITLE_BAND))
    titles = grid_axis.texts
    assert [t.get_text() for t in titles] == [str(v) for v in y[:12]]
    for i, t in enumerate(titles):
        row, column = divmod(i, 6)
        tx, ty = t.get_position()
        assert column * 30 <= tx <= column * 30 + 28  # over its image's column
        assert row * (30 + TITLE_BAND) <= ty <= row * (30 + TITLE_BAND) + TITLE_BAND  # in the band above its row
    (strip,) = figures["interp"].axes
    np.testing.assert_array_equal(strip.images[0].get_array(), tile_images(x[:8], 8, 2, TITLE_BAND))
    assert [(t.get_text(), t.get_position()[0] // 30) for t in strip.texts] == [("A", 0), ("B", 7)]
    scatter = figures["scatter"].axes[0].collections[0]
    np.testing.assert_allclose(scatter.get_offsets(), z)
    np.testing.assert_array_equal(scatter.get_array(), y[:100])
    image = figures["manifold"].axes[0].images[0]
    np.testing.assert_array_equal(image.get_array(), grid)
    assert tuple(image.get_extent()) == (-2.0, 2.0, -2.0, 2.0)
    loss_panel, kl_panel = figures["history"].axes
    assert loss_panel.get_title() == "loss" and kl_panel.get_title() == "kl_loss"
    assert [list(line.get_ydata()) for line in loss_panel.lines] == [[3, 2, 1], [3.5, 2.5, 2]]
    assert [list(line.get_ydata()) for line in kl_panel.lines] == [[1, 2, 3]]
    saved = tmp_path / "direct.png"
    fig = plot_image_grid(x[:4], path=saved)  # no titles: one tiled image
    assert saved.stat().st_size > 1000
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), tile_images(x[:4], 4))


def test_tile_images_places_each_image_row_major(mnist_small):
    x, _ = mnist_small
    mosaic = tile_images(x[:7], n_cols=3, gap=2)
    assert mosaic.shape == (3 * 30 - 2, 3 * 30 - 2)
    np.testing.assert_array_equal(mosaic[0:28, 30:58], x[1, ..., 0])  # row 0, column 1
    np.testing.assert_array_equal(mosaic[60:88, 0:28], x[6, ..., 0])  # row 2, column 0
    assert np.all(mosaic[28:30, :] == 1.0)  # white gap between rows
    assert np.all(mosaic[60:88, 30:] == 1.0)  # the two empty slots stay white
    banded = tile_images(x[:7], n_cols=3, gap=2, band=9)  # a white band over each row, for titles
    assert banded.shape == (3 * 39 - 2, 3 * 30 - 2)
    assert np.all(banded[0:9] == 1.0)
    np.testing.assert_array_equal(banded[9:37, 30:58], x[1, ..., 0])
    np.testing.assert_array_equal(banded[87:115, 0:28], x[6, ..., 0])


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
    seed_everything(124)
    c = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))))
    assert not np.allclose(a[0], c[0]) and not np.allclose(a[1], c[1])  # the seed matters


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


def test_model_outputs_are_what_predict_returns():
    """vae_runtime.model_outputs: model(x) in batches, eagerly, equals Keras predict (one output and several; a
    batch size that does not divide n)."""
    import keras
    from vae_runtime.generation import model_outputs

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((37, 6)).astype("float32")
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(5, activation="tanh")(inputs)
    one = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    two = keras.Model(inputs, [keras.layers.Dense(2)(hidden), keras.layers.Dense(4)(hidden)])
    np.testing.assert_allclose(model_outputs(one, x, batch_size=8), one.predict(x, batch_size=8, verbose=0),
                               rtol=1e-6, atol=1e-6)
    got, want = model_outputs(two, x, batch_size=10), two.predict(x, batch_size=10, verbose=0)
    assert len(got) == 2 and [g.shape for g in got] == [(37, 2), (37, 4)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
