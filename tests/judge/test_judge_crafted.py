"""The judge's sub-checks against crafted evidence (issue 15, item 3): the student's process can write any arrays,
so a sub-check must test the property it names on what the judge recomputes, not a proxy a made-up array meets.

Kernel-free: each test builds, in NumPy, the evidence an honest function would leave (a wrong one, usually), and
the same evidence with one array made up the way a student who controls the kernel could; both go straight into
``Part.judge``. The made-up path must score no higher than the honest one, and the builders' correct functions get
full marks (so the builders are faithful). Each case passed its sub-check before the judge was hardened.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder.judge import decoder, encoder, sampling  # noqa: E402
from autograder.judge import interpolate as interpolation, kl_divergence as kl, sample_images as generation  # noqa: E402
from autograder.judge import vae_model as train_step  # noqa: E402
from autograder.judge._framework import Evidence  # noqa: E402
from autograder.judge._probes import LinearDecoder  # noqa: E402

CLASE = {"dataset": "mnist", "latent_dim": 10, "convolutional": False, "trained": "none"}
TAREA = {"dataset": "fashion_mnist", "latent_dim": 10, "convolutional": True, "trained": "none"}


def judged(part, arrays: dict, probe: dict, config: dict = CLASE, points: float = 2.0):
    return part.PART.judge("test", Evidence(arrays), probe, config, points)


def outcome(verdict, label_start: str):
    (found,) = [o for o in verdict.outcomes if o.label.startswith(label_start)]
    return found


# ----------------------------------------------------------------------------------------------------------------
# Sampling
def sampling_evidence(noise) -> tuple[dict, dict]:
    """The collector's arrays for a Sampling whose call draws ε with ``noise(shape)`` (NumPy stands in for keras)."""
    probe = sampling.make_probe({})
    mu, log_var, w = (probe[k].astype("float64") for k in ("mu", "log_var", "w"))
    sigma = np.exp(0.5 * log_var)
    arrays = {"z": mu + sigma * noise(mu.shape), "_collector": np.array(True)}
    for name in ("fresh_1", "fresh_2", "graph_1", "graph_2"):
        arrays[name] = mu[:256] + sigma[:256] * noise((256, 4))
    grad_z = mu[:64] + sigma[:64] * noise((64, 4))
    arrays.update(grad_z=grad_z, grad_mu=w, grad_log_var=0.5 * (grad_z - mu[:64]) * w)
    return arrays, probe


def fresh_normal(seed=0):
    rng = np.random.default_rng(seed)
    return lambda shape: rng.standard_normal(shape)


FIXED_EPS = np.random.default_rng(1).standard_normal((20_000, 4))


def fixed(shape):  # a seed fixed inside call(): the same ε on every call
    return FIXED_EPS[: shape[0]]


def test_sampling_builder_is_faithful():
    arrays, probe = sampling_evidence(fresh_normal())
    assert judged(sampling, arrays, probe).score == 2.0
    arrays, probe = sampling_evidence(fixed)
    verdict = judged(sampling, arrays, probe)
    assert [o.label for o in verdict.failures] == ["ruido nuevo en cada llamada (también en tf.function)"]


@pytest.mark.parametrize("craft", ["plus_small_noise", "mirrored", "reordered", "reordered_plus_noise"])
def test_second_draw_made_from_the_first_is_not_fresh_noise(craft):
    """The issue's case: fixed-seed code whose second draw is the first plus 1e-3 noise scored 2/2 (1.714 without
    the trick). A mirrored, reordered or slightly perturbed copy is not an independent draw either."""
    arrays, probe = sampling_evidence(fixed)
    honest = judged(sampling, arrays, probe).score
    rng = np.random.default_rng(2)
    mu, sigma = probe["mu"][:256].astype("float64"), np.exp(0.5 * probe["log_var"][:256].astype("float64"))
    for first, second in (("fresh_1", "fresh_2"), ("graph_1", "graph_2")):
        eps = (arrays[first] - mu) / sigma
        made = {"plus_small_noise": eps + 1e-3 * rng.standard_normal(eps.shape),
                "mirrored": -eps,
                "reordered": rng.permutation(eps.ravel()).reshape(eps.shape),
                "reordered_plus_noise": rng.permutation(eps.ravel()).reshape(eps.shape)
                + 3e-3 * rng.standard_normal(eps.shape)}[craft]
        arrays[second] = mu + sigma * made
    verdict = judged(sampling, arrays, probe)
    assert not outcome(verdict, "ruido nuevo").passed, verdict.report()
    assert verdict.score <= honest


def test_sampling_gradient_needs_the_z_of_that_call():
    """Code with stop_gradient on log σ² has no ∂/∂log σ². Claiming z = μ for the derived call makes the expected
    0.5·(z − μ)·w zero, so a zero gradient would match."""
    arrays, probe = sampling_evidence(fresh_normal())
    del arrays["grad_log_var"]
    arrays["error:grad_log_var"] = np.array("ValueError: el gradiente respecto a log σ² es None")
    honest = judged(sampling, arrays, probe).score
    arrays["grad_z"] = probe["mu"][:64].astype("float64")
    arrays["grad_log_var"] = np.zeros((64, 4))
    verdict = judged(sampling, arrays, probe)
    assert not outcome(verdict, "los gradientes llegan").passed, verdict.report()
    assert verdict.score <= honest


# ----------------------------------------------------------------------------------------------------------------
# kl_divergence
def test_a_constant_kl_earns_only_its_shape():
    """0 everywhere is ≥ 0 and 0 at the prior without being computed from anything."""
    probe = kl.make_probe({})
    arrays = {"kl": np.zeros(16), "kl_prior": np.zeros(4), "grad_is_none": np.array([True, True]),
              "error:grad_z_mean": np.array("ValueError: None"), "error:grad_z_log_var": np.array("ValueError: None")}
    verdict = judged(kl, arrays, probe)
    assert [o.label for o in verdict.outcomes if o.passed] == ["forma (batch,)"], verdict.report()


def test_kl_builder_is_faithful():
    import vae_lib

    probe = kl.make_probe({})
    value = np.asarray(vae_lib.kl_divergence(probe["z_mean"], probe["z_log_var"]), "float64")
    arrays = {"kl": value, "kl_prior": np.zeros(4), "grad_is_none": np.array([False, False]),
              "grad_z_mean": probe["z_mean"], "grad_z_log_var": 0.5 * (np.exp(probe["z_log_var"]) - 1.0)}
    assert judged(kl, arrays, probe).score == 2.0


# ----------------------------------------------------------------------------------------------------------------
# build_encoder: a linear encoder in NumPy, fed the judge's ε (as the reference Sampling swapped in does)
def encoder_evidence(config, mean_head=lambda v: v, latent_for_other=None) -> tuple[dict, dict]:
    probe = encoder.make_probe(config)
    latent = int(probe["latent_dim"])
    rng = np.random.default_rng(3)
    M = rng.normal(0.0, 1.0, (784, latent + 2)) / 28.0 * 4.0
    V = rng.normal(0.0, 1.0, (784, latent + 2)) / 28.0

    def encode(images, size):
        flat = np.asarray(images, "float64").reshape(len(images), -1)
        z_mean, z_log_var = mean_head(flat @ M[:, :size]), flat @ V[:, :size] - 0.5
        return z_mean, z_log_var, z_mean + np.exp(0.5 * z_log_var) * probe["eps"][: len(images), :size]

    arrays = {"is_model": np.array(True), "n_outputs": np.array(3), "_collector": np.array(True),
              "layers": np.array(["Flatten:Layer", "Dense:Layer", "Sampling:Layer"]
                                 + (["Conv2D:BaseConv:Layer"] if config.get("convolutional") else []))}
    for prefix, images in (("", probe["x"]), ("rep_", probe["x_repeated"])):
        arrays.update(zip((prefix + k for k in ("z_mean", "z_log_var", "z")), encode(images, latent)))
    big = encode(probe["x"] * 50.0, latent)
    arrays.update(big_z_mean=big[0], big_z_log_var=big[1])
    other_images = np.concatenate([probe["x"][:4], probe["x"][:4]])
    other_size = latent + 2 if latent_for_other is None else latent_for_other
    arrays["other_latent_z_mean"] = encode(other_images, other_size)[0]
    arrays["other_latent_shape"] = np.array([4, other_size])  # what the collector reported before (its shape)
    # the gradient path on 8 images: ∇x Σ w·z = ∇x Σ w·μ + ∇x Σ ½·w·(z − μ)·log σ² (chain rule, closed form)
    w, flat = probe["path_w"].astype("float64"), probe["x"][:8].reshape(8, -1).astype("float64")
    pre = flat @ M[:, :latent]
    slope = (mean_head(pre + 1e-6) - mean_head(pre - 1e-6)) / 2e-6  # the head's elementwise derivative
    z_mean, _, z = encode(probe["x"][:8], latent)
    g_mean = (w * slope) @ M[:, :latent].T
    g_var = (0.5 * w * (z - z_mean)) @ V[:, :latent].T
    for key, g in (("path_z", g_mean + g_var), ("path_mean", g_mean), ("path_var", g_var)):
        arrays[key] = g.reshape(8, 28, 28, 1)
    return arrays, probe


@pytest.mark.parametrize("config", [CLASE, TAREA], ids=["clase", "tarea"])
def test_encoder_builder_is_faithful(config):
    arrays, probe = encoder_evidence(config)
    verdict = judged(encoder, arrays, probe, config, 1.0)
    assert verdict.score == 1.0, verdict.report()


def test_another_latent_size_is_judged_on_its_outputs_not_a_reported_shape():
    """A latent size hard-coded (build_encoder(12) still gives 10 columns): a made-up array or a made-up shape of
    the right size must not pass."""
    arrays, probe = encoder_evidence(CLASE, latent_for_other=10)
    honest = judged(encoder, arrays, probe, CLASE, 1.0)
    assert not outcome(honest, "salidas").passed
    for made in (np.zeros((8, 12)), np.random.default_rng(4).normal(size=(8, 12))):
        arrays.update(other_latent_z_mean=made, other_latent_shape=np.array([4, 12]))
        verdict = judged(encoder, arrays, probe, CLASE, 1.0)
        assert not outcome(verdict, "salidas").passed, verdict.report()
        assert verdict.score <= honest.score


def test_encoder_outputs_must_be_a_function_of_the_image():
    """Arrays of the right shapes that no model could give (the same image, two different z_mean)."""
    arrays, probe = encoder_evidence(CLASE)
    rng = np.random.default_rng(5)
    for name in ("z_mean", "z_log_var", "rep_z_mean", "rep_z_log_var"):
        arrays[name] = rng.normal(size=arrays[name].shape)
    verdict = judged(encoder, arrays, probe, CLASE, 1.0)
    assert not outcome(verdict, "salidas").passed, verdict.report()


def test_a_model_flag_alone_is_not_a_model():
    """build_encoder's model fails on the judge's images: only the flag (which the kernel reports) is left."""
    arrays = {"is_model": np.array(True), "error:_collector": np.array("ValueError: no se puede llamar")}
    probe = encoder.make_probe(CLASE)
    verdict = judged(encoder, arrays, probe, CLASE, 1.0)
    assert verdict.score == 0.0, verdict.report()


def test_own_noise_must_be_fresh_for_each_row():
    """An encoder that draws its own noise: the same image's 32 repeats must get different noise, not one residual
    per image wiggled by 1e-3."""
    arrays, probe = encoder_evidence(CLASE)
    rng = np.random.default_rng(6)
    z_mean, z_log_var = arrays["rep_z_mean"], arrays["rep_z_log_var"]
    per_image = np.repeat(rng.standard_normal((8, 1, 10)), 32, axis=1).reshape(256, 10)
    arrays["rep_z"] = z_mean + np.exp(0.5 * z_log_var) * (per_image + 1e-3 * rng.standard_normal((256, 10)))
    verdict = judged(encoder, arrays, probe, CLASE, 1.0)
    assert not outcome(verdict, "z = z_mean").passed, verdict.report()


def test_a_relu_mean_head_is_seen_on_every_output():
    """z_mean ≥ 0 on the judge's images (relu head): a made-up output for the scaled images does not hide it."""
    arrays, probe = encoder_evidence(CLASE, mean_head=lambda v: np.maximum(v, 0.0))
    honest = judged(encoder, arrays, probe, CLASE, 1.0)
    assert not outcome(honest, "z_mean y z_log_var").passed
    arrays["big_z_mean"] = np.random.default_rng(7).normal(0.0, 30.0, arrays["big_z_mean"].shape)
    verdict = judged(encoder, arrays, probe, CLASE, 1.0)
    assert not outcome(verdict, "z_mean y z_log_var").passed, verdict.report()
    assert verdict.score <= honest.score


# ----------------------------------------------------------------------------------------------------------------
# build_decoder (homework): a linear + sigmoid decoder in NumPy
def decoder_evidence() -> tuple[dict, dict]:
    probe = decoder.make_probe(TAREA)
    rng = np.random.default_rng(8)

    def build(size):
        W, b = rng.normal(0.0, 1.0, (size, 784)) / np.sqrt(size), rng.normal(0.0, 0.3, 784)
        return lambda z: (1.0 / (1.0 + np.exp(-(np.asarray(z, "float64") @ W + b)))).reshape(-1, 28, 28, 1)

    main, other = build(10), build(13)
    arrays = {"is_model": np.array(True), "_collector": np.array(True), "images": main(probe["z"]),
              "images_far": main(probe["z"] * 30.0), "other_latent_images": other(probe["z_other"]),
              "layers": np.array(["Dense:Layer", "Conv2DTranspose:BaseConvTranspose:BaseConv:Layer"])}
    return arrays, probe


def test_decoder_builder_is_faithful():
    arrays, probe = decoder_evidence()
    assert judged(decoder, arrays, probe, TAREA, 1.0).score == 1.0


def test_decoder_other_latent_size_must_decode_its_codes():
    """build_decoder(13) fails (latent size hard-coded): made-up images of the right shape must not pass."""
    arrays, probe = decoder_evidence()
    del arrays["other_latent_images"]
    arrays["error:other_latent_images"] = np.array("ValueError: Input 0 is incompatible")
    honest = judged(decoder, arrays, probe, TAREA, 1.0)
    for made in (np.zeros((4, 28, 28, 1)), np.random.default_rng(9).random((4, 28, 28, 1))):
        arrays["other_latent_images"] = made
        verdict = judged(decoder, arrays, probe, TAREA, 1.0)
        assert not outcome(verdict, "salida (batch, 28, 28, 1)").passed, verdict.report()
        assert verdict.score <= honest.score


def test_decoder_model_flag_alone_is_not_a_model():
    arrays, probe = decoder_evidence()
    arrays = {"is_model": np.array(True), "layers": arrays["layers"],
              "error:images": np.array("ValueError: no se puede llamar")}
    verdict = judged(decoder, arrays, probe, TAREA, 1.0)
    assert not outcome(verdict, "es un keras.Model").passed, verdict.report()


# ----------------------------------------------------------------------------------------------------------------
# VAE.train_step: the SGD step the judge recomputes
def step_evidence(g: np.ndarray, probe: dict) -> dict:
    """The weights after one SGD step that applied the gradient ``g`` (flattened over PARAMS), with the step's
    correct logs, and a fit that did nothing."""
    _, _, recon, kl_value = train_step.gradient_basis(probe)
    after = np.concatenate([probe[k].astype("float64").ravel() for k in train_step.PARAMS]) - float(probe["lr"]) * g
    arrays, start = {"_collector": np.array(True), "fit_ran": np.array(True)}, 0
    for k in train_step.PARAMS:
        size = probe[k].size
        arrays[f"{k}_after"] = after[start:start + size].reshape(probe[k].shape)
        arrays[f"fit_{k}"] = probe[k]
        start += size
    beta = float(probe["beta"])
    arrays.update(log_keys=np.array(["kl_loss", "loss", "reconstruction_loss"]), log_loss=np.array(recon + beta * kl_value),
                  log_reconstruction_loss=np.array(recon), log_kl_loss=np.array(kl_value))
    return arrays


def test_encoder_weights_made_to_change_are_not_a_gradient_step():
    """Only the decoder's weights trained: made-up changes of the encoder's weights must not pass "change"."""
    probe = train_step.make_probe(CLASE)
    g_rec, g_kl, _, _ = train_step.gradient_basis(probe)
    g = g_rec + float(probe["beta"]) * g_kl
    encoder_size = sum(probe[k].size for k in train_step.ENCODER_PARAMS if k in probe)
    decoder_only = g.copy()
    decoder_only[:encoder_size] = 0.0
    honest = judged(train_step, step_evidence(decoder_only, probe), probe, CLASE, 3.0)
    assert not outcome(honest, "los pesos del codificador").passed
    made = decoder_only.copy()
    made[:encoder_size] = np.random.default_rng(10).normal(0.0, np.std(g[:encoder_size]), encoder_size)
    verdict = judged(train_step, step_evidence(made, probe), probe, CLASE, 3.0)
    assert not outcome(verdict, "los pesos del codificador").passed, verdict.report()
    assert verdict.score <= honest.score
    correct = judged(train_step, step_evidence(g, probe), probe, CLASE, 3.0)
    assert [o.label for o in correct.failures] == ["la pérdida baja tras una época de fit con datos reales"]


def test_fit_weights_set_by_hand_are_not_training():
    """A fit that never ran a train step, but whose returned weights are written by hand (decoder weights zero, the
    bias the mean image's logit) lowers the loss the judge evaluates without any gradient step."""
    probe = train_step.make_probe(CLASE)
    g_rec, g_kl, _, _ = train_step.gradient_basis(probe)
    arrays = step_evidence(g_rec + float(probe["beta"]) * g_kl, probe)
    honest = judged(train_step, arrays, probe, CLASE, 3.0)
    mean = np.clip(probe["x_fit"].reshape(len(probe["x_fit"]), -1).mean(axis=0), 1e-3, 1 - 1e-3)
    arrays.update(fit_W=np.zeros_like(probe["W"]), fit_b=np.log(mean / (1 - mean)), fit_b_lv=probe["b_lv"] * 0 - 8.0,
                  fit_A=probe["A"] * 0.0, fit_B=probe["B"] * 0.0)
    verdict = judged(train_step, arrays, probe, CLASE, 3.0)
    assert not outcome(verdict, "la pérdida baja").passed, verdict.report()
    assert verdict.score <= honest.score


# ----------------------------------------------------------------------------------------------------------------
# sample_images: images of the judge's probe decoders
def generation_evidence(draw) -> tuple[dict, dict]:
    probe = generation.make_probe(CLASE)
    main = LinearDecoder.__new__(LinearDecoder)
    main.W, main.b = probe["W"], probe["b"]
    other = LinearDecoder.__new__(LinearDecoder)
    other.W, other.b = probe["W_other"], probe["b_other"]
    latent, other_latent = probe["W"].shape[0], probe["W_other"].shape[0]
    arrays = {"type_name": np.array("ndarray"), "_collector": np.array(True),
              "small": main.decode(draw(0, (16, latent))), "prior": main.decode(draw(1, (2000, latent))),
              "seed3_a": main.decode(draw(3, (8, latent))), "seed3_b": main.decode(draw(3, (8, latent))),
              "seed4": main.decode(draw(4, (8, latent))),
              "other_latent": other.decode(draw(2, (500, other_latent)))}
    return arrays, probe


def normal(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


def test_generation_builder_is_faithful():
    arrays, probe = generation_evidence(normal)
    assert judged(generation, arrays, probe).score == 2.0


def test_different_seeds_must_give_independent_samples():
    """Decoding encoded data: every seed gives the same images. A copy of seed 3's codes moved by 1e-3 is
    different, but not another draw."""
    arrays, probe = generation_evidence(normal)
    arrays["seed4"] = arrays["seed3_a"]
    honest = judged(generation, arrays, probe)
    assert not outcome(honest, "la semilla").passed
    codes = LinearDecoder.recover_codes(_main_decoder(probe), arrays["seed3_a"])[0]
    arrays["seed4"] = _main_decoder(probe).decode(codes + 1e-3 * normal(5, codes.shape))
    verdict = judged(generation, arrays, probe)
    assert not outcome(verdict, "la semilla").passed, verdict.report()
    assert verdict.score <= honest.score


def _main_decoder(probe):
    d = LinearDecoder.__new__(LinearDecoder)
    d.W, d.b = probe["W"], probe["b"]
    return d


def test_prior_needs_a_normal_not_only_its_moments():
    """A uniform rescaled to mean 0 and deviation 1 matches N(0, I)'s mean, deviation and correlations."""
    arrays, probe = generation_evidence(lambda seed, shape: np.random.default_rng(seed).uniform(-3**0.5, 3**0.5, shape))
    verdict = judged(generation, arrays, probe)
    assert not outcome(verdict, "z ~ N(0, I)").passed, verdict.report()


# ----------------------------------------------------------------------------------------------------------------
# text from the student's process
@pytest.mark.parametrize("part,probe_of", [(generation, lambda: generation.make_probe(CLASE)),
                                           (interpolation, lambda: interpolation.make_probe(CLASE))])
def test_a_huge_class_name_is_cut_in_the_diagnosis(part, probe_of):
    """The issue's 10-million-character class name, echoed in "devuelve <type>"."""
    arrays = {"type_name": np.array("Z" * 10_000_000), "_collector": np.array(True)}
    verdict = judged(part, arrays, probe_of())
    assert max(len(o.message) for o in verdict.outcomes) <= 1000
    assert len(verdict.report()) < 20_000
    failed = outcome(verdict, "array")
    assert not failed.passed and "ZZZ" in failed.message and "…" in failed.message
