"""What runs inside the sandboxed grading kernel: the evidence collectors (sent as source text, never imported there).

The judge (``autograder.judge``, in vaekit's own process) sends this module's source and a probe file; ``run``
calls the student's objects on the probe inputs and saves the raw results (arrays only) to an ``.npz``. Nothing
here scores anything: every number is recomputed and judged outside. A collector never raises: a failing call is
recorded as ``error:<name>`` with the exception's one-line message.

This file must not import ``vae_lib`` or ``autograder`` (they are not mounted in the sandbox); only numpy, keras,
TensorFlow and, where importable, the student runtime's ``DirectPredictModel`` for the probes. The small probe
networks and the reference ``Sampling`` / ``kl_divergence`` swapped in while a part that uses them is measured
live here so that each part is judged on its own (a wrong KL does not cost points in the train step, a wrong
Sampling does not cost points in the encoder).
"""
import contextlib
import io
import os
import sys

import numpy as np


# --------------------------------------------------------------------------------------------------------
# probe networks (weights come from the judge's probe file)
def _probe_model(inputs, outputs, name):
    """keras.Model(inputs, outputs) whose ``predict`` of arrays is a direct call: the student runtime's
    ``DirectPredictModel`` (a student's sampler calls predict six times per part, and Keras builds a data pipeline
    and traces a graph for them, ~0.05 CPU-s each); a plain keras.Model where the runtime is not importable. The
    numbers are the same either way."""
    try:
        from vae_runtime.networks import DirectPredictModel as Model
    except Exception:  # noqa: BLE001 (a kernel without the runtime: Keras's own predict)
        from keras import Model
    return Model(inputs, outputs, name=name)


def linear_decoder(W, b):
    """z (batch, k) -> sigmoid(z·W + b) reshaped to (batch, 28, 28, 1)."""
    import keras

    z = keras.Input(shape=(W.shape[0],))
    dense = keras.layers.Dense(W.shape[1], activation="sigmoid", name="probe_pixels")
    out = keras.layers.Reshape((28, 28, 1))(dense(z))
    model = _probe_model(z, out, "probe_decoder")
    dense.set_weights([W, b])
    return model


def _noise_layer_class():
    import keras
    from keras import ops

    class ProbeNoise(keras.layers.Layer):
        """z = z_mean + exp(0.5·z_log_var)·eps with eps fixed by the judge (element (i, j) of the batch gets
        eps[i, j]; the judge's eps has at least as many rows and columns as it will meet), or fresh N(0, 1) noise
        when eps is None."""

        def __init__(self, eps=None, seed=0, **kwargs):
            super().__init__(**kwargs)
            self.eps = None if eps is None else np.asarray(eps, "float32")
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            if self.eps is None:
                eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            else:
                eps = ops.convert_to_tensor(self.eps)[: ops.shape(z_mean)[0], : ops.shape(z_mean)[1]]
            return z_mean + ops.exp(0.5 * z_log_var) * eps

    return ProbeNoise


def linear_encoder(A, B, b_lv, eps=None, seed=0):
    """x -> [z_mean = flat(x)·A, z_log_var = flat(x)·B + b_lv, z]; z uses the judge's eps when given."""
    import keras

    x = keras.Input(shape=(28, 28, 1))
    flat = keras.layers.Flatten()(x)
    mean_layer = keras.layers.Dense(A.shape[1], use_bias=False, name="probe_z_mean")
    log_var_layer = keras.layers.Dense(A.shape[1], name="probe_z_log_var")
    z_mean, z_log_var = mean_layer(flat), log_var_layer(flat)
    z = _noise_layer_class()(eps=eps, seed=seed)([z_mean, z_log_var])
    model = _probe_model(x, [z_mean, z_log_var, z], "probe_encoder")
    mean_layer.set_weights([A])
    log_var_layer.set_weights([B, b_lv])
    return model, (mean_layer, log_var_layer)


def linear_cond_encoder(A, B, b_lv, C, D, eps=None, seed=0):
    """[x, y] -> [z_mean = flat(x)·A + y·C, z_log_var = flat(x)·B + y·D + b_lv, z] (y one-hot (batch, classes))."""
    import keras

    x = keras.Input(shape=(28, 28, 1))
    y = keras.Input(shape=(C.shape[0],))
    h = keras.layers.Concatenate()([keras.layers.Flatten()(x), y])
    mean_layer = keras.layers.Dense(A.shape[1], use_bias=False, name="probe_z_mean")
    log_var_layer = keras.layers.Dense(A.shape[1], name="probe_z_log_var")
    z_mean, z_log_var = mean_layer(h), log_var_layer(h)
    z = _noise_layer_class()(eps=eps, seed=seed)([z_mean, z_log_var])
    model = _probe_model([x, y], [z_mean, z_log_var, z], "probe_cond_encoder")
    mean_layer.set_weights([np.concatenate([A, C])])
    log_var_layer.set_weights([np.concatenate([B, D]), b_lv])
    return model, (mean_layer, log_var_layer)


def linear_cond_decoder(W, V, b):
    """[z, y] -> sigmoid(z·W + y·V + b) reshaped to (batch, 28, 28, 1)."""
    import keras

    z = keras.Input(shape=(W.shape[0],))
    y = keras.Input(shape=(V.shape[0],))
    dense = keras.layers.Dense(W.shape[1], activation="sigmoid", name="probe_pixels")
    out = keras.layers.Reshape((28, 28, 1))(dense(keras.layers.Concatenate()([z, y])))
    model = _probe_model([z, y], out, "probe_cond_decoder")
    dense.set_weights([np.concatenate([W, V]), b])
    return model


def one_hot(labels, classes):
    return np.eye(int(classes), dtype="float32")[np.asarray(labels, "int64")]


def reference_sampling_class(eps=None):
    """The reparameterisation layer swapped in for ``Sampling`` while another part is measured, with the judge's
    fixed noise ``eps`` (so the judge knows the z it must produce, and a train step that samples z itself sees the
    same z)."""
    ProbeNoise = _noise_layer_class()

    class Sampling(ProbeNoise):
        def __init__(self, seed=None, **kwargs):
            super().__init__(eps=eps, seed=seed, **kwargs)

    return Sampling


def reference_kl(z_mean, z_log_var):
    from keras import ops

    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


@contextlib.contextmanager
def swapped(ns, **replacements):
    """Temporarily rebind names in the student's namespace (restored afterwards, also on error)."""
    missing = object()
    saved = {k: ns.get(k, missing) for k in replacements}
    ns.update(replacements)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is missing:
                ns.pop(k, None)
            else:
                ns[k] = v


def as_tensor(a):
    from keras import ops

    return ops.convert_to_tensor(np.asarray(a, "float32"))


def layer_classes(model):
    """'Class:Base:Base…' for every layer, nested models and custom layers included."""
    import keras

    seen, out = set(), []

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if layer is not model:
            out.append(":".join(c.__name__ for c in type(layer).__mro__ if c.__module__ != "builtins"))
        children = []
        try:
            children = list(layer._flatten_layers(include_self=False, recursive=False))
        except Exception:
            children = list(getattr(layer, "layers", []) or [])
        for child in children:
            if isinstance(child, keras.layers.Layer):
                visit(child)

    visit(model)
    return np.array(out or ["(ninguna)"])


def student_object(ns, name):
    value = ns.get(name)
    if value is None:
        raise NameError(f"«{name}» no está definido en el cuaderno")
    return value


# --------------------------------------------------------------------------------------------------------
# collectors: one per graded part; `record(name, thunk)` stores thunk()'s value or its error
def collect_sampling(ns, probe, record):
    import tensorflow as tf

    Sampling = student_object(ns, "Sampling")
    mu, log_var = as_tensor(probe["mu"]), as_tensor(probe["log_var"])
    layer = Sampling()
    record("z", lambda: layer((mu, log_var)))
    small_mu, small_lv = mu[:256], log_var[:256]
    record("fresh_1", lambda: layer((small_mu, small_lv)))
    record("fresh_2", lambda: layer((small_mu, small_lv)))
    graph_call = tf.function(lambda m, v: layer((m, v)))
    record("graph_1", lambda: graph_call(small_mu, small_lv))
    record("graph_2", lambda: graph_call(small_mu, small_lv))
    m, v = tf.Variable(mu[:64]), tf.Variable(log_var[:64])
    w = as_tensor(probe["w"])
    with tf.GradientTape() as tape:
        z = Sampling()((m, v))
        total = tf.reduce_sum(z * w)
    grads = tape.gradient(total, [m, v])
    record("grad_z", lambda: z)
    record("grad_mu", lambda: _gradient(grads[0], "μ"))
    record("grad_log_var", lambda: _gradient(grads[1], "log σ²"))


def _gradient(g, name):
    if g is None:
        raise ValueError(f"el gradiente respecto a {name} es None (¿NumPy, stop_gradient o un valor constante?)")
    return g


def collect_kl(ns, probe, record):
    import tensorflow as tf

    kl_divergence = student_object(ns, "kl_divergence")
    z_mean, z_log_var = as_tensor(probe["z_mean"]), as_tensor(probe["z_log_var"])
    record("kl", lambda: kl_divergence(z_mean, z_log_var))
    zeros = as_tensor(np.zeros((4, z_mean.shape[1])))
    record("kl_prior", lambda: kl_divergence(zeros, zeros))
    m, v = tf.Variable(z_mean), tf.Variable(z_log_var)

    def grads():
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(tf.cast(kl_divergence(m, v), "float32"))
        return tape.gradient(total, [m, v])

    state = {}

    def gradient(i, name):
        if "g" not in state:
            state["g"] = grads()
        return _gradient(state["g"][i], name)

    def none_flags():
        if "g" not in state:
            state["g"] = grads()
        return np.array([g is None for g in state["g"]])

    record("grad_is_none", none_flags)
    record("grad_z_mean", lambda: gradient(0, "z_mean"))
    record("grad_z_log_var", lambda: gradient(1, "z_log_var"))


def collect_encoder(ns, probe, record):
    build_encoder = student_object(ns, "build_encoder")
    with swapped(ns, Sampling=reference_sampling_class(probe["eps"])):
        _collect_encoder_outputs(lambda latent: build_encoder(latent), lambda model, x, rows: model(x), probe,
                                 record)


def collect_cond_encoder(ns, probe, record):
    """As collect_encoder, the model called on [images, one-hot labels]; plus its outputs for other labels of the
    same images, and a model built for another number of classes."""
    build = student_object(ns, "build_cond_encoder")
    classes = int(probe["num_classes"])
    labels = probe["labels"]

    def call(model, x, rows):
        return model([x, as_tensor(one_hot(labels[rows], classes))])

    def integer_labels(model):  # recorded first: a model taking integer labels fails every one-hot call
        record("integer_label_z_mean", lambda: model([as_tensor(probe["x"][:8]), as_tensor(labels[:8, None])])[0])

    with swapped(ns, Sampling=reference_sampling_class(probe["eps"])):
        model = _collect_encoder_outputs(lambda latent: build(latent, classes), call, probe, record, integer_labels)
        x = as_tensor(probe["x"])
        other = model([x, as_tensor(one_hot(probe["labels_other"], classes))])
        record("label_z_mean", lambda: other[0])
        record("label_z_log_var", lambda: other[1])
        wide = classes + 2
        record("wide_z_mean", lambda: build(int(probe["latent_dim"]), wide)(
            [x[:8], as_tensor(one_hot(labels[:8] % wide, wide))])[0])


def _collect_encoder_outputs(build, call, probe, record, first=None):
    """The evidence every encoder part shares; ``call(model, x, rows)`` runs the model on images x (rows: their
    indices into the probe's images); ``first(model)`` runs right after the model is built. Returns the model."""
    import keras
    import tensorflow as tf

    latent = int(probe["latent_dim"])
    n = len(probe["x"])
    x, x_rep = as_tensor(probe["x"]), as_tensor(probe["x_repeated"])
    rows, rows_rep = np.arange(n), np.repeat(np.arange(8), len(probe["x_repeated"]) // 8)
    model = build(latent)
    record("is_model", lambda: np.array(isinstance(model, keras.Model)))
    if first is not None:
        first(model)
    out = call(model, x, rows)
    record("n_outputs", lambda: np.array(len(out) if isinstance(out, (list, tuple)) else 1))
    for i, name in enumerate(("z_mean", "z_log_var", "z")):
        record(name, lambda i=i: out[i])
    rep = call(model, x_rep, rows_rep)
    for i, name in enumerate(("rep_z_mean", "rep_z_log_var", "rep_z")):
        record(name, lambda i=i: rep[i])
    big = call(model, x * 50.0, rows)
    record("big_z_mean", lambda: big[0])
    record("big_z_log_var", lambda: big[1])
    # another latent size, on images 0-3 twice: its z_mean (the judge reads its shape, and that it is a
    # function of the image)
    x_other = as_tensor(np.concatenate([probe["x"][:4], probe["x"][:4]]))
    record("other_latent_z_mean", lambda: call(build(latent + 2), x_other, np.tile(np.arange(4), 2))[0])
    record("layers", lambda: layer_classes(model))

    # the reparameterisation's gradient path, on 8 images: with z = μ + σ·ε, ∂z/∂x = ∂μ/∂x + ½σε·∂log σ²/∂x, so
    # ∇x Σ w·z must equal ∇x Σ w·μ + ∇x Σ stop(½ w·(z − μ))·log σ² (both terms measured on the same call)
    x8 = tf.Variable(probe["x"][:8])
    w = as_tensor(probe["path_w"])
    path = {}

    def gradients():
        with tf.GradientTape(persistent=True) as tape:
            z_mean, z_log_var, z = list(call(model, x8, rows[:8]))[:3]
            half_noise = tf.stop_gradient(0.5 * w * (tf.cast(z, "float32") - tf.cast(z_mean, "float32")))
            terms = (tf.reduce_sum(w * tf.cast(z, "float32")), tf.reduce_sum(w * tf.cast(z_mean, "float32")),
                     tf.reduce_sum(half_noise * tf.cast(z_log_var, "float32")))
        path.update(zip(("z", "mean", "var"), (tape.gradient(t, x8, unconnected_gradients="zero")
                                              for t in terms)))
        return path["z"]

    record("path_z", gradients)
    record("path_mean", lambda: path["mean"])
    record("path_var", lambda: path["var"])
    return model


def collect_decoder(ns, probe, record):
    import keras

    build_decoder = student_object(ns, "build_decoder")
    latent = int(probe["latent_dim"])
    z = as_tensor(probe["z"])
    model = build_decoder(latent)
    record("is_model", lambda: np.array(isinstance(model, keras.Model)))
    record("images", lambda: model(z))
    record("images_far", lambda: model(z * 30.0))
    other = as_tensor(probe["z_other"])
    record("other_latent_images", lambda: build_decoder(other.shape[1])(other))
    record("layers", lambda: layer_classes(model))


def _fit_or_tuple(call):
    """Call with the data as a tensor x; a train_step written for (x, x) tuples gets them instead. ``call`` builds
    fresh objects each time (a failed first try may have traced a tf.function or created optimizer state); when
    both fail, the first try's error is the one reported."""
    try:
        return call(False)
    except Exception as first:
        try:
            return call(True)
        except Exception:
            raise first from None


def collect_train_step(ns, probe, record):
    def networks():
        encoder, (mean_layer, log_var_layer) = linear_encoder(probe["A"], probe["B"], probe["b_lv"], eps=probe["eps"])
        decoder = linear_decoder(probe["W"], probe["b"])
        pixels = decoder.get_layer("probe_pixels")
        every = slice(None)
        slices = {"A": (mean_layer, 0, every), "B": (log_var_layer, 0, every), "b_lv": (log_var_layer, 1, every),
                  "W": (pixels, 0, every), "b": (pixels, 1, every)}
        return encoder, decoder, slices

    _train_step_evidence(student_object(ns, "VAE"), ns, probe, record, networks, lambda x: x, lambda x: (x,))


def _train_step_evidence(model_class, ns, probe, record, networks, step_data, fit_data, conditional=False):
    """One SGD step and one epoch of fit of ``model_class(encoder, decoder, beta)`` on the probe's networks
    (``networks()`` -> encoder, decoder, name -> (layer, weight index, rows) of each probe parameter).
    ``step_data(x)`` / ``fit_data(x)``: what train_step / fit receive (a VAE without labels also gets (x, x)
    tuples when x alone fails, see ``_fit_or_tuple``)."""
    import keras

    names = [k for k in ("A", "B", "b_lv", "C", "D", "W", "V", "b") if k in probe]

    def probe_model(beta, optimizer, state):
        encoder, decoder, state["weights"] = networks()
        model = model_class(encoder, decoder, beta=beta)
        model.compile(optimizer=optimizer)
        return model

    def weight(state, name):
        if "weights" not in state:
            raise RuntimeError("no se llegó a construir el modelo")
        layer, index, rows = state["weights"][name]
        return layer.get_weights()[index][rows]

    def attempts(call):
        return call(False) if conditional else _fit_or_tuple(call)

    with swapped(ns, kl_divergence=reference_kl, Sampling=reference_sampling_class(probe["eps"])):
        # 1. one SGD step on a batch with the judge's fixed noise: the judge recomputes the exact gradient
        batch = as_tensor(probe["x"])
        step_state, logs = {}, {}

        def step(as_tuple):
            model = probe_model(float(probe["beta"]), keras.optimizers.SGD(learning_rate=float(probe["lr"])),
                                step_state)
            return model.train_step((batch, batch) if as_tuple else step_data(batch))

        def run_step():
            logs.update({k: np.asarray(keras.ops.convert_to_numpy(v), "float64")
                         for k, v in dict(attempts(step)).items()})
            return np.array(sorted(logs))

        record("log_keys", run_step)
        for key in ("loss", "reconstruction_loss", "kl_loss"):
            record("log_" + key, lambda key=key: np.mean(logs[key]))
        for name in names:
            record(name + "_after", lambda name=name: weight(step_state, name))

        # 2. one epoch of fit() on real images: the judge evaluates the loss of the returned weights itself
        x_fit = np.asarray(probe["x_fit"], "float32")
        batch_size = int(probe["fit_batch"])
        fit_state = {}

        def fit(as_tuple):
            model = probe_model(1.0, keras.optimizers.Adam(float(probe["fit_lr"])), fit_state)
            args = (x_fit, x_fit) if as_tuple else fit_data(x_fit)
            model.fit(*args, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
            return np.array(True)

        record("fit_ran", lambda: attempts(fit))
        for name in names:
            record("fit_" + name, lambda name=name: weight(fit_state, name))


def collect_sample_images(ns, probe, record):
    sample_images = student_object(ns, "sample_images")
    decoder = linear_decoder(probe["W"], probe["b"])
    k = probe["W"].shape[0]
    first = {}

    def shape_call():
        first["v"] = sample_images(decoder, 16, k, seed=0)
        return np.array(type(first["v"]).__name__)

    record("type_name", shape_call)
    record("small", lambda: first["v"])
    record("prior", lambda: sample_images(decoder, 2000, k, seed=1))
    record("seed3_a", lambda: sample_images(decoder, 8, k, seed=3))
    record("seed3_b", lambda: sample_images(decoder, 8, k, seed=3))
    record("seed4", lambda: sample_images(decoder, 8, k, seed=4))
    other = linear_decoder(probe["W_other"], probe["b_other"])
    record("other_latent", lambda: sample_images(other, 500, probe["W_other"].shape[0], seed=2))
    collect_trained_model(ns, probe, record)


def collect_trained_model(ns, probe, record):
    """The student's own trained encoder/decoder on the judge's codes and test images (reported, not scored)."""
    encoder, decoder = ns.get("encoder"), ns.get("decoder")
    if encoder is None or decoder is None or not bool(probe.get("measure_trained", False)):
        return
    z = np.asarray(probe["trained_z"], "float32")
    x = np.asarray(probe["trained_x"], "float32")
    record("trained_samples", lambda: decoder.predict(z, verbose=0))
    record("trained_reconstructions", lambda: decoder.predict(
        np.asarray(encoder.predict(x, verbose=0)[0], "float32"), verbose=0))


def collect_interpolate(ns, probe, record):
    interpolate = student_object(ns, "interpolate")
    encoder, _ = linear_encoder(probe["A"], probe["B"], probe["b_lv"], eps=None, seed=3)
    decoder = linear_decoder(probe["W"], probe["b"])
    x_a, x_b = np.asarray(probe["x_a"], "float32"), np.asarray(probe["x_b"], "float32")
    first = {}

    def call():
        first["v"] = interpolate(encoder, decoder, x_a, x_b, steps=7)
        return np.array(type(first["v"]).__name__)

    record("type_name", call)
    record("frames", lambda: first["v"])
    record("frames_4", lambda: interpolate(encoder, decoder, x_a, x_b, steps=4))


def collect_cond_decoder(ns, probe, record):
    import keras

    build = student_object(ns, "build_cond_decoder")
    latent, classes = int(probe["latent_dim"]), int(probe["num_classes"])
    z, labels = as_tensor(probe["z"]), probe["labels"]
    model = build(latent, classes)
    record("is_model", lambda: np.array(isinstance(model, keras.Model)))
    record("integer_label_images", lambda: model([z[:4], as_tensor(labels[:4, None])]))
    record("images", lambda: model([z, as_tensor(one_hot(labels, classes))]))
    record("images_far", lambda: model([z * 30.0, as_tensor(one_hot(labels, classes))]))
    record("label_images", lambda: model([z, as_tensor(one_hot(probe["labels_other"], classes))]))
    other = as_tensor(probe["z_other"])
    other_labels = np.tile(labels[:2], other.shape[0] // 2)  # codes a, b, a, b with labels a, b, a, b
    record("other_latent_images", lambda: build(other.shape[1], classes)(
        [other, as_tensor(one_hot(other_labels, classes))]))
    wide = classes + 2
    record("wide_images", lambda: build(latent, wide)([z[:4], as_tensor(one_hot(labels[:4] % wide, wide))]))
    record("layers", lambda: layer_classes(model))


def collect_cvae_train_step(ns, probe, record):
    """collect_train_step for the conditional model: CVAE on the probe's conditional networks, data (x, y)."""
    labels = as_tensor(one_hot(probe["labels"], probe["C"].shape[0]))
    fit_labels = one_hot(probe["fit_labels"], probe["C"].shape[0])

    def networks():
        encoder, (mean_layer, log_var_layer) = linear_cond_encoder(probe["A"], probe["B"], probe["b_lv"],
                                                                   probe["C"], probe["D"], eps=probe["eps"])
        decoder = linear_cond_decoder(probe["W"], probe["V"], probe["b"])
        pixels = decoder.get_layer("probe_pixels")
        rows = probe["A"].shape[0]
        slices = {"A": (mean_layer, 0, slice(None, rows)), "C": (mean_layer, 0, slice(rows, None)),
                  "B": (log_var_layer, 0, slice(None, rows)), "D": (log_var_layer, 0, slice(rows, None)),
                  "b_lv": (log_var_layer, 1, slice(None)), "W": (pixels, 0, slice(None, probe["W"].shape[0])),
                  "V": (pixels, 0, slice(probe["W"].shape[0], None)), "b": (pixels, 1, slice(None))}
        return encoder, decoder, slices

    _train_step_evidence(student_object(ns, "CVAE"), ns, probe, record, networks,
                         lambda x: (x, labels), lambda x: (x, fit_labels), conditional=True)


def collect_sample_class(ns, probe, record):
    sample_class = student_object(ns, "sample_class")
    decoder = linear_cond_decoder(probe["W"], probe["V"], probe["b"])
    k, classes = probe["W"].shape[0], probe["V"].shape[0]
    wanted, other_class = int(probe["class_id"]), int(probe["other_class_id"])
    first = {}

    def shape_call():
        first["v"] = sample_class(decoder, wanted, 16, k, seed=0)
        return np.array(type(first["v"]).__name__)

    record("type_name", shape_call)
    record("small", lambda: first["v"])
    record("prior", lambda: sample_class(decoder, wanted, 1000, k, seed=1))
    record("other_class", lambda: sample_class(decoder, other_class, 200, k, seed=2))
    record("seed3_a", lambda: sample_class(decoder, wanted, 8, k, seed=3))
    record("seed3_b", lambda: sample_class(decoder, wanted, 8, k, seed=3))
    record("seed4", lambda: sample_class(decoder, wanted, 8, k, seed=4))
    other = linear_cond_decoder(probe["W_other"], probe["V_other"], probe["b_other"])
    record("other_latent", lambda: sample_class(other, wanted, 300, probe["W_other"].shape[0], seed=5))
    # the student's own trained decoder: n images of each class (the judge classifies them; reported, not scored)
    decoder_trained, latent = ns.get("decoder"), ns.get("LATENT_DIM")
    measure = bool(probe.get("measure_trained", False))  # only with the full run's weights: grading never trains
    if measure and decoder_trained is not None and isinstance(latent, int) and 0 < latent <= 64:
        per_class = int(probe["trained_per_class"])
        record("trained_samples", lambda: np.concatenate(
            [np.asarray(sample_class(decoder_trained, c, per_class, latent, seed=c), "float32")
             for c in range(classes)]))


COLLECTORS = {  # by grade id (``judge.GRADE_CELLS``)
    "test_sampling": collect_sampling, "test_kl_divergence": collect_kl, "test_encoder": collect_encoder,
    "test_decoder": collect_decoder, "test_vae_model": collect_train_step, "test_sample_images": collect_sample_images,
    "test_interpolate": collect_interpolate, "test_cond_encoder": collect_cond_encoder,
    "test_cond_decoder": collect_cond_decoder, "test_cvae_model": collect_cvae_train_step,
    "test_sample_class": collect_sample_class,
}


# --------------------------------------------------------------------------------------------------------
def to_array(value):
    if isinstance(value, np.ndarray):
        out = value
    else:
        try:
            import keras

            out = np.asarray(keras.ops.convert_to_numpy(value))
        except Exception:
            out = np.asarray(value)
    if out.dtype == object:
        raise TypeError(f"el resultado no es numérico ({type(value).__name__})")
    return out


def run(ns, part, probe_path, out_path, seed):
    """Collect the evidence of grade cell ``part`` from the student's namespace ``ns``; write it to ``out_path`` (npz)."""
    import keras

    probe = dict(np.load(probe_path, allow_pickle=False))
    out = {}

    def record(name, thunk):
        try:
            out[name] = to_array(thunk())
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # SystemExit included: a student's sys.exit() fails that call only
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            out["error:" + name] = np.array(f"{type(error).__name__}: {message}"[:300])

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        keras.utils.set_random_seed(int(seed))
        record("_collector", lambda: (COLLECTORS[part](ns, probe, record), np.array(True))[1])
    tmp = out_path + ".part.npz"
    np.savez(tmp, **out)
    os.replace(tmp, out_path)
    sys.stdout.flush()
