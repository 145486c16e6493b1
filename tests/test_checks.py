"""The grading checks against the real solution code of the source notebooks and each canonical mistake.

The student parts are exec'd in-process from ``source/<A>/<A>.ipynb`` (with the notebook's imports), then graded
by ``autograder.checks`` exactly as the grade cells do: the solution gets full marks; each mistake of
``autograder.mistakes`` loses points in its check with its Spanish message.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from autograder import mistakes as mk
from autograder import notebooks as nbs

PARTS = ("sampling", "kl_divergence", "encoder", "decoder", "vae_model", "sample_images", "interpolate")
PRELUDE = """
import numpy as np
import keras
from keras import layers, ops
import tensorflow as tf
import vae_lib
from autograder import checks
"""


def student_namespace(assignment: str, edits: dict[str, tuple[str, str]] | None = None, extra=None) -> dict:
    """Exec the (optionally edited) solution cells of `assignment` like a student's filled notebook."""
    solutions = nbs.solutions_of(assignment)
    ns = dict(extra or {})
    exec(PRELUDE, ns)
    for part in PARTS:
        if part in solutions:
            code = solutions[part]
            if edits and part in edits:
                find, replace = edits[part]
                assert code.count(find) == 1
                code = code.replace(find, replace)
            exec(compile(code, f"<{assignment}:{part}>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def data():
    import vae_lib

    x_test, y_test = vae_lib.load_dataset("mnist", split="test", limit=500)
    return x_test, y_test


@pytest.fixture(scope="module")
def short_model(data):
    """A seeded grading-mode-sized run of the reference VAE (dense, MNIST 2048 images, 1 epoch)."""
    import keras
    import vae_lib

    vae_lib.seed_everything(157)
    x, _ = vae_lib.load_dataset("mnist", limit=2048)
    encoder, decoder = vae_lib.build_dense_encoder(10, hidden=(256,)), vae_lib.build_dense_decoder(10)
    vae = vae_lib.VAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x, epochs=1, batch_size=128, verbose=0)
    return encoder, decoder


def run_check(grade_id: str, ns: dict, data, short_model) -> float:
    from autograder import checks

    encoder, decoder = short_model
    x_test, y_test = data
    x_a, x_b = x_test[int(np.flatnonzero(y_test == 1)[0])], x_test[int(np.flatnonzero(y_test == 7)[0])]
    calls = {
        "test_sampling": lambda: checks.sampling.check(ns["Sampling"], points=2),
        "test_kl_divergence": lambda: checks.kl.check(ns["kl_divergence"], points=2),
        "test_encoder": lambda: checks.encoder.check(ns["build_encoder"], points=1),
        "test_decoder": lambda: checks.decoder.check(ns["build_decoder"], points=1, latent_dim=10),
        "test_vae_model": lambda: checks.train_loop.check(ns["VAE"], points=3, dataset="mnist"),
        "test_sample_images": lambda: checks.generation.check(ns["sample_images"], encoder, decoder, 10,
                                                              dataset="mnist", trained="short", points=2),
        "test_interpolate": lambda: checks.interpolation.check(ns["interpolate"], x_a, x_b, points=2),
    }
    return calls[grade_id]()


POINTS = {"test_sampling": 2, "test_kl_divergence": 2, "test_encoder": 1, "test_decoder": 1, "test_vae_model": 3,
          "test_sample_images": 2, "test_interpolate": 2}


@pytest.mark.parametrize("grade_id", sorted(POINTS))
def test_solution_gets_full_marks(grade_id, data, short_model, capfd):
    assignment = "vae_tarea" if grade_id == "test_decoder" else "vae_clase"
    ns = student_namespace(assignment)
    score = run_check(grade_id, ns, data, short_model)
    out, err = capfd.readouterr()
    assert isinstance(score, float) and score == POINTS[grade_id], out
    assert "✔" in out and "✘" not in out
    assert err == "", "a grade cell with stderr output scores 0 in nbgrader"


@pytest.mark.parametrize("mistake", mk.MISTAKES, ids=lambda m: m.id)
def test_mistake_loses_points_with_its_message(mistake, data, short_model, capfd):
    assignment = mistake.assignments[0]
    ns = student_namespace(assignment, mistake.edits(), extra={"encoder": short_model[0], "x_test": data[0]})
    try:
        score = run_check(mistake.check_grade_id, ns, data, short_model)
    except AssertionError as err:  # 0 points: the diagnosis is raised
        score, raised = 0.0, str(err)
    else:
        raised = ""
    out, err = capfd.readouterr()
    assert score < POINTS[mistake.check_grade_id], out
    assert mistake.message_fragment in out + raised, out
    assert err == ""


@pytest.mark.parametrize("mistake", mk.MISTAKES, ids=lambda m: m.id)
def test_mistake_edits_apply_to_every_assignment(mistake):
    for assignment in mistake.assignments:
        solution = nbs.solutions_of(assignment)[mistake.grade_id]
        assert solution.count(mistake.find) == 1, (assignment, mistake.id)
        assert mistake.check_grade_id in nbs.cells_by_grade_id(nbs.read(nbs.source_path(assignment)))


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_grade_cells_award_their_metadata_points(assignment):
    """The `points=` a grade cell passes to its check equals the cell's nbgrader points (else nbgrader errors)."""
    cells = nbs.cells_by_grade_id(nbs.read(nbs.source_path(assignment)))
    tests = {gid: c for gid, c in cells.items() if c.metadata["nbgrader"].get("grade") and c.cell_type == "code"}
    assert set(tests) == {gid for gid in POINTS if gid != "test_decoder" or assignment == "vae_tarea"}
    for gid, cell in tests.items():
        passed = re.findall(r"checks\.\w+\.check\(.*?points=(\d+(?:\.\d+)?)", cell.source, re.S)
        assert passed and float(passed[-1]) == float(cell.metadata["nbgrader"]["points"]) == POINTS[gid], gid


def test_unrecognisable_samples_fail_the_full_model_check(capfd):
    """With trained="full" the reference classifier must recognise the samples: an untrained decoder fails it."""
    import vae_lib
    from autograder import checks

    ns = student_namespace("vae_tarea")
    vae_lib.seed_everything(0)
    encoder, decoder = vae_lib.build_conv_encoder(10), vae_lib.build_conv_decoder(10)
    try:
        score = checks.generation.check(ns["sample_images"], encoder, decoder, 10, dataset="fashion_mnist",
                                        trained="full", points=2)
    except AssertionError:
        score = 0.0
    out, _ = capfd.readouterr()
    assert score < 2 and "clasificador de referencia reconoce solo" in out


def test_zero_score_raises_the_spanish_diagnosis():
    from autograder import checks

    def broken(z_mean, z_log_var):
        raise NotImplementedError("Completa esta función")

    with pytest.raises(AssertionError, match="kl_divergence: 0 puntos"):
        checks.kl.check(broken, points=2)
