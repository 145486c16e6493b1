"""VAE.train_step: one gradient step on reconstruction (BCE summed over pixels, mean over the batch) + β·KL.

The student's class runs with the judge's probe encoder/decoder (linear maps, the judge's fixed noise ε, so
z is known), the reference kl_divergence and Sampling swapped in (their own mistakes are judged in their parts),
and plain SGD: the weights after one step are θ − lr·g, so the judge recovers the gradient g the student applied
and compares it with the gradients of the reference loss it computes itself (``vae_lib.reconstruction_loss``,
``vae_lib.kl_divergence``). Fitting g ≈ a·∇recon + c·∇KL names the mistake (β not applied, a mean over pixels,
a KL summed over the batch or divided by 784…). The metrics the step reports are compared with the judge's own
values of the same losses; one epoch of ``fit`` must lower the loss the judge evaluates on the returned weights,
within the distance Adam's steps can move a weight in that epoch. The encoder's weights "change" only as a
gradient through the batch does (in the span of the batch's images), whatever the loss.
"""
from __future__ import annotations

import numpy as np

from autograder.judge import data
from autograder.judge._framework import FLAG, Part, SubCheck, array, floats, scalar, text
from autograder.judge._probes import LinearDecoder, LinearEncoder

_LATENT, _BATCH, _BETA, _LR = 4, 64, 5.0, 1e-2
_FIT_IMAGES, _FIT_BATCH, _FIT_LR = 512, 32, 1e-2
PARAMS = ("A", "B", "b_lv", "W", "b")
COND_PARAMS = ("A", "B", "b_lv", "C", "D", "W", "V", "b")  # the conditional probe's: label weights C, D and V
ENCODER_PARAMS, DECODER_PARAMS = ("A", "B", "b_lv", "C", "D"), ("W", "V", "b")


def params_of(probe: dict) -> tuple[str, ...]:
    """The probe's parameter names, in the order of the flattened gradient."""
    return COND_PARAMS if "C" in probe else PARAMS
_KEYS = ("loss", "reconstruction_loss", "kl_loss")


def make_probe(config: dict) -> dict:
    rng = np.random.default_rng(7157)
    encoder = LinearEncoder(_LATENT, seed=7158, log_var=-1.0, log_var_scale=2.0)
    decoder = LinearDecoder(_LATENT, seed=7159)
    return {**encoder.arrays(), **decoder.arrays(),
            "eps": rng.normal(0.0, 1.0, (_BATCH, _LATENT)).astype("float32"),
            "x": data.images(config["dataset"], "train", 0, _BATCH),
            "x_fit": data.images(config["dataset"], "train", _BATCH, _FIT_IMAGES),
            "beta": np.array(_BETA, "float32"), "lr": np.array(_LR, "float32"),
            "fit_batch": np.array(_FIT_BATCH), "fit_lr": np.array(_FIT_LR, "float32")}


def losses(params: dict, x, eps, decode_mean=False, kind="bce", swap_kl=False, y=None):
    """(mean reconstruction, mean KL) of the probe VAE with weights ``params`` (tf tensors) on images x; with
    one-hot labels y (batch, classes), the conditional probe (C, D into the encoder's heads, V into the logits)."""
    import tensorflow as tf
    import vae_lib

    flat = tf.reshape(tf.constant(x, tf.float32), (len(x), -1))
    z_mean = flat @ params["A"]
    z_log_var = flat @ params["B"] + params["b_lv"]
    label_logits = 0.0
    if y is not None:
        y = tf.constant(y, tf.float32)
        z_mean, z_log_var, label_logits = z_mean + y @ params["C"], z_log_var + y @ params["D"], y @ params["V"]
    z = z_mean + tf.exp(0.5 * z_log_var) * tf.constant(eps, tf.float32)
    logits = (z_mean if decode_mean else z) @ params["W"] + params["b"] + label_logits
    x_hat = tf.reshape(tf.sigmoid(logits), (-1, 28, 28, 1))
    recon = tf.reduce_mean(vae_lib.reconstruction_loss(x, x_hat, kind=kind))
    kl = tf.reduce_mean(vae_lib.kl_divergence(z_log_var, z_mean) if swap_kl else vae_lib.kl_divergence(z_mean, z_log_var))
    return recon, kl


_BASIS_CACHE: dict[tuple, tuple] = {}  # the reference's gradients do not depend on the student: once per process


def gradient_basis(probe: dict, **variant) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(∇recon, ∇KL) flattened over the probe's parameters (``params_of``) at the probe's weights, and the two loss values (cached per probe)."""
    import hashlib

    names = (*params_of(probe), "x", "eps", *(("labels",) if "labels" in probe else ()))
    key = (hashlib.sha1(b"".join(np.ascontiguousarray(probe[k]).tobytes() for k in names)).hexdigest(),
           tuple(sorted(variant.items())))
    if key not in _BASIS_CACHE:
        _BASIS_CACHE[key] = _gradient_basis(probe, **variant)
    return _BASIS_CACHE[key]


def _gradient_basis(probe: dict, **variant) -> tuple[np.ndarray, np.ndarray, float, float]:
    import tensorflow as tf

    names = params_of(probe)
    params = {k: tf.Variable(np.asarray(probe[k], "float32")) for k in names}
    with tf.GradientTape(persistent=True) as tape:
        recon, kl = losses(params, probe["x"], probe["eps"], y=labels_of(probe, "labels"), **variant)

    def flat(term):
        grads = [tape.gradient(term, params[k]) for k in names]
        return np.concatenate([np.zeros(params[k].shape).ravel() if g is None else np.asarray(g).ravel()
                               for k, g in zip(names, grads)])

    flat = [flat(recon), flat(kl)]
    return flat[0].astype("float64"), flat[1].astype("float64"), float(recon), float(kl)


def labels_of(probe: dict, name: str):
    """The probe's one-hot labels ``name`` (batch, classes), or None for the unconditional probe."""
    if name not in probe:
        return None
    return np.eye(int(probe["num_classes"]), dtype="float32")[np.asarray(probe[name], "int64")]


def fit_loss(probe: dict, params: dict) -> float:
    """Mean over the fit images of reconstruction + KL (β = 1), each batch with the judge's noise rows."""
    import tensorflow as tf

    x = np.asarray(probe["x_fit"], "float32")
    batch = int(probe["fit_batch"])
    eps = np.tile(np.asarray(probe["eps"][:batch]), (len(x) // batch, 1))
    tensors = {k: tf.constant(np.asarray(v, "float32")) for k, v in params.items()}
    recon, kl = losses(tensors, x, eps, y=labels_of(probe, "fit_labels"))
    return float(recon + kl)


def _near(value: float, target: float, rtol: float = 0.03) -> bool:
    return abs(value - target) <= rtol * max(abs(target), 1e-3)


def _fit(columns: list[np.ndarray], g: np.ndarray) -> tuple[np.ndarray, float]:
    basis = np.stack(columns, axis=1)
    coef, *_ = np.linalg.lstsq(basis, g, rcond=None)
    residual = float(np.linalg.norm(g - basis @ coef) / max(np.linalg.norm(g), 1e-12))
    return coef, residual


def diagnose(g: np.ndarray, probe: dict) -> str | None:
    """None when the applied gradient g is the reference loss's; else a Spanish diagnosis of the mistake."""
    beta = float(probe["beta"])
    g_rec, g_kl, _, _ = gradient_basis(probe)
    expected = g_rec + beta * g_kl
    if np.linalg.norm(g - expected) <= 0.02 * np.linalg.norm(expected):
        return None
    (a, c), residual = _fit([g_rec, g_kl], g)
    if residual < 0.02:
        pixels, batch, latent = 28 * 28, len(probe["x"]), probe["A"].shape[1]
        if _near(a, 1.0) and _near(c, 1.0):
            return "β no se aplica: la pérdida debe ser reconstrucción + self.beta · KL"
        if _near(a, 1.0 / pixels):
            return ("la reconstrucción es una media sobre píxeles: súmala sobre los 784 píxeles (media solo sobre "
                    "el batch); con la media el KL domina y el posterior colapsa")
        if _near(a, batch):
            return "la reconstrucción se suma también sobre el batch: súmala sobre píxeles y promedia sobre el batch"
        if _near(a, 0.0, rtol=0.0) or abs(a) < 0.02:
            return "la pérdida no incluye la reconstrucción (o su gradiente no llega a los pesos)"
        if _near(a, 1.0):
            # the named scalings of the KL first (β/784 is small, but the fit resolves c to ~1e-6), then "no KL"
            if _near(c, -beta):
                return "el KL entra con signo negativo: pérdida = reconstrucción + β·KL (el KL se suma)"
            if _near(c, beta * batch):
                return "el KL se suma sobre el batch: usa la media del KL sobre el batch (como la reconstrucción)"
            if _near(c, beta / pixels):
                return "el KL está dividido por 784: no lo normalices; pérdida = reconstrucción (suma) + β·KL"
            if _near(c, beta / latent):
                return "el KL se promedia sobre las dimensiones latentes: súmalo sobre ellas (axis=-1)"
            if _near(c, beta / 2) or _near(c, 2 * beta):
                return "el término KL está escalado por 2 o por 1/2: pérdida = reconstrucción + β·KL"
            if abs(c) < 1e-3:  # 1000× the fit's numerical noise, 6× below the smallest named scaling (β/784)
                return ("la pérdida no incluye el KL o su gradiente no llega (¿KL calculado con NumPy o fuera del "
                        "GradientTape?): pérdida = reconstrucción + β·KL")
        return (f"el gradiente aplicado equivale a {a:.3g}·∇reconstrucción + {c:.3g}·∇KL; se esperaba "
                f"1·∇reconstrucción + {beta:g}·∇KL (β = {beta:g})")
    g_rec_mean, g_kl_mean, _, _ = gradient_basis(probe, decode_mean=True)
    if _fit([g_rec_mean, g_kl_mean], g)[1] < 0.02:
        return "decodificas z_mean en lugar de z: la reconstrucción debe usar el z muestreado por el codificador"
    g_mse, g_kl_mse, _, _ = gradient_basis(probe, kind="mse")
    if _fit([g_mse, g_kl_mse], g)[1] < 0.02:
        return "la reconstrucción usa error cuadrático: usa la entropía cruzada binaria (BCE) sumada sobre píxeles"
    g_rec_s, g_kl_s, _, _ = gradient_basis(probe, swap_kl=True)
    if _fit([g_rec_s, g_kl_s], g)[1] < 0.02:
        return "llamas a kl_divergence con los argumentos en orden inverso: kl_divergence(z_mean, z_log_var)"
    return "los pesos no cambian como un paso de gradiente de reconstrucción + β·KL (revisa la pérdida y sus gradientes)"


def encoder_step_through_batch(g: np.ndarray, probe: dict) -> bool:
    """Whether the applied gradient's A and B parts (784 × latent each) lie in the span of the batch's images, as
    the gradient of ANY loss computed on that batch does (∂L/∂A = flat(x)ᵀ·∂L/∂z_mean, the same for B), up to
    float32 rounding: a change made up for the encoder's weights does not (the 64 images span 64 of 784 pixel
    dimensions)."""
    x = np.asarray(probe["x"], "float64").reshape(len(probe["x"]), -1)
    names = params_of(probe)
    sizes = [np.size(probe[k]) for k in names]
    parts = dict(zip(names, np.split(g, np.cumsum(sizes)[:-1])))
    step = np.concatenate([parts[k].reshape(np.shape(probe[k])) for k in ("A", "B")], axis=1)  # 784 × 2·latent
    coef, *_ = np.linalg.lstsq(x.T, step, rcond=None)
    outside = np.linalg.norm(step - x.T @ coef)
    return bool(np.isfinite(outside) and outside <= 1e-3 * max(float(np.linalg.norm(step)), 1e-12))


def adam_reach(probe: dict) -> float:
    """How far one epoch of Adam can move any one weight: one step per batch, each at most lr·|m̂/√v̂| ≤ 1.11·lr
    (β1 = 0.9, β2 = 0.999, ≤ 16 steps, by Cauchy–Schwarz), with a 3× margin (a step applied twice, say). A fit that
    moves a weight farther did not train with self.optimizer on the judge's batches (weights set by hand)."""
    steps = int(np.ceil(len(probe["x_fit"]) / int(probe["fit_batch"])))
    return 3.0 * 1.11 * steps * float(probe["fit_lr"])


def subchecks(ev, probe, config) -> list[SubCheck]:
    state = {}
    names = params_of(probe)

    def applied_gradient():
        if "g" not in state:
            before = np.concatenate([floats(probe[k]).ravel() for k in names])
            after = np.concatenate([floats(ev[f"{k}_after"]).ravel() for k in names])
            state["g"] = (before - after) / float(probe["lr"])
        return state["g"]

    def keys():
        missing = [k for k in _KEYS if k not in set(np.asarray(ev["log_keys"]).tolist())]
        if missing:
            return f"train_step debe devolver un dict con {list(_KEYS)}; faltan {missing}"
        # the names alone are not evidence: each must come with the number the step returned for it
        if not all(f"log_{k}" in ev and np.all(np.isfinite(floats(ev[f"log_{k}"]))) for k in _KEYS):
            return f"train_step debe devolver en su dict un número finito para cada una de {list(_KEYS)}"

    def unchanged_groups():
        changed = {k: not np.array_equal(floats(ev[f"{k}_after"]), floats(probe[k])) for k in names}
        groups = [name for name, keys_ in (("codificador", ENCODER_PARAMS), ("decodificador", DECODER_PARAMS))
                  if not any(changed.get(k, False) for k in keys_)]
        return groups

    def weights_change():
        groups = unchanged_groups()
        if groups:
            return (f"los pesos del {' y del '.join(groups)} no cambian tras un paso: calcula los gradientes de la "
                    "pérdida total respecto a self.trainable_weights y aplícalos con self.optimizer")
        if not encoder_step_through_batch(applied_gradient(), probe):
            return ("los pesos del codificador cambian, pero no como un paso de gradiente sobre el batch: calcula "
                    "los gradientes de la pérdida total respecto a self.trainable_weights y aplícalos con "
                    "self.optimizer")

    def right_gradient():
        if unchanged_groups():
            return "sin actualizar todos los pesos no hay un paso de gradiente que comprobar"
        return diagnose(applied_gradient(), probe)

    def reported_metrics():
        _, _, recon, kl = gradient_basis(probe)
        beta = float(probe["beta"])
        got = {k: float(ev[f"log_{k}"]) for k in _KEYS}
        if not np.isclose(got["reconstruction_loss"], recon, rtol=2e-3, atol=1e-2):
            return (f"reconstruction_loss = {got['reconstruction_loss']:.3f}; el juez calcula {recon:.3f} (BCE sumada "
                    "sobre píxeles, media sobre el batch) para ese mismo paso")
        if not np.isclose(got["kl_loss"], kl, rtol=2e-3, atol=1e-3):
            if np.isclose(got["kl_loss"], beta * kl, rtol=2e-3):
                return "kl_loss debe registrar el KL medio sin multiplicar por β (β solo entra en la pérdida total)"
            return f"kl_loss = {got['kl_loss']:.4f}; el juez calcula un KL medio de {kl:.4f} para ese mismo paso"
        if not np.isclose(got["loss"], recon + beta * kl, rtol=2e-3, atol=1e-2):
            return f"loss = {got['loss']:.3f}; debería ser reconstrucción + β·KL = {recon + beta * kl:.3f}"

    def loss_decreases():
        if not bool(ev["fit_ran"]):
            return "fit() falla con tu train_step"
        initial = fit_loss(probe, {k: probe[k] for k in names})
        final = fit_loss(probe, {k: floats(ev[f"fit_{k}"]) for k in names})
        if not (np.isfinite(final) and final < 0.95 * initial):
            return (f"tras una época de fit la pérdida (calculada por el juez con los pesos resultantes) no baja: "
                    f"{initial:.1f} → {final:.1f}")
        moved = max(float(np.max(np.abs(floats(ev[f"fit_{k}"]) - floats(probe[k])))) for k in names)
        if not moved <= adam_reach(probe):
            return (f"tras una época de fit algún peso cambió {moved:.3g}, más de lo que pueden moverlo los pasos de "
                    f"Adam de esa época (≤ {adam_reach(probe):.3g}): aplica los gradientes con self.optimizer, un "
                    "paso por lote")

    return [
        SubCheck("devuelve loss, reconstruction_loss y kl_loss", 1, keys, "train_step falla"),
        SubCheck("los pesos del codificador y del decodificador cambian", 1, weights_change,
                 "los pesos no cambian tras un paso"),
        SubCheck("el paso aplica el gradiente de reconstrucción (suma sobre píxeles, media sobre el batch) + β·KL",
                 4, right_gradient, "el gradiente aplicado no es el de la pérdida del VAE"),
        SubCheck("las métricas registradas son las pérdidas de ese paso", 1, reported_metrics,
                 "las métricas no coinciden con las pérdidas"),
        SubCheck("la pérdida baja tras una época de fit con datos reales", 1, loss_decreases, "la pérdida no baja"),
    ]


_SHAPES = {"A": (784, _LATENT), "B": (784, _LATENT), "b_lv": (_LATENT,), "W": (_LATENT, 784), "b": (784,)}
EVIDENCE = {"log_keys": text(100), **{f"log_{k}": scalar() for k in _KEYS}, "fit_ran": scalar(FLAG),
            **{f"{k}_after": array(*shape) for k, shape in _SHAPES.items()},
            **{f"fit_{k}": array(*shape) for k, shape in _SHAPES.items()}}
PART = Part("test_vae_model", "VAE.train_step", make_probe, subchecks, evidence=EVIDENCE)
