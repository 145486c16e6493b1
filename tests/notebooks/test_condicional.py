"""The third assignment, the conditional VAE, end to end: its committed examples (the correct one, the blank
release, each canonical mistake, the broken ones) graded once through `vaekit grade` (a real Dask LocalCluster of
2 workers, bubblewrap-sandboxed kernels, nbgrader, the judge), and two of them again through plain
`nbgrader autograde` in another course, which must give the same grades.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import judge
from autograder.authoring import examples as ex_mod
from autograder.authoring import mistakes
from autograder.course import new_course
from autograder.notebooks import REPO_ROOT, cells_by_grade_id
from autograder.results import Status, load_results

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ASSIGNMENT = "vae_condicional"
LIMIT_ARGS = ["--cell-timeout", "60", "--timeout", "420", "--memory-gb", "4"]
SOLUTION_WEIGHTS = REPO_ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.weights.h5"
WITH_WEIGHTS = "alu_con_pesos"


def examples():
    return {e.case: e for e in ex_mod.load_manifest(REPO_ROOT / "examples") if e.assignment == ASSIGNMENT}


def copy_examples(course, chosen):
    for e in chosen.values():
        shutil.copytree(REPO_ROOT / "examples" / "submitted" / e.student / ASSIGNMENT,
                        course.submitted / e.student / ASSIGNMENT, symlinks=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course, {case: GradeResult}, {case: Example}) after `vaekit grade` of every example, 2 workers."""
    course = new_course(tmp_path_factory.mktemp("curso"), (ASSIGNMENT,))
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force")
    chosen = examples()
    copy_examples(course, chosen)
    # a correct student who submits the weights of the full 20-epoch run beside the notebook
    with_weights = course.submitted / WITH_WEIGHTS / ASSIGNMENT
    shutil.copytree(REPO_ROOT / "examples" / "submitted" / chosen["correcta"].student / ASSIGNMENT, with_weights)
    shutil.copy(SOLUTION_WEIGHTS, with_weights / SOLUTION_WEIGHTS.name)
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(course.root), "grade", ASSIGNMENT,
                          "--workers", "2", *LIMIT_ARGS], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    by_student = load_results(course.results, ASSIGNMENT)
    results = {case: by_student[e.student] for case, e in chosen.items()}
    results[WITH_WEIGHTS] = by_student[WITH_WEIGHTS]
    return course, results, chosen


def automatic(result):
    """grade_id -> (score, max) for the automatically graded cells."""
    return {g: tuple(v) for g, v in result.grades.items() if g not in result.manual}


def cell_text(course, student, grade_id):
    nb = nbformat.read(str(course.autograded_notebook(student, ASSIGNMENT)), as_version=4)
    cell = cells_by_grade_id(nb)[grade_id]
    return "\n".join([o.get("text", "") + o.get("evalue", "") + "".join(o.get("traceback", []))
                      for o in cell.get("outputs", [])])


def test_examples_cover_the_assignment():
    """Correct, blank, one broken case, and every canonical mistake of the assignment's catalogue."""
    chosen = examples()
    assert {"correcta", "en_blanco", "error_sintaxis", "kernel_muerto"} <= set(chosen)
    assert {m.id for m in mistakes.for_assignment(ASSIGNMENT)} <= set(chosen)
    assert {m.check_grade_id for m in mistakes.for_assignment(ASSIGNMENT)} == \
        set(judge.ASSIGNMENTS[ASSIGNMENT].grade_ids)


def test_solution_full_marks_blank_zero_and_the_measured_note(graded):
    course, results, chosen = graded
    correct = automatic(results["correcta"])
    assert set(correct) == set(judge.ASSIGNMENTS[ASSIGNMENT].grade_ids)
    assert all(s == m for s, m in correct.values()) and results["correcta"].status == Status.OK, correct
    assert all(s == 0 for s, _ in automatic(results["en_blanco"]).values())
    # grading does not train: without the full run's weights the trained model is not measured, and the note says so
    note = cell_text(course, chosen["correcta"].student, "test_sample_class")
    assert "no se mide, porque al calificar no se entrena" in note and "asigna a la clase pedida" not in note, note


@pytest.mark.parametrize("mistake_id", [m.id for m in mistakes.for_assignment(ASSIGNMENT)])
def test_canonical_mistake_loses_points_on_its_part_only(graded, mistake_id):
    course, results, chosen = graded
    mistake = mistakes.by_id(mistake_id)
    got, full = automatic(results[mistake_id]), automatic(results["correcta"])
    score, max_score = got[mistake.check_grade_id]
    assert score < max_score
    assert mistake.message_fragment in cell_text(course, chosen[mistake_id].student, mistake.check_grade_id)
    assert {g: v for g, v in got.items() if g != mistake.check_grade_id} == \
        {g: v for g, v in full.items() if g != mistake.check_grade_id}


def test_broken_submissions(graded):
    course, results, chosen = graded
    killed = results["kernel_muerto"]
    assert killed.status == Status.NEUTRALISED and automatic(killed) == automatic(results["correcta"])
    syntax = automatic(results["error_sintaxis"])
    assert syntax["test_cond_encoder"][0] == 0
    assert "SyntaxError" in cell_text(course, chosen["error_sintaxis"].student, "cond_encoder")


def test_submitted_full_run_weights_are_loaded_and_measured(graded):
    """The full run's weights beside the notebook are loaded instead of retraining; the judge's note on the trained
    model says so and measures its conditional accuracy (the committed solution's table: 76.7 % on 100 per class)."""
    course, results, _ = graded
    assert automatic(results[WITH_WEIGHTS]) == automatic(results["correcta"])
    note = cell_text(course, WITH_WEIGHTS, "test_sample_class")
    found = re.search(r"pesos del entrenamiento completo entregados; informativo, no puntúa\): el clasificador de "
                      r"referencia asigna a la clase pedida el (\d+)%", note)
    assert found and int(found.group(1)) >= 60, note


def test_plain_nbgrader_autograde_gives_the_same_grades(graded, tmp_path):
    """`nbgrader autograde` in a course root (no vaekit) grades through the course's pipeline: same grades (the
    filled and blank release go through plain nbgrader in test_notebooks.py)."""
    _, results, chosen = graded
    cases = ("wrong_class_index",)
    plain = new_course(tmp_path / "plano", (ASSIGNMENT,))
    plain.nbgrader("generate_assignment", ASSIGNMENT, "--force")
    copy_examples(plain, {case: chosen[case] for case in cases})
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT,
                          "--SandboxedExecute.timeout=60"], cwd=plain.root, env=plain.env(), capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    with plain.gradebook() as gb:
        for case in cases:
            sub = gb.find_submission(ASSIGNMENT, chosen[case].student)
            grades = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades
                      if not g.needs_manual_grade}
            assert grades == automatic(results[case]), case
