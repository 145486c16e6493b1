"""The judge (``autograder.judge``) on the source notebooks' solution code, every canonical mistake and correct
alternatives, in-process (``judge_in_process``: collector + judge on trusted code, no kernels).

A student namespace is built like a filled notebook: the notebook's imports, then each solution cell (optionally
edited by a ``Mistake`` or replaced by an alternative). Checked here:

* the solution gets full marks on every graded part, in both assignments;
* every mistake of ``autograder.authoring.mistakes`` loses points on exactly its part, with its ``message_fragment`` in the
  diagnosis of a failed sub-check (never in a sub-check's label), and the same share of the points in both
  assignments when it exists in both;
* decoupling: a part whose collector meets another cell's object (the encoder and the train step meet Sampling,
  the train step meets kl_divergence) keeps full marks when that object is wrong; and every part keeps full marks
  when every OTHER exercise is left blank (``raise NotImplementedError``), so no other cell can move its score;
* correct alternatives get full marks; every sub-check of every part fails for some bug it names;
* every collector emits exactly its part's declared evidence, and no honest run's array is ever refused
  (``judge_part`` checks each judging; crafted evidence is in ``test_judge_crafted.py``).
"""
from __future__ import annotations

import functools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from autograder import judge  # noqa: E402
from autograder.authoring import mistakes as mk  # noqa: E402
from autograder import notebooks as nbs  # noqa: E402
from autograder.judge import data  # noqa: E402
from autograder.judge._framework import check_header  # noqa: E402

PRELUDE = ("import numpy as np\nimport keras\nfrom keras import layers, ops\nimport tensorflow as tf\n"
           "LATENT_DIM = {latent_dim}\nNUM_CLASSES = 10\n")
# The cells executed, in notebook order: the given ones (the conditional notebook restates Sampling and the KL)
# and the exercises.
CELLS = ("given_sampling", "given_kl_divergence", "sampling", "kl_divergence", "encoder", "decoder", "vae_model",
         "sample_images", "interpolate", "cond_encoder", "cond_decoder", "cvae_model", "sample_class")
OWN_CELL = {"test_sampling": "sampling", "test_kl_divergence": "kl_divergence", "test_encoder": "encoder",
            "test_decoder": "decoder", "test_vae_model": "vae_model", "test_sample_images": "sample_images",
            "test_interpolate": "interpolate", "test_cond_encoder": "cond_encoder",
            "test_cond_decoder": "cond_decoder", "test_cvae_model": "cvae_model", "test_sample_class": "sample_class"}
# Other parts whose collectors meet a cell's object (and swap in the reference while measuring)
ALSO_MEETS = {"sampling": ("test_encoder", "test_vae_model"), "kl_divergence": ("test_vae_model",)}
VAE_ASSIGNMENTS = tuple(a for a in nbs.ASSIGNMENTS if "test_sampling" in judge.ASSIGNMENTS[a].grade_ids)


@functools.lru_cache(maxsize=None)
def graded_points(assignment: str) -> dict[str, float]:
    """grade_id -> points of the judged grade cells of the assignment's source notebook."""
    cells = nbs.cells_by_grade_id(nbs.read(nbs.source_path(assignment)))
    return {gid: float(c.metadata["nbgrader"]["points"]) for gid, c in cells.items()
            if gid in judge.GRADE_CELLS and c.metadata["nbgrader"].get("grade")}


@functools.lru_cache(maxsize=None)
def solution_cells(assignment: str) -> dict[str, str]:
    return nbs.solutions_of(assignment)


@functools.lru_cache(maxsize=None)
def given_cells(assignment: str) -> dict[str, str]:
    """The source's given (locked, not graded) code cells among CELLS: what every student's notebook has."""
    cells = nbs.cells_by_grade_id(nbs.read(nbs.source_path(assignment)))
    return {gid: c.source for gid, c in cells.items() if gid in CELLS and not nbs.is_solution_cell(c)}


@functools.lru_cache(maxsize=None)
def blank_cells(assignment: str) -> dict[str, str]:
    """The release notebook's exercise cells, as a student receives them (``raise NotImplementedError``)."""
    cells = nbs.cells_by_grade_id(nbs.read(nbs.release_path(assignment)))
    return {gid: c.source for gid, c in cells.items() if gid in CELLS}


def namespace(assignment: str, cells: dict[str, str]) -> dict:
    """Exec the cells like a student's filled notebook; ``x_test`` (and ``encoder`` when sample_images uses it) are
    there as in the notebook; ``decoder`` is not, so the trained-model notes of sample_images (not scored) are
    skipped."""
    ns: dict = {}
    config = judge.ASSIGNMENTS[assignment]
    exec(PRELUDE.format(latent_dim=config.latent_dim), ns)
    ns["x_test"], ns["y_test"] = data.labelled(config.dataset, "test", 2000)
    cells = {**given_cells(assignment), **cells}
    for gid in CELLS:
        if gid in cells:
            exec(compile(cells[gid], f"<{assignment}:{gid}>", "exec"), ns)
    if "encoder." in cells.get("sample_images", ""):  # the notebook's trained encoder, for code that uses it
        ns["encoder"] = ns["build_encoder"](10)
    if "encoder." in cells.get("sample_class", ""):
        ns["encoder"] = ns["build_cond_encoder"](config.latent_dim)
    return ns


def judge_part(grade_id: str, ns: dict, assignment: str, sink: dict | None = None):
    """The part's verdict; every array its collector emitted passed the part's evidence declaration (an honest
    mistake's evidence is never refused)."""
    sink = {} if sink is None else sink
    verdict = judge.judge_in_process(grade_id, ns, assignment, points=graded_points(assignment)[grade_id],
                                     folder="/nonexistent", evidence_sink=sink)
    assert not sink["evidence"].refusals, (grade_id, sink["evidence"].refusals)
    return verdict


@functools.lru_cache(maxsize=None)
def solution_runs(assignment: str) -> dict:
    """grade_id -> (verdict, evidence) of the solution."""
    ns = namespace(assignment, solution_cells(assignment))
    runs = {}
    for gid in graded_points(assignment):
        sink: dict = {}
        runs[gid] = (judge_part(gid, ns, assignment, sink), sink["evidence"])
    return runs


def solution_verdicts(assignment: str) -> dict:
    return {gid: verdict for gid, (verdict, _) in solution_runs(assignment).items()}


@functools.lru_cache(maxsize=None)
def mistake_verdicts(mistake_id: str, assignment: str) -> dict:
    """The verdicts of the mistake's own part and of the parts whose collectors meet the edited cell's object."""
    mistake = mk.by_id(mistake_id)
    cells = dict(solution_cells(assignment))
    cells[mistake.grade_id] = mistake.apply(cells[mistake.grade_id])
    ns = namespace(assignment, cells)
    parts = (mistake.check_grade_id,) + ALSO_MEETS.get(mistake.grade_id, ())
    return {gid: judge_part(gid, ns, assignment) for gid in parts if gid in graded_points(assignment)}


def failed_with(verdict, fragment: str) -> list[str]:
    """Labels of the failed sub-checks whose diagnosis contains ``fragment``."""
    return [o.label for o in verdict.outcomes if not o.passed and fragment in o.message]


@pytest.fixture(scope="module", autouse=True)
def _timing():
    start = time.perf_counter()
    yield
    print(f"\ntest_judge: {time.perf_counter() - start:.1f}s")


# ----------------------------------------------------------------------------------------------------------------
# the catalogue
def test_catalogue_covers_every_graded_part():
    assert len(mk.MISTAKES) >= 24
    assert len({m.id for m in mk.MISTAKES}) == len(mk.MISTAKES)
    for assignment in nbs.ASSIGNMENTS:
        parts = {m.check_grade_id for m in mk.for_assignment(assignment)}
        assert parts == set(graded_points(assignment)), assignment


@pytest.mark.parametrize("mistake", mk.MISTAKES, ids=lambda m: m.id)
def test_mistake_edits_apply_once_where_marked(mistake):
    assert mistake.assignments and set(mistake.assignments) <= set(nbs.ASSIGNMENTS)
    assert mistake.check_grade_id in judge.GRADE_CELLS
    for assignment in nbs.ASSIGNMENTS:
        code = solution_cells(assignment).get(mistake.grade_id, "")
        if assignment in mistake.assignments:
            assert mistake.check_grade_id in graded_points(assignment)
            assert mistake.apply(code) != code  # apply() raises unless `find` occurs exactly once
        else:  # marked where the edited code exists: elsewhere the exercise or the code is not there
            assert code.count(mistake.find) != 1 or mistake.check_grade_id not in graded_points(assignment)


@pytest.mark.parametrize("mistake", mk.MISTAKES, ids=lambda m: m.id)
def test_fragment_is_never_a_label(mistake):
    """The fragment names the failure: it must not appear in what a passing sub-check prints (its label)."""
    for assignment in mistake.assignments:
        labels = [o.label for o in solution_verdicts(assignment)[mistake.check_grade_id].outcomes]
        assert not [label for label in labels if mistake.message_fragment in label], (assignment, labels)


# ----------------------------------------------------------------------------------------------------------------
# the solution, and decoupling
@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_solution_gets_full_marks_on_every_part(assignment):
    verdicts = solution_verdicts(assignment)
    assert set(verdicts) == set(graded_points(assignment))
    for gid, verdict in verdicts.items():
        assert verdict.score == verdict.points == graded_points(assignment)[gid], verdict.report()
        assert all(o.passed for o in verdict.outcomes), verdict.report()


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_each_collector_emits_exactly_its_declared_evidence(assignment):
    """The solution's collectors emit every declared array (those marked optional may be absent: the trained
    model's, when the namespace has no trained decoder) and nothing undeclared, all within the declared bounds."""
    for gid, (_, evidence) in solution_runs(assignment).items():
        part = judge.GRADE_CELLS[gid]
        required = {n for n, spec in part.evidence.items() if not spec.optional} | {"_collector"}
        # an optional array the solution cannot give (an integer-label call) leaves its error instead
        allowed = required | set(part.evidence) | {f"error:{n}" for n, spec in part.evidence.items() if spec.optional}
        assert required <= set(evidence.arrays) <= allowed, (gid, sorted(evidence.arrays))
        for name, value in evidence.arrays.items():
            assert check_header(part, name, value.dtype, value.shape) is None, (gid, name)


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_each_part_gets_full_marks_with_every_other_exercise_blank(assignment):
    """No other cell can move a part's score: with every other exercise as released (raising
    NotImplementedError), each part still gets full marks."""
    blank = blank_cells(assignment)
    assert all("NotImplementedError" in blank[OWN_CELL[gid]] for gid in graded_points(assignment))
    for gid, cell in OWN_CELL.items():
        if gid not in graded_points(assignment):
            continue
        cells = {**blank, cell: solution_cells(assignment)[cell]}
        verdict = judge_part(gid, namespace(assignment, cells), assignment)
        assert verdict.score == verdict.points, verdict.report()


# ----------------------------------------------------------------------------------------------------------------
# every mistake: points lost on its part only, with its diagnosis
CASES = [(m, a) for m in mk.MISTAKES for a in m.assignments]


@pytest.mark.parametrize("mistake,assignment", CASES, ids=[f"{m.id}-{a}" for m, a in CASES])
def test_mistake_loses_points_on_its_part_only(mistake, assignment):
    verdicts = mistake_verdicts(mistake.id, assignment)
    own = verdicts[mistake.check_grade_id]
    assert own.score < own.points, own.report()
    assert failed_with(own, mistake.message_fragment), own.report()
    for gid, verdict in verdicts.items():
        if gid != mistake.check_grade_id:
            assert verdict.score == verdict.points, f"{mistake.id} costs points in {gid}:\n{verdict.report()}"


SHARED = [m for m in mk.MISTAKES if len(m.assignments) > 1]


@pytest.mark.parametrize("mistake", SHARED, ids=lambda m: m.id)
def test_shared_mistake_is_judged_equally_in_both_assignments(mistake):
    verdicts = [mistake_verdicts(mistake.id, a)[mistake.check_grade_id] for a in mistake.assignments]
    lost = [round(1.0 - v.score / v.points, 3) for v in verdicts]
    assert len(set(lost)) == 1, "\n".join(v.report() for v in verdicts)
    failed = [sorted(o.label for o in v.failures if o.label != "convolucional") for v in verdicts]
    assert all(f == failed[0] for f in failed), failed


# ----------------------------------------------------------------------------------------------------------------
# correct alternatives
KERAS_IO_TRAIN_STEP = '''
class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = beta
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        if isinstance(data, tuple):
            data = data[0]
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(
                ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2))
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + self.beta * kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }
'''

COMPUTE_LOSS_VAE = '''
class VAE(keras.Model):
    """No train_step of its own: Keras's default train_step trains it through compute_loss."""

    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = beta
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, inputs, training=False):
        z_mean, z_log_var, z = self.encoder(inputs, training=training)
        return self.decoder(z, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        z_mean, z_log_var, z = self.encoder(x, training=training)
        reconstruction = self.decoder(z, training=training)
        reconstruction_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(x, reconstruction), axis=(1, 2)))
        kl_loss = ops.mean(kl_divergence(z_mean, z_log_var))
        total_loss = reconstruction_loss + self.beta * kl_loss
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return total_loss
'''

CONV_LAYER_ENCODER = '''
class ConvFeatures(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")
        self.conv2 = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(128, activation="relu")

    def call(self, x):
        return self.dense(self.flatten(self.conv2(self.conv1(x))))


def build_encoder(latent_dim, input_shape=(28, 28, 1)):
    inputs = keras.Input(shape=input_shape)
    h = ConvFeatures()(inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling()([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")
'''

NESTED_MODEL_ENCODER = '''
def build_encoder(latent_dim, input_shape=(28, 28, 1)):
    features = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
    ], name="features")
    inputs = keras.Input(shape=input_shape)
    h = features(inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling()([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")
'''

SUBCLASSED_ENCODER = '''
class Encoder(keras.Model):
    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")
        self.conv2 = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(128, activation="relu")
        self.mean_head = layers.Dense(latent_dim)
        self.log_var_head = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, x):
        h = self.hidden(self.flatten(self.conv2(self.conv1(x))))
        z_mean, z_log_var = self.mean_head(h), self.log_var_head(h)
        return [z_mean, z_log_var, self.sampling([z_mean, z_log_var])]


def build_encoder(latent_dim, input_shape=(28, 28, 1)):
    return Encoder(latent_dim)
'''

OWN_NOISE_ENCODER = '''
def build_encoder(latent_dim, input_shape=(28, 28, 1)):
    inputs = keras.Input(shape=input_shape)
    h = layers.Flatten()(inputs)
    h = layers.Dense(256, activation="relu")(h)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = layers.Lambda(lambda t: t[0] + ops.exp(0.5 * t[1]) * keras.random.normal(ops.shape(t[0])))(
        [z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")
'''

EAGER_INTERPOLATE = '''
def interpolate(encoder, decoder, x_a, x_b, steps=10):
    z_mean = encoder(np.stack([x_a, x_b]))[0]
    t = np.linspace(0.0, 1.0, steps)[:, None].astype("float32")
    codes = (1.0 - t) * z_mean[0] + t * z_mean[1]
    return ops.convert_to_numpy(decoder(codes))
'''


def _sample_images(draw: str) -> str:
    return ("def sample_images(decoder, n, latent_dim, seed=None):\n"
            f"    {draw}\n"
            "    return np.asarray(decoder.predict(ops.convert_to_numpy(z), verbose=0))\n")


def _sampling(scale: str) -> str:
    return ("class Sampling(keras.layers.Layer):\n"
            "    def __init__(self, seed=None, **kwargs):\n"
            "        super().__init__(**kwargs)\n"
            "        self.seed_generator = keras.random.SeedGenerator(seed)\n\n"
            "    def call(self, inputs):\n"
            "        z_mean, z_log_var = inputs\n"
            "        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)\n"
            f"        return z_mean + {scale} * eps\n")


def _tarea_encoder(conv: str) -> str:
    return solution_cells("vae_tarea")["encoder"].replace("layers.Conv2D(", f"layers.{conv}(")


def _cvae(cell: str, *edits: tuple[str, str]) -> str:
    """The conditional VAE's solution cell with each (find, replace) applied (find must occur once)."""
    code = solution_cells("vae_condicional")[cell]
    for find, replace in edits:
        assert code.count(find) == 1, (cell, find)
        code = code.replace(find, replace)
    return code


# name -> (assignments, grade_id of the part, cell, replacement code: a str, or a callable returning one)
ALTERNATIVES = {
    "sampling_exp_half": (VAE_ASSIGNMENTS, "test_sampling", "sampling", _sampling("ops.exp(z_log_var / 2)")),
    "sampling_sqrt_exp": (VAE_ASSIGNMENTS, "test_sampling", "sampling", _sampling("ops.sqrt(ops.exp(z_log_var))")),
    "kl_rearranged": (VAE_ASSIGNMENTS, "test_kl_divergence", "kl_divergence",
                      "def kl_divergence(z_mean, z_log_var):\n    return 0.5 * ops.sum(ops.exp(z_log_var) + "
                      "z_mean ** 2 - 1.0 - z_log_var, axis=1)\n"),
    "conv_encoder_in_class": (("vae_clase",), "test_encoder", "encoder",
                              lambda: solution_cells("vae_tarea")["encoder"]),
    "own_noise_encoder": (("vae_clase",), "test_encoder", "encoder", OWN_NOISE_ENCODER),
    "conv_inside_custom_layer": (VAE_ASSIGNMENTS, "test_encoder", "encoder", CONV_LAYER_ENCODER),
    "conv_inside_nested_model": (VAE_ASSIGNMENTS, "test_encoder", "encoder", NESTED_MODEL_ENCODER),
    "subclassed_encoder": (VAE_ASSIGNMENTS, "test_encoder", "encoder", SUBCLASSED_ENCODER),
    "separable_conv_encoder": (("vae_tarea",), "test_encoder", "encoder", lambda: _tarea_encoder("SeparableConv2D")),
    "keras_io_train_step": (VAE_ASSIGNMENTS, "test_vae_model", "vae_model", KERAS_IO_TRAIN_STEP),
    "train_step_on_x_x_tuples": (VAE_ASSIGNMENTS, "test_vae_model", "vae_model",
                                 lambda: solution_cells("vae_clase")["vae_model"].replace(
                                     "        with tf.GradientTape() as tape:",
                                     "        data, _ = data\n        with tf.GradientTape() as tape:", 1)),
    "compute_loss_vae": (VAE_ASSIGNMENTS, "test_vae_model", "vae_model", COMPUTE_LOSS_VAE),
    "samples_keras_random_seed": (VAE_ASSIGNMENTS, "test_sample_images", "sample_images",
                                  _sample_images("z = keras.random.normal((n, latent_dim), seed=seed)")),
    "samples_random_state": (VAE_ASSIGNMENTS, "test_sample_images", "sample_images",
                             _sample_images('z = np.random.RandomState(seed).normal(size=(n, latent_dim))'
                                            '.astype("float32")')),
    "samples_tf_random_set_seed": (VAE_ASSIGNMENTS, "test_sample_images", "sample_images",
                                   _sample_images("tf.random.set_seed(seed)\n"
                                                  "    z = tf.random.normal((n, latent_dim))")),
    "samples_tf_stateless": (VAE_ASSIGNMENTS, "test_sample_images", "sample_images",
                             _sample_images("z = tf.random.stateless_normal((n, latent_dim), "
                                            "seed=[0 if seed is None else seed, 0])")),
    "interpolate_eager_encoder_call": (VAE_ASSIGNMENTS, "test_interpolate", "interpolate", EAGER_INTERPOLATE),
    # the conditional VAE: the label may enter at a hidden layer, through a learned embedding of its one-hot, and
    # the codes may come from another generator
    "cond_encoder_label_at_hidden_layer": (("vae_condicional",), "test_cond_encoder", "cond_encoder",
                                           lambda: _cvae("cond_encoder", (
                                               'h = layers.Concatenate()([layers.Flatten()(image), label])\n'
                                               '    h = layers.Dense(512, activation="relu")(h)',
                                               'h = layers.Dense(512, activation="relu")(layers.Flatten()(image))\n'
                                               '    h = layers.Concatenate()([h, label])'))),
    "cond_decoder_label_embedding": (("vae_condicional",), "test_cond_decoder", "cond_decoder",
                                     lambda: _cvae("cond_decoder", (
                                         "h = layers.Concatenate()([z, label])",
                                         "h = layers.Concatenate()([z, layers.Dense(16, use_bias=False)(label)])"))),
    "cvae_train_step_indexes_data": (("vae_condicional",), "test_cvae_model", "cvae_model",
                                     lambda: _cvae("cvae_model", ("x, y = data", "x, y = data[0], data[1]"))),
    "sample_class_to_categorical": (("vae_condicional",), "test_sample_class", "sample_class",
                                    lambda: _cvae("sample_class", (
                                        'np.eye(num_classes, dtype="float32")[[class_id] * n]',
                                        "keras.utils.to_categorical(np.full(n, class_id), num_classes)"),
                                        ('rng.standard_normal((n, latent_dim)).astype("float32")',
                                         "np.random.RandomState(seed).normal(size=(n, latent_dim))"))),
}
ALT_CASES = [(name, a) for name, spec in ALTERNATIVES.items() for a in spec[0]]


@pytest.mark.parametrize("name,assignment", ALT_CASES, ids=[f"{n}-{a}" for n, a in ALT_CASES])
def test_correct_alternative_gets_full_marks(name, assignment):
    _, grade_id, cell, code = ALTERNATIVES[name]
    cells = {**solution_cells(assignment), cell: code() if callable(code) else code}
    ns = namespace(assignment, cells)
    parts = (grade_id,) + ALSO_MEETS.get(cell, ())
    for gid in parts:
        verdict = judge_part(gid, ns, assignment)
        assert verdict.score == verdict.points, verdict.report()


def test_tf_random_normal_with_an_op_seed_does_not_fix_the_samples():
    """``tf.random.normal(shape, seed=seed)`` in eager mode gives new numbers on every call (TensorFlow's op seeds
    only fix the sequence from the global seed on): the judge says so, as the notebook's visible test does."""
    cells = {**solution_cells("vae_clase"),
             "sample_images": _sample_images("z = tf.random.normal((n, latent_dim), seed=seed)")}
    verdict = judge_part("test_sample_images", namespace("vae_clase", cells), "vae_clase")
    assert [o.label for o in verdict.failures] == ["la semilla fija las muestras"], verdict.report()
    assert failed_with(verdict, "con la misma semilla"), verdict.report()


# ----------------------------------------------------------------------------------------------------------------
# every sub-check can fail, for the bug it names
# Bugs beyond the catalogue, for the sub-checks no canonical mistake reaches:
# name -> (assignments, cell, find, replace, grade_id, fragment of the diagnosis)
BOTH, TAREA, CVAE = VAE_ASSIGNMENTS, ("vae_tarea",), ("vae_condicional",)
BUGS = {
    "sampling_sums_latent": (BOTH, "sampling", "return z_mean + ops.exp(0.5 * z_log_var) * eps",
                             "return ops.sum(z_mean + ops.exp(0.5 * z_log_var) * eps, axis=-1, keepdims=True)",
                             "test_sampling", "z tiene forma"),
    "sampling_stop_gradient": (BOTH, "sampling", "ops.exp(0.5 * z_log_var)",
                               "ops.exp(0.5 * ops.stop_gradient(z_log_var))", "test_sampling", "gradiente"),
    "kl_without_one": (BOTH, "kl_divergence", "1.0 + z_log_var", "z_log_var", "test_kl_divergence",
                       "término constante (+1)"),
    "encoder_returns_outputs": (BOTH, "encoder", 'return keras.Model(inputs, [z_mean, z_log_var, z], '
                                'name="encoder")', "return [z_mean, z_log_var, z]", "test_encoder",
                                "no devuelve un keras.Model"),
    "encoder_sampling_of_mean_twice": (BOTH, "encoder", "Sampling()([z_mean, z_log_var])",
                                       "Sampling()([z_mean, z_mean])", "test_encoder",
                                       "no aplicada a (z_mean, z_log_var)"),
    "tarea_dense_encoder": (TAREA, "encoder",
                            'h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)\n'
                            '    h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)',
                            "h = inputs", "test_encoder", "debe ser convolucional"),
    "decoder_returns_outputs": (TAREA, "decoder", 'return keras.Model(z, outputs, name="decoder")',
                                "return outputs", "test_decoder", "no devuelve un keras.Model"),
    "decoder_upsampling": (TAREA, "decoder", 'h = layers.Conv2DTranspose(64, 3, strides=2, padding="same", '
                           'activation="relu")(h)\n    h = layers.Conv2DTranspose(32, 3, strides=2, padding="same", '
                           'activation="relu")(h)\n    outputs = layers.Conv2DTranspose(',
                           'h = layers.UpSampling2D()(h)\n    h = layers.Conv2D(64, 3, padding="same", '
                           'activation="relu")(h)\n    h = layers.UpSampling2D()(h)\n    h = layers.Conv2D(32, 3, '
                           'padding="same", activation="relu")(h)\n    outputs = layers.Conv2D(',
                           "test_decoder", "convoluciones transpuestas"),
    "train_step_returns_loss_only": (BOTH, "vae_model", "return {m.name: m.result() for m in self.metrics}",
                                     'return {"loss": self.total_loss_tracker.result()}', "test_vae_model",
                                     "faltan"),
    "train_step_gradient_ascent": (BOTH, "vae_model", "zip(grads, self.trainable_weights)",
                                   "zip([-g for g in grads], self.trainable_weights)", "test_vae_model",
                                   "no baja"),
    "samples_as_tensor": (BOTH, "sample_images", "return decoder.predict(z, verbose=0)",
                          "return decoder(z)", "test_sample_images", "array de NumPy"),
    "encoder_stop_gradient_log_var": (BOTH, "encoder", "Sampling()([z_mean, z_log_var])",
                                      "Sampling()([z_mean, ops.stop_gradient(z_log_var)])", "test_encoder",
                                      "el gradiente no llega a z_log_var"),
    # the conditional VAE
    "cond_encoder_returns_outputs": (CVAE, "cond_encoder", 'return keras.Model([image, label], [z_mean, z_log_var, z], '
                                     'name="cond_encoder")', "return [z_mean, z_log_var, z]", "test_cond_encoder",
                                     "no devuelve un keras.Model"),
    "cond_encoder_fixed_latent": (CVAE, "cond_encoder", 'z_mean = layers.Dense(latent_dim, name="z_mean")(h)',
                                  'z_mean = layers.Dense(8, name="z_mean")(h)', "test_cond_encoder",
                                  "ignora su argumento latent_dim"),
    "cond_encoder_stop_gradient_mean": (CVAE, "cond_encoder", "Sampling()([z_mean, z_log_var])",
                                        "Sampling()([ops.stop_gradient(z_mean), z_log_var])", "test_cond_encoder",
                                        "el gradiente no llega a z_mean"),
    "cond_encoder_relu_log_var": (CVAE, "cond_encoder", 'layers.Dense(latent_dim, name="z_log_var")',
                                  'layers.Dense(latent_dim, activation="relu", name="z_log_var")',
                                  "test_cond_encoder", "nunca es negativo"),
    "cond_encoder_integer_label": (CVAE, "cond_encoder", 'label = keras.Input(shape=(num_classes,), name="label")',
                                   'label = keras.Input(shape=(1,), name="label")', "test_cond_encoder",
                                   "entra como un entero"),
    "cond_decoder_returns_outputs": (CVAE, "cond_decoder", 'return keras.Model([z, label], outputs, '
                                     'name="cond_decoder")', "return outputs", "test_cond_decoder",
                                     "no devuelve un keras.Model"),
    "cond_decoder_fixed_latent": (CVAE, "cond_decoder", "z = keras.Input(shape=(latent_dim,)",
                                  "z = keras.Input(shape=(8,)", "test_cond_decoder", "ignora su argumento latent_dim"),
    "cond_decoder_no_sigmoid": (CVAE, "cond_decoder", 'activation="sigmoid"', "activation=None",
                                "test_cond_decoder", "sin activación"),
    "cond_decoder_softmax_pixels": (CVAE, "cond_decoder", 'activation="sigmoid"', 'activation="softmax"',
                                    "test_cond_decoder", "suman 1"),
    "cvae_returns_loss_only": (CVAE, "cvae_model", "return {m.name: m.result() for m in self.metrics}",
                               'return {"loss": self.total_loss_tracker.result()}', "test_cvae_model", "faltan"),
    "cvae_decoder_weights_only": (CVAE, "cvae_model", "grads = tape.gradient(total_loss, self.trainable_weights)\n"
                                  "        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))",
                                  "grads = tape.gradient(total_loss, self.decoder.trainable_weights)\n"
                                  "        self.optimizer.apply_gradients(zip(grads, self.decoder.trainable_weights))",
                                  "test_cvae_model", "no cambian tras un paso"),
    "cvae_gradient_ascent": (CVAE, "cvae_model", "zip(grads, self.trainable_weights)",
                             "zip([-g for g in grads], self.trainable_weights)", "test_cvae_model", "no baja"),
    "sample_class_as_tensor": (CVAE, "sample_class", "return decoder.predict([z, y], verbose=0)",
                               "return decoder([z, y])", "test_sample_class", "array de NumPy"),
    "sample_class_fixed_latent": (CVAE, "sample_class", "rng.standard_normal((n, latent_dim))",
                                  "rng.standard_normal((n, 8))", "test_sample_class", "tamaño latente fijo"),
    "sample_class_seed_ignored": (CVAE, "sample_class", "np.random.default_rng(seed)", "np.random.default_rng()",
                                  "test_sample_class", "con la misma semilla"),
}
BUG_CASES = [(name, a) for name, spec in BUGS.items() for a in spec[0]]


@functools.lru_cache(maxsize=None)
def bug_verdict(bug: str, assignment: str):
    _, cell, find, replace, grade_id, _ = BUGS[bug]
    code = solution_cells(assignment)[cell]
    assert code.count(find) == 1, (bug, assignment)
    cells = {**solution_cells(assignment), cell: code.replace(find, replace)}
    return judge_part(grade_id, namespace(assignment, cells), assignment)


@pytest.mark.parametrize("bug,assignment", BUG_CASES, ids=[f"{b}-{a}" for b, a in BUG_CASES])
def test_bug_fails_the_subcheck_that_names_it(bug, assignment):
    verdict = bug_verdict(bug, assignment)
    assert verdict.score < verdict.points and failed_with(verdict, BUGS[bug][5]), verdict.report()


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_every_subcheck_fails_for_some_bug(assignment):
    """No sub-check that cannot fail: the catalogue's mistakes and the bugs above make each one fail."""
    failed: dict[str, set[str]] = {gid: set() for gid in graded_points(assignment)}
    for mistake in mk.for_assignment(assignment):
        verdict = mistake_verdicts(mistake.id, assignment)[mistake.check_grade_id]
        failed[mistake.check_grade_id] |= {o.label for o in verdict.failures}
    for bug, a in BUG_CASES:
        if a == assignment:
            failed[BUGS[bug][4]] |= {o.label for o in bug_verdict(bug, a).failures}
    for gid, verdict in solution_verdicts(assignment).items():
        never = [o.label for o in verdict.outcomes if o.label not in failed[gid]]
        assert not never, f"{assignment}/{gid}: no bug makes these fail: {never}"
