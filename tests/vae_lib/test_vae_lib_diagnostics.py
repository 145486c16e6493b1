"""Diagnostics against values fixed by construction or computed here in plain NumPy.

A *designed encoder* (no hidden layer; z_mean_i = m_i + c_i·(x[p] - mean x[p]) for one pixel p) has z_mean
dimensions with chosen variances over the data, chosen means and a constant z_log_var, so active units, the KL
of each dimension and the collapse verdict are known before anything runs. The IWAE bound is checked on a
1-D latent model whose log p(x) and ELBO are computed by quadrature. `test_checks_catch_planted_bugs` runs the
same checks on wrong implementations (monkeypatched or written here) and requires each to fail.
"""
import math

import keras
import numpy as np
import pytest

import vae_runtime.diagnostics as runtime_diagnostics
from vae_lib import (
    VAE,
    PosteriorCollapseMonitor,
    active_units,
    build_dense_decoder,
    build_dense_encoder,
    importance_weighted_elbo,
    latent_stats,
    posterior_collapse,
)

VARIANCES = np.array([0.0, 0.004, 0.03, 0.5])  # Var_x(z_mean_i), by construction
MEANS = np.array([0.5, -1.0, 0.0, 2.0])
LOG_VARS = np.log([0.25, 1.0, 4.0, 0.5])  # constant z_log_var (so a sampled z would look "active" everywhere)
# active units = #{i : VARIANCES_i > threshold}: note std(0.004) = 0.063 > 0.01, so std-for-variance is caught
EXPECTED_ACTIVE = {0.001: 3, 0.01: 2, 0.1: 1, 1.0: 0}


def _designed_encoder(x):
    flat = x.reshape(len(x), -1).astype("float64")
    p = int(np.argmax(flat.var(axis=0)))
    f_mean, f_var = flat[:, p].mean(), flat[:, p].var()
    c = np.sqrt(VARIANCES / f_var)
    encoder = build_dense_encoder(len(VARIANCES), hidden=())
    kernel = np.zeros((flat.shape[1], len(VARIANCES)), "float32")
    kernel[p] = c
    encoder.get_layer("z_mean").set_weights([kernel, (MEANS - c * f_mean).astype("float32")])
    encoder.get_layer("z_log_var").set_weights([np.zeros_like(kernel), LOG_VARS.astype("float32")])
    return encoder


@pytest.fixture(scope="module")
def designed(mnist_small):
    x = mnist_small[0][:500]
    return _designed_encoder(x), x


def _z_mean(encoder, x):
    """The encoder's output 0 (z_mean), called directly (not through the library)."""
    return np.asarray(keras.ops.convert_to_numpy(encoder(x, training=False)[0]), "float64")


# -- active units, latent statistics, collapse ------------------------------------------------------------------
def _check_active_units(active_units, latent_stats, posterior_collapse, encoder, x, trained):
    variances = _z_mean(encoder, x).var(axis=0)  # by hand
    np.testing.assert_allclose(variances, VARIANCES, rtol=1e-3, atol=1e-9)  # the design holds
    for threshold, expected in EXPECTED_ACTIVE.items():
        assert int(np.sum(variances > threshold)) == expected
        assert active_units(encoder, x, threshold=threshold) == expected, threshold
    assert active_units(encoder, x) == EXPECTED_ACTIVE[0.01]  # default threshold 1e-2
    assert latent_stats(encoder, x, threshold=0.001)["active_units"] == EXPECTED_ACTIVE[0.001]
    for threshold in (0.01, 1.0):
        expected = EXPECTED_ACTIVE[threshold]
        verdict = posterior_collapse(encoder, x, threshold=threshold)
        assert (verdict.active_units, verdict.latent_dim, verdict.collapsed) == (expected, 4, expected == 0)
        assert verdict.message.startswith("Colapso del posterior" if expected == 0 else f"Sin colapso: {expected} de 4")
    t_encoder, t_x = trained
    assert active_units(t_encoder, t_x) == int(np.sum(_z_mean(t_encoder, t_x).var(axis=0) > 1e-2)) == 2


def test_active_units_and_collapse_count_variances_of_z_mean(designed, trained_vae, mnist_small):
    trained = (trained_vae.encoder, mnist_small[0][:500])
    _check_active_units(active_units, latent_stats, posterior_collapse, *designed, trained)


def _check_latent_stats(latent_stats, encoder, x):
    stats = latent_stats(encoder, x)
    np.testing.assert_allclose(stats["z_mean_std"], np.sqrt(VARIANCES), rtol=1e-3, atol=1e-6)
    # mean over x of KL(N(mu, s^2) || N(0, 1)) per dimension = 0.5 (E[mu^2] + s^2 - 1 - log s^2), E[mu^2] = m^2 + v
    kl = 0.5 * (MEANS**2 + VARIANCES + np.exp(LOG_VARS) - 1.0 - LOG_VARS)
    assert stats["kl_per_dim"].shape == (4,)
    np.testing.assert_allclose(stats["kl_per_dim"], kl, rtol=1e-4, atol=1e-6)


def test_latent_stats_closed_form(designed):
    _check_latent_stats(latent_stats, *designed)


def test_collapse_detected_on_a_collapsed_copy_of_the_trained_model(trained_vae, mnist_small):
    """Same networks, but q(z|x) made independent of x: z_mean / z_log_var kernels zeroed (biases kept)."""
    x = mnist_small[0][:500]
    assert not posterior_collapse(trained_vae.encoder, x).collapsed
    collapsed = posterior_collapse(_collapsed_copy(trained_vae), x)
    assert collapsed.collapsed and collapsed.active_units == 0 and collapsed.latent_dim == 2
    assert collapsed.message.startswith("Colapso del posterior")


def _collapsed_copy(trained_vae):
    encoder = build_dense_encoder(2, hidden=(256,))
    encoder.set_weights(trained_vae.encoder.get_weights())
    for name in ("z_mean", "z_log_var"):
        kernel, bias = encoder.get_layer(name).get_weights()
        encoder.get_layer(name).set_weights([np.zeros_like(kernel), bias])
    return encoder


def _check_monitor(monitor_class, encoder, x, capsys):
    model = VAE(encoder, build_dense_decoder(4, hidden=(16,)))
    logs = {}
    quiet = monitor_class(x, threshold=0.001, min_active=3)
    quiet.set_model(model)
    quiet.on_epoch_end(0, logs)
    assert quiet.active_units == [3] and logs["active_units"] == 3 and quiet.collapsed_epochs == []
    assert "AVISO" not in capsys.readouterr().out
    loud = monitor_class(x, threshold=0.1, min_active=3)  # 1 unit active at 0.1: fewer than 3
    loud.set_model(model)
    loud.on_epoch_end(0, {})
    loud.on_epoch_end(1, logs)
    assert loud.active_units == [1, 1] and loud.collapsed_epochs == [0, 1] and logs["active_units"] == 1
    out = capsys.readouterr().out
    assert out.count("AVISO") == 2 and "solo 1 dimensiones" in out and "época 2" in out
    default = monitor_class(x)  # threshold 1e-2, min_active 1: two units, no warning
    default.set_model(model)
    default.on_epoch_end(0, {})
    assert default.active_units == [2] and default.collapsed_epochs == []


def test_collapse_monitor_uses_its_threshold_and_minimum(designed, capsys):
    _check_monitor(PosteriorCollapseMonitor, *designed, capsys)


# -- importance-weighted bound on a model with a known log p(x) -------------------------------------------------
Z_TRUE, N_COPIES = 1.5, 1024


@pytest.fixture(scope="module")
def one_d_model():
    """1-D latent; decoder p(x|z) = Bernoulli(sigmoid(a·(z - 1.5) + b)) per pixel, x drawn from it at z = 1.5.

    log p(x) = log ∫ p(x|z) N(z; 0, 1) dz and the posterior are computed by quadrature; q(z|x) (constant
    encoder) is a deliberately imperfect Gaussian: posterior mean + 0.5 sd, 1.6 × the posterior sd.
    """
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 0.3, 784), rng.normal(0, 1.0, 784)
    x = (rng.uniform(size=784) < 1 / (1 + np.exp(-(b)))).astype("float64")  # logits at z = 1.5 are b
    z = np.linspace(-8, 10, 18001)
    logits = np.outer(z - Z_TRUE, a) + b
    log_lik = (x * logits - np.logaddexp(0, logits)).sum(axis=1)
    log_joint = log_lik - 0.5 * (z**2 + math.log(2 * math.pi))
    dz = z[1] - z[0]
    peak = log_joint.max()
    log_px = peak + math.log(np.exp(log_joint - peak).sum() * dz)
    post = np.exp(log_joint - log_px)
    post_mean = (post * z).sum() * dz
    post_sd = math.sqrt((post * (z - post_mean) ** 2).sum() * dz)
    q_mean, q_sd = post_mean + 0.5 * post_sd, 1.6 * post_sd
    log_q = -0.5 * (((z - q_mean) / q_sd) ** 2 + 2 * math.log(q_sd) + math.log(2 * math.pi))
    elbo = (np.exp(log_q) * (log_joint - log_q)).sum() * dz  # E_q[log p(x, z) - log q(z)]

    encoder = build_dense_encoder(1, hidden=())
    zero = np.zeros((784, 1), "float32")
    encoder.get_layer("z_mean").set_weights([zero, np.array([q_mean], "float32")])
    encoder.get_layer("z_log_var").set_weights([zero, np.array([2 * math.log(q_sd)], "float32")])
    z_in = keras.Input((1,))
    dense = keras.layers.Dense(784)
    decoder = keras.Model(z_in, keras.layers.Reshape((28, 28, 1))(keras.layers.Activation("sigmoid")(dense(z_in))))
    dense.set_weights([a[None].astype("float32"), (b - a * Z_TRUE).astype("float32")])
    images = np.repeat(x.reshape(1, 28, 28, 1).astype("float32"), N_COPIES, axis=0)
    return encoder, decoder, images, log_px, elbo


def _check_iwae(importance_weighted_elbo, encoder, decoder, images, log_px, elbo):
    assert elbo < log_px - 0.3  # the design leaves a gap for k to close
    iw1 = importance_weighted_elbo(encoder, decoder, images, k=1, seed=0, batch_size=N_COPIES)
    assert iw1.shape == (N_COPIES,)
    se1 = iw1.std() / math.sqrt(N_COPIES)
    assert abs(iw1.mean() - elbo) < 5 * se1 + 1e-3, (iw1.mean(), elbo, se1)  # k = 1: the ELBO
    iw8 = importance_weighted_elbo(encoder, decoder, images, k=8, seed=1, batch_size=N_COPIES)
    se8 = iw8.std() / math.sqrt(N_COPIES)
    assert iw8.mean() < log_px + 5 * se8 + 1e-3, (iw8.mean(), log_px)  # a lower bound on log p(x)
    assert iw8.mean() > elbo + 0.7 * (log_px - elbo), (iw8.mean(), elbo, log_px)  # k = 8 closes most of the gap
    again = importance_weighted_elbo(encoder, decoder, images, k=1, seed=0, batch_size=N_COPIES)
    np.testing.assert_array_equal(iw1, again)  # seeded


def test_importance_weighted_bound_against_quadrature(one_d_model):
    _check_iwae(importance_weighted_elbo, *one_d_model)


def test_importance_weighted_k1_matches_the_models_own_elbo(trained_vae, mnist_small):
    """k = 1 against the VAE's evaluate (logits BCE + Keras sampling, a different code path), many draws."""
    x = mnist_small[0][:300]
    logs = trained_vae.evaluate(np.repeat(x, 4, axis=0), batch_size=1200, verbose=0, return_dict=True)
    elbo = -(logs["reconstruction_loss"] + logs["kl_loss"])
    iw1 = importance_weighted_elbo(trained_vae.encoder, trained_vae.decoder, np.repeat(x, 4, axis=0), k=1, seed=0)
    assert iw1.mean() == pytest.approx(elbo, rel=0.01)


# -- the checks above fail on planted bugs ----------------------------------------------------------------------
def _iwae_without_log_k(encoder, decoder, x, k=1, seed=None, batch_size=256):
    return importance_weighted_elbo(encoder, decoder, x, k=k, seed=seed, batch_size=batch_size) + math.log(k)


def _iwae_mean_of_logs(encoder, decoder, x, k=1, seed=None, batch_size=256):  # averages ELBOs: no tightening
    draws = [importance_weighted_elbo(encoder, decoder, x, k=1, seed=(seed, i), batch_size=batch_size)
             for i in range(k)]
    return np.mean(draws, axis=0)


def _iwae_log_q_without_log_var(encoder, decoder, x, k=1, seed=None, batch_size=256):
    mu, log_var = runtime_diagnostics.posterior_params(encoder, x)
    bound = importance_weighted_elbo(encoder, decoder, x, k=k, seed=seed, batch_size=batch_size)
    return bound - 0.5 * log_var.sum(axis=1)


def _iwae_prior_on_eps(encoder, decoder, x, k=1, seed=None, batch_size=256):  # log p(z) evaluated at eps, not z
    mu, log_var = runtime_diagnostics.posterior_params(encoder, x)
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1).astype("float64")
    log_w = []
    for _ in range(k):
        eps = rng.standard_normal(mu.shape)
        z = mu + np.exp(0.5 * log_var) * eps
        p = decoder.predict(z.astype("float32"), batch_size=batch_size, verbose=0).reshape(len(x), -1)
        p = np.clip(p, 1e-7, 1 - 1e-7)
        log_w.append((flat * np.log(p) + (1 - flat) * np.log(1 - p)).sum(1) + 0.5 * log_var.sum(1))
    log_w = np.array(log_w)
    return np.log(np.mean(np.exp(log_w - log_w.max(0)), axis=0)) + log_w.max(0)


def _latent_stats_kl_summed(encoder, x, threshold=1e-2):
    stats = latent_stats(encoder, x, threshold)
    return {**stats, "kl_per_dim": np.full(4, stats["kl_per_dim"].sum())}


def _latent_stats_kl_no_half(encoder, x, threshold=1e-2):
    stats = latent_stats(encoder, x, threshold)
    return {**stats, "kl_per_dim": 2 * stats["kl_per_dim"]}


def _latent_stats_variance_for_std(encoder, x, threshold=1e-2):
    stats = latent_stats(encoder, x, threshold)
    return {**stats, "z_mean_std": stats["z_mean_std"] ** 2}


class _MonitorIgnoringThreshold(PosteriorCollapseMonitor):
    def on_epoch_end(self, epoch, logs=None):
        self.threshold = 1e-2
        super().on_epoch_end(epoch, logs)


class _MonitorIgnoringMinimum(PosteriorCollapseMonitor):
    def on_epoch_end(self, epoch, logs=None):
        self.min_active = 1
        super().on_epoch_end(epoch, logs)


def _runtime(monkeypatch, name, value):
    monkeypatch.setattr(runtime_diagnostics, name, value)


def _active_check(d, m, x):
    return _check_active_units(active_units, latent_stats, posterior_collapse, *d, (m.encoder, x[:500]))


PLANTED = {
    "active units: std instead of variance": (
        lambda mp: _runtime(mp, "_active_from_means", lambda z, t: int(np.sum(z.std(axis=0) > t))), _active_check),
    "active units: threshold ignored": (
        lambda mp: _runtime(mp, "_active_from_means", lambda z, t: int(np.sum(z.var(axis=0) > 1e-2))), _active_check),
    "active units: from the sampled z": (
        lambda mp: _runtime(mp, "posterior_params", lambda enc, x, batch_size=256: tuple(
            np.asarray(o, "float64") for o in enc.predict(np.asarray(x, "float32"), verbose=0)[2:0:-1])),
        _active_check),
    "active units: from z_log_var": (
        lambda mp: _runtime(mp, "posterior_params", lambda enc, x, batch_size=256: tuple(
            np.asarray(o, "float64") for o in enc.predict(np.asarray(x, "float32"), verbose=0)[1::-1])),
        _active_check),
    "latent_stats: KL summed over dims": (None, lambda d, m, x: _check_latent_stats(_latent_stats_kl_summed, *d)),
    "latent_stats: KL without the 1/2": (None, lambda d, m, x: _check_latent_stats(_latent_stats_kl_no_half, *d)),
    "latent_stats: variance reported as std": (
        None, lambda d, m, x: _check_latent_stats(_latent_stats_variance_for_std, *d)),
    "monitor: threshold ignored": (None, lambda d, m, x, c: _check_monitor(_MonitorIgnoringThreshold, *d, c)),
    "monitor: min_active ignored": (None, lambda d, m, x, c: _check_monitor(_MonitorIgnoringMinimum, *d, c)),
}
PLANTED_IWAE = {
    "iwae: -log k missing": _iwae_without_log_k,
    "iwae: mean of k ELBOs": _iwae_mean_of_logs,
    "iwae: log q without log_var": _iwae_log_q_without_log_var,
    "iwae: log p(z) at eps": _iwae_prior_on_eps,
}


@pytest.mark.parametrize("bug", list(PLANTED))
def test_checks_catch_planted_bugs(bug, designed, trained_vae, mnist_small, monkeypatch, capsys):
    plant, check = PLANTED[bug]
    if plant is not None:
        plant(monkeypatch)
    args = (designed, trained_vae, mnist_small[0]) + ((capsys,) if bug.startswith("monitor") else ())
    with pytest.raises(AssertionError):
        check(*args)


@pytest.mark.parametrize("bug", list(PLANTED_IWAE))
def test_iwae_check_catches_planted_bugs(bug, one_d_model):
    with pytest.raises(AssertionError):
        _check_iwae(PLANTED_IWAE[bug], *one_d_model)
