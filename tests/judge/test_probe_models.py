"""The judge's probe networks (``kernel_side``) and the student runtime's own models (``vr.build_dense_decoder``,
``vr.testing.fixed_encoder``) are ``vae_runtime.networks.DirectPredictModel``s (issue 21): ``predict`` is a direct
call, with the same numbers Keras's own ``predict`` gives, for one output, several outputs and several inputs, any
batch size; every input the direct call does not take (a tuple, ``steps``, a wrong shape, no rows) meets Keras's
own ``predict``, with its result or its very error; and such a model saves and loads like any Keras model.
In-process, on real Keras models.
"""
from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder import judge  # noqa: E402

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def side():
    spec = importlib.util.spec_from_file_location("vaekit_kernel_side", judge.KERNEL_SIDE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def weights():
    rng = np.random.default_rng(157)
    return {"W": rng.normal(size=(3, 784)).astype("float32"), "b": rng.normal(size=784).astype("float32"),
            "V": rng.normal(size=(10, 784)).astype("float32"),
            "A": (rng.normal(size=(784, 3)) / 14).astype("float32"), "B": np.zeros((784, 3), "float32"),
            "b_lv": np.full(3, -12.0, "float32"), "z": rng.normal(size=(70, 3)),
            "y": np.eye(10, dtype="float32")[rng.integers(0, 10, 70)],
            "x": rng.random((40, 28, 28, 1)).astype("float32")}


def keras_predict(model, *args, **kwargs):
    return keras.Model.predict(model, *args, verbose=0, **kwargs)


@pytest.mark.parametrize("batch_size", [None, 7, 5000])
def test_probe_predict_is_what_keras_predict_returns(side, weights, batch_size):
    w = weights
    decoder = side.linear_decoder(w["W"], w["b"])
    assert type(decoder).__name__ == "DirectPredictModel" and isinstance(decoder, keras.Model)
    mine = decoder.predict(w["z"], batch_size=batch_size, verbose=0)
    assert isinstance(mine, np.ndarray) and mine.shape == (70, 28, 28, 1) and mine.dtype == np.float32
    np.testing.assert_allclose(mine, keras_predict(decoder, w["z"], batch_size=batch_size), rtol=1e-5, atol=1e-6)

    encoder, _ = side.linear_encoder(w["A"], w["B"], w["b_lv"], eps=None, seed=3)
    mine = encoder.predict(w["x"], batch_size=batch_size, verbose=0)
    theirs = keras_predict(encoder, w["x"], batch_size=batch_size)
    assert isinstance(mine, list) and [m.shape for m in mine] == [(40, 3)] * 3
    for a, b in zip(mine[:2], theirs[:2]):  # z_mean, z_log_var (z adds fresh noise)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    cond = side.linear_cond_decoder(w["W"], w["V"], w["b"])
    np.testing.assert_allclose(cond.predict([w["z"], w["y"]], batch_size=batch_size, verbose=0),
                               keras_predict(cond, [w["z"], w["y"]], batch_size=batch_size), rtol=1e-5, atol=1e-6)


def test_a_tensor_or_integer_input_is_taken_like_keras(side, weights):
    decoder = side.linear_decoder(weights["W"], weights["b"])
    for x in (keras.ops.convert_to_tensor(weights["z"]), np.round(weights["z"]).astype("int64")):
        np.testing.assert_allclose(decoder.predict(x, verbose=0), keras_predict(decoder, x), rtol=1e-5, atol=1e-6)


def _outcome(call):
    try:
        out = call()
    except Exception as error:  # noqa: BLE001 (the error is what is compared)
        return "error", type(error).__name__, str(error)
    return "result", keras.tree.map_structure(lambda a: np.asarray(a).shape, out)


@pytest.mark.filterwarnings("ignore:Your input ran out of data")  # Keras, on the input with no rows
def test_what_the_direct_call_does_not_take_meets_keras_predict(side, weights):
    w = weights
    decoder, cond = side.linear_decoder(w["W"], w["b"]), side.linear_cond_decoder(w["W"], w["V"], w["b"])
    cases = [(decoder, (w["z"][:, :2],), {}),  # another latent size
             (decoder, (w["z"][0],), {}),  # one code without its batch axis
             (decoder, (w["z"].tolist(),), {}),  # nested lists
             (decoder, (np.zeros((0, 3)),), {}),  # no rows
             (decoder, ("codes",), {}),
             (cond, ((w["z"], w["y"]),), {}),  # a tuple: Keras reads (x, y)
             (cond, ([w["z"][:5], w["y"]],), {}),  # inputs with different numbers of rows
             (cond, (w["z"],), {}),  # the label input missing
             (decoder, (w["z"],), {"steps": 1})]
    for model, args, kwargs in cases:
        mine = _outcome(lambda: model.predict(*args, verbose=0, **kwargs))
        theirs = _outcome(lambda: keras_predict(model, *args, **kwargs))
        assert mine[:2] == theirs[:2], (args, kwargs, mine, theirs)
        if mine[0] == "result":
            assert mine == theirs
    assert _outcome(lambda: decoder.predict(w["z"][:, :2], verbose=0))[0] == "error"


def test_the_runtime_models_predict_directly_and_save_like_keras_models(tmp_path, weights):
    import vae_runtime as vr

    decoder, encoder = vr.build_dense_decoder(3, hidden=(16,)), vr.testing.fixed_encoder(3)
    assert {type(decoder).__name__, type(encoder).__name__} == {"DirectPredictModel"}
    np.testing.assert_allclose(decoder.predict(weights["z"], verbose=0), keras_predict(decoder, weights["z"]),
                               rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(encoder.predict(weights["x"], verbose=0), keras_predict(encoder, weights["x"])):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    decoder.save(tmp_path / "decoder.keras")
    loaded = keras.models.load_model(tmp_path / "decoder.keras")
    assert type(loaded).__name__ == "DirectPredictModel"
    np.testing.assert_array_equal(loaded.predict(weights["z"], verbose=0), decoder.predict(weights["z"], verbose=0))
