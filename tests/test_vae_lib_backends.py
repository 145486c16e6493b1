"""vae_lib on the JAX and PyTorch backends (skipped where those are not installed; the course uses TensorFlow).

Each backend runs in its own process (KERAS_BACKEND is read once, at import): train the conv and dense VAEs
with KL annealing, evaluate, generate, diagnose, save and load.
"""
import importlib.util
import os
import subprocess
import sys

import pytest

SCRIPT = r'''
import os, tempfile
import numpy as np, keras
import vae_lib as V
V.seed_everything(0)
x, _ = V.load_dataset("mnist", limit=2048)
for enc, dec in [(V.build_conv_encoder(2), V.build_conv_decoder(2)), (V.build_dense_encoder(2), V.build_dense_decoder(2))]:
    m = V.VAE(enc, dec)
    m.compile(optimizer=keras.optimizers.Adam(2e-3))
    h = m.fit(x, epochs=3, batch_size=128, verbose=0, callbacks=[V.KLAnnealing(1.0, 2)]).history
    assert h["loss"][-1] < h["loss"][0] and h["beta"] == [0.0, 0.5, 1.0], h
    ev = m.evaluate(x[:512], batch_size=512, verbose=0, return_dict=True)
    assert abs(ev["loss"] - ev["reconstruction_loss"] - ev["kl_loss"]) < 1e-3 * ev["loss"], ev
    assert V.sample_prior(m.decoder, 8, seed=1).shape == (8, 28, 28, 1)
    assert V.interpolate(m.encoder, m.decoder, x[0], x[1], steps=6, method="slerp").shape == (6, 28, 28, 1)
    assert not V.posterior_collapse(m.encoder, x[:500]).collapsed
    iw = [V.importance_weighted_elbo(m.encoder, m.decoder, x[:200], k=k, seed=0).mean() for k in (1, 10)]
    assert iw[1] > iw[0], iw
    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    m.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.encoder(x[:4])[0]),
                               keras.ops.convert_to_numpy(m.encoder(x[:4])[0]), rtol=1e-4, atol=1e-5)
print("OK", keras.backend.backend())
'''


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_library_runs_on_backend(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert f"OK {backend}" in result.stdout
