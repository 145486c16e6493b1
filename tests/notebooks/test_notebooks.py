"""The course notebooks through real nbgrader: release regeneration, no leaks, autograde of filled and blank.

Runs in a temporary copy of the course (nbgrader_config.py + source/), never in the repo.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import notebooks as nbs
from autograder.authoring.examples import KL_TEST, load_manifest

pytestmark = pytest.mark.slow

REPO = nbs.REPO_ROOT
SOLUTION_WEIGHTS = REPO / "solutions" / "vae_tarea" / "vae_tarea.weights.h5"
TRICK_CASES = ("kl_sign_flipped", "trampas")
# the assignments whose examples carry the tricks (the VAE notebooks: the tricks target the KL cell)
TRICK_ASSIGNMENTS = tuple(a for a in nbs.ASSIGNMENTS
                          if {(a, c) for c in TRICK_CASES} <= {(e.assignment, e.case) for e in load_manifest(REPO / "examples")})
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", "### BEGIN SOLUTION", "### END SOLUTION")


def _env(course: Path) -> dict:
    env = dict(os.environ)
    env.pop("VAEKIT_COURSE_ROOT", None)
    env.pop("VAEKIT_DB_URL", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # alembic, jupyter
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["MPLBACKEND"] = "Agg"
    env.pop("VAEKIT_QUICK", None)
    return env


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "nbgrader"), *args]
    proc = subprocess.run(cmd, cwd=course, env=_env(course), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source", root / "source")
    for assignment in nbs.ASSIGNMENTS:
        _nbgrader(root, "generate_assignment", assignment, "--force")
    return root


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_committed_release_is_what_nbgrader_generates(course, assignment):
    regenerated = nbs.release_path(assignment, course).read_text(encoding="utf-8")
    committed = nbs.release_path(assignment, REPO).read_text(encoding="utf-8")
    assert regenerated == committed, f"release/{assignment} is stale: run `make release` and commit it"


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_release_has_no_solution_text_nor_hidden_tests(assignment):
    text = nbs.release_path(assignment, REPO).read_text(encoding="utf-8")
    for marker in HIDDEN_MARKERS:
        assert marker not in text
    release = nbs.read(nbs.release_path(assignment, REPO))
    release_code = "\n".join(c.source for c in release.cells)
    source = nbs.read(nbs.source_path(assignment, REPO))
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            inside = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            for line in (ln.strip() for ln in inside.splitlines()):
                if len(line) > 25:
                    assert line not in release_code, f"solution line leaked into release: {line!r}"
        if meta.get("grade") and "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            for line in (ln.strip() for ln in hidden.splitlines() if ln.strip()):
                assert line not in release_code, f"hidden test leaked into release: {line!r}"
    assert "vr.quiet()" in release_code and "Pruebas visibles superadas" in release_code  # the visible tests stay
    assert "vae_lib" not in release_code and "autograder" not in release_code  # students get no reference


def _grades(course: Path, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    """grade_id -> (score, max_score) of every autograded test cell of one submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in submission.grades
                if g.cell_type == "code" and g.auto_score is not None}


@pytest.fixture(scope="module")
def autograded(course):
    """Submit the filled and the blank release of both assignments and autograde them (one batch each)."""
    timings = {}
    for assignment in nbs.ASSIGNMENTS:
        filled = nbs.filled_release(assignment, course)
        nbs.write(filled, course / "submitted" / "filled" / assignment / f"{assignment}.ipynb")
        blank_dir = course / "submitted" / "blank" / assignment
        blank_dir.mkdir(parents=True)
        shutil.copy(nbs.release_path(assignment, course), blank_dir / f"{assignment}.ipynb")
        if assignment == "vae_tarea":  # a student who submits the weights of the full 30-epoch run with the notebook
            nbs.write(filled, course / "submitted" / "with_weights" / assignment / f"{assignment}.ipynb")
            shutil.copy(SOLUTION_WEIGHTS, course / "submitted" / "with_weights" / assignment / SOLUTION_WEIGHTS.name)
        for case in TRICK_CASES if assignment in TRICK_ASSIGNMENTS else ():  # a wrong KL, alone and with tricks
            example = next(e for e in load_manifest(REPO / "examples") if e.assignment == assignment and e.case == case)
            shutil.copytree(REPO / "examples" / "submitted" / example.student / assignment,
                            course / "submitted" / case / assignment)
        start = time.perf_counter()
        _nbgrader(course, "autograde", assignment, "--force")
        timings[assignment] = time.perf_counter() - start
    print("autograde wall time (2 submissions each):", {k: round(v, 1) for k, v in timings.items()})
    return course


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_filled_solution_gets_full_marks_on_every_autograded_cell(autograded, assignment):
    grades = _grades(autograded, assignment, "filled")
    assert grades, "no autograded cells were graded"
    short = {gid: score for gid, score in grades.items() if score[0] != score[1]}
    assert not short, f"filled solution lost points: {short}"


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_blank_release_scores_zero_on_each_autograded_part(autograded, assignment):
    grades = _grades(autograded, assignment, "blank")
    expected = {gid for gid, c in nbs.cells_by_grade_id(nbs.read(nbs.source_path(assignment))).items()
                if c.metadata["nbgrader"].get("grade") and c.cell_type == "code"}
    assert set(grades) == expected
    assert all(score == 0 for score, _ in grades.values()), grades
    autograded_nb = nbformat.read(str(autograded / "autograded" / "blank" / assignment / f"{assignment}.ipynb"), 4)
    errors = [c for c in autograded_nb.cells if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert errors  # the stubs raise NotImplementedError: the batch ran through them without crashing


def test_homework_graded_with_the_submitted_full_run_weights(autograded):
    """Weights saved next to the notebook are loaded instead of retraining; the judge's note on the trained model
    says so, and the reference classifier recognises most of the samples the judge draws from it."""
    grades = _grades(autograded, "vae_tarea", "with_weights")
    assert grades and all(score == max_score for score, max_score in grades.values()), grades
    nb = nbformat.read(str(autograded / "autograded" / "with_weights" / "vae_tarea" / "vae_tarea.ipynb"), 4)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Modelo: pesos del entrenamiento completo (vae_tarea.weights.h5)" in text
    note = re.search(r"modelo entrenado \(pesos del entrenamiento completo entregados; informativo, no puntúa\): "
                     r"el clasificador de referencia reconoce el (\d+)% de 100 muestras", text)
    assert note and int(note.group(1)) >= 50, text[-3000:]


@pytest.mark.parametrize("assignment", TRICK_ASSIGNMENTS)
def test_tricks_earn_no_more_than_the_same_wrong_code_through_plain_nbgrader(autograded, assignment):
    """Rebinding `checks`, swapping sys.modules, patching numpy, IPython's showtraceback and AssertionError, and
    reaching for vae_lib: the judge outside the kernel scores the KL exactly as the plain wrong KL."""
    plain, tricks = _grades(autograded, assignment, "kl_sign_flipped"), _grades(autograded, assignment, "trampas")
    assert tricks[KL_TEST] == plain[KL_TEST] and tricks[KL_TEST][0] < tricks[KL_TEST][1]
    assert sum(v[0] for v in tricks.values()) <= sum(v[0] for v in plain.values())
