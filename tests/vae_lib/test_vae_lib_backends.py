"""vae_lib on the JAX and PyTorch backends, whose gradient steps are vae_lib's own code (`VAE._jax_train_step`,
`VAE._torch_train_step`, stateless JAX metrics and seed state), not Keras's.

Each backend runs in its own process (KERAS_BACKEND is read once, at import). `make setup` installs the CPU
builds of both in a folder apart, VAEKIT_BACKENDS_PATH (not the venv's site-packages, where every TensorFlow import
would import JAX too); the subprocess appends it to its sys.path, after the venv's packages. Where a backend is
missing the test skips, unless VAEKIT_REQUIRE_BACKENDS=1 (set by the Makefile), where it fails: a backend test
that silently never runs is a defect. The checks are computed by hand in the
subprocess: the per-epoch loss uses the β that KLAnnealing set, the sampling noise changes between steps, the
terms `evaluate` reports equal the NumPy reconstruction and KL of the encoder's outputs, one SGD step adds exactly
-lr·β·dKL/db to the latent biases and nothing to the decoder, IWAE at k = 1 is the ELBO and tightens with k, and
save / load round-trips.
"""
import importlib.machinery
import os
import subprocess
import sys

import pytest

SCRIPT = r'''
import os, tempfile
import numpy as np, keras
import vae_lib as V

def numpy(t):
    return np.asarray(keras.ops.convert_to_numpy(t), "float64")

backend = keras.backend.backend()
assert f"backend {backend}" in V.device_summary()
V.seed_everything(0)
x, _ = V.load_dataset("mnist", limit=1024)

# 1. Train with KL annealing: beta reaches this backend's step in every epoch, the noise changes between steps.
m = V.VAE(V.build_dense_encoder(2, hidden=(128,)), V.build_dense_decoder(2, hidden=(128,)))
m.compile(optimizer=keras.optimizers.Adam(2e-3))
seed = m.encoder.get_layer("z").seed_generator
state_before = numpy(seed.state)
h = m.fit(x, epochs=3, batch_size=128, verbose=0, callbacks=[V.KLAnnealing(1.0, 2)]).history
assert h["loss"][-1] < 0.8 * h["loss"][0] and h["beta"] == [0.0, 0.5, 1.0], h
for epoch, beta in enumerate(h["beta"]):
    total = h["reconstruction_loss"][epoch] + beta * h["kl_loss"][epoch]
    assert abs(h["loss"][epoch] - total) < 1e-4 * h["loss"][epoch], (epoch, h)
assert not np.array_equal(numpy(seed.state), state_before), "the sampling seed state never advanced"

# 2. evaluate's KL = NumPy KL of the encoder's outputs; the IWAE bound; collapse check; save / load.
ev = m.evaluate(x[:512], batch_size=512, verbose=0, return_dict=True)
mu, lv, _ = (numpy(t) for t in m.encoder(x[:512]))
kl = (0.5 * (mu**2 + np.exp(lv) - 1 - lv).sum(axis=1)).mean()
assert abs(ev["kl_loss"] - kl) < 1e-4 * kl, (ev, kl)
assert abs(ev["loss"] - ev["reconstruction_loss"] - ev["kl_loss"]) < 1e-4 * ev["loss"], ev
iw = [V.importance_weighted_elbo(m.encoder, m.decoder, x[:512], k=k, seed=0, batch_size=512).mean() for k in (1, 8)]
assert abs(iw[0] + ev["loss"]) < 0.02 * ev["loss"] and iw[0] < iw[1] < 0, (iw, ev)  # k = 1: the ELBO
assert not V.posterior_collapse(m.encoder, x[:512]).collapsed
path = os.path.join(tempfile.mkdtemp(), "m.keras")
m.save(path)
loaded = keras.models.load_model(path)
codes = mu[:4].astype("float32")
np.testing.assert_allclose(numpy(loaded.encoder(x[:4])[0]), numpy(m.encoder(x[:4])[0]), rtol=1e-4, atol=1e-5)
np.testing.assert_allclose(numpy(loaded.decoder(codes)), numpy(m.decoder(codes)), rtol=1e-4, atol=1e-5)

# 3. z = z_mean (z_log_var fixed at -30): evaluate's terms by hand, then one SGD step at beta = 0 and at beta = 3
#    from the same weights: the KL adds exactly -lr·3·dKL/db to the latent biases and nothing to the decoder.
xb, lr = x[:64], 0.05
k, _ = m.encoder.get_layer("z_log_var").get_weights()
m.encoder.get_layer("z_log_var").set_weights([np.zeros_like(k), np.full(2, -30.0, "float32")])
mu, lv, _ = (numpy(t) for t in m.encoder(xb))
p = np.clip(numpy(m.decoder(mu.astype("float32"))).reshape(64, -1), 1e-7, 1 - 1e-7)
flat = xb.reshape(64, -1)
recon = -(flat * np.log(p) + (1 - flat) * np.log(1 - p)).sum(axis=1).mean()
kl = (0.5 * (mu**2 + np.exp(lv) - 1 - lv).sum(axis=1)).mean()
m.compile(optimizer=keras.optimizers.SGD(lr))
ev = m.evaluate(xb, batch_size=64, verbose=0, return_dict=True)
assert abs(ev["reconstruction_loss"] - recon) < 1e-4 * recon and abs(ev["kl_loss"] - kl) < 1e-4 * kl, (ev, recon, kl)
start, after = m.get_weights(), {}
for beta in (0.0, 3.0):
    m.set_weights(start)
    m.beta = beta
    m.fit(xb, epochs=1, batch_size=64, shuffle=False, verbose=0)
    after[beta] = ([m.encoder.get_layer(n).get_weights()[1] for n in ("z_mean", "z_log_var")], m.decoder.get_weights())
(m0, l0), d0 = after[0.0]
(m3, l3), d3 = after[3.0]
np.testing.assert_allclose(m3 - m0, -lr * 3.0 * mu.mean(axis=0), rtol=1e-3, atol=1e-6)
np.testing.assert_allclose(l3 - l0, -lr * 3.0 * 0.5 * (np.exp(lv) - 1).mean(axis=0), rtol=1e-3, atol=1e-6)
for a, b in zip(d0, d3):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
print("OK", backend)
'''


BACKENDS_PATH = os.environ.get("VAEKIT_BACKENDS_PATH", "")


def run_on_backend(backend, prelude=""):
    """Run SCRIPT (after `prelude`) in a fresh interpreter with KERAS_BACKEND=backend."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if backend == "torch":
        env.setdefault("OMP_NUM_THREADS", "1")  # small models: one thread is ~10x faster on shared cores
    path = f"import sys; sys.path.append({BACKENDS_PATH!r})\n" if BACKENDS_PATH else ""
    return subprocess.run([sys.executable, "-c", path + prelude + SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_library_runs_on_backend(backend):
    if importlib.machinery.PathFinder.find_spec(backend, sys.path + [BACKENDS_PATH]) is None:
        message = f"{backend} is not installed (make setup installs it)"
        if os.environ.get("VAEKIT_REQUIRE_BACKENDS") == "1":
            pytest.fail(message + "; VAEKIT_REQUIRE_BACKENDS=1")
        pytest.skip(message)
    result = run_on_backend(backend)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert f"OK {backend}" in result.stdout
