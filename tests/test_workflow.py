"""The TA workflow end to end on a real assignment: nbgrader, real kernels, TensorFlow, 2 workers.

One scratch course is graded once per session (module fixture) with the committed example submissions:
the correct one, the blank release, canonical mistakes and every broken case. The tests then read the
gradebook, the autograded notebooks, the feedback pages, the CSV export and the report.
"""
from __future__ import annotations

import csv
import filecmp
import json
import shutil

import nbformat
import pytest

from autograder import examples as ex_mod
from autograder import mistakes
from autograder.course import new_course
from autograder.feedback import generate_feedback, hidden_test_lines, page_text
from autograder.grading import Grader, Limits
from autograder.notebooks import REPO_ROOT, cells_by_grade_id, release_path
from autograder.release import leaks, secret_lines
from autograder.report import CSV_COLUMNS, export_grades, write_report

pytestmark = pytest.mark.slow

ASSIGNMENT = "vae_clase"
MISTAKES = ("kl_sign_flipped",)
LIMITS = Limits(cell_timeout=60, submission_timeout=420, memory_gb=4.0)


def manifest():
    return {e.case: e for e in ex_mod.load_manifest(REPO_ROOT / "examples") if e.assignment == ASSIGNMENT}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course, {case: GradeResult}, {case: Example}) after grading the chosen examples with 2 workers."""
    course = new_course(tmp_path_factory.mktemp("curso"), (ASSIGNMENT,))
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force")
    chosen = {case: e for case, e in manifest().items()
              if e.kind in ("correct", "blank", "broken") or case in MISTAKES}
    for e in chosen.values():
        shutil.copytree(REPO_ROOT / "examples" / "submitted" / e.student / ASSIGNMENT,
                        course.submitted / e.student / ASSIGNMENT)
    results = Grader(course, ASSIGNMENT, workers=2, limits=LIMITS).grade_all()
    by_student = {r.student: r for r in results}
    return course, {case: by_student[e.student] for case, e in chosen.items()}, chosen


def automatic(result):
    """grade_id -> (score, max) for the automatically graded cells."""
    return {g: tuple(v) for g, v in result.grades.items() if g not in result.manual}


def cell_text(course, student, grade_id):
    nb = nbformat.read(str(course.autograded_notebook(student, ASSIGNMENT)), as_version=4)
    cell = cells_by_grade_id(nb)[grade_id]
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.extend(out.get("traceback", []))
        parts.append(out.get("evalue", ""))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------------
def test_committed_examples_are_up_to_date(tmp_path):
    ex_mod.write_examples(tmp_path, root=REPO_ROOT)
    ours, theirs = tmp_path / "submitted", REPO_ROOT / "examples" / "submitted"
    assert (tmp_path / "manifest.json").read_text() == (REPO_ROOT / "examples" / "manifest.json").read_text()
    for path in sorted(ours.rglob("*.ipynb")):
        committed = theirs / path.relative_to(ours)
        assert committed.exists() and filecmp.cmp(path, committed, shallow=False), f"{committed} desactualizado"
    assert len(list(ours.rglob("*.ipynb"))) == len(list(theirs.rglob("*.ipynb")))


def test_release_has_no_solutions_or_hidden_tests():
    for a in ("vae_clase", "vae_tarea"):
        if not release_path(a).exists():
            continue
        source = nbformat.read(str(REPO_ROOT / "source" / a / f"{a}.ipynb"), as_version=4)
        release = nbformat.read(str(release_path(a)), as_version=4)
        assert leaks(source, release) == []
        # the detector does see a planted solution line
        planted = secret_lines(source)[0]
        release.cells.append(nbformat.v4.new_code_cell("    " + planted))
        assert leaks(source, release) == [planted]


def test_every_submission_has_a_gradebook_row_and_a_result(graded):
    course, results, chosen = graded
    assert len(results) >= 8
    with course.gradebook() as gb:
        rows = {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert rows == {e.student for e in chosen.values()}
    logs = "".join(p.read_text(errors="replace") for p in (course.work / "runs").rglob("autograde-*.log"))
    assert "database is locked" not in logs


def test_solution_full_marks_and_blank_zero(graded):
    _, results, _ = graded
    correct = automatic(results["correcta"])
    assert correct and all(s == m for s, m in correct.values()), correct
    assert results["correcta"].status == "ok"
    assert all(s == 0 for s, _ in automatic(results["en_blanco"]).values())
    assert results["en_blanco"].score == 0


@pytest.mark.parametrize("mistake_id", MISTAKES)
def test_canonical_mistake_loses_points_on_its_check_with_its_message(graded, mistake_id):
    course, results, chosen = graded
    mistake = mistakes.by_id(mistake_id)
    got = automatic(results[mistake_id])
    full = automatic(results["correcta"])
    score, max_score = got[mistake.check_grade_id]
    assert score < max_score
    assert mistake.message_fragment in cell_text(course, chosen[mistake_id].student, mistake.check_grade_id)
    assert results[mistake_id].score < results["correcta"].score
    assert sum(s for s, _ in got.values()) >= sum(s for s, _ in full.values()) - 2 * max_score


@pytest.mark.parametrize("case", ["kernel_muerto", "memoria"])
def test_killed_kernel_is_neutralised_and_the_rest_graded(graded, case):
    _, results, _ = graded
    r = results[case]
    assert r.status == "neutralised" and r.runs == 2
    assert automatic(r) == automatic(results["correcta"])
    expected = "límite de memoria" if case == "memoria" else "terminó el kernel"
    assert expected in r.message and "se neutralizó" in r.message


@pytest.mark.parametrize("case", ["bucle_infinito", "sys_exit", "celda_borrada"])
def test_harmless_breakage_keeps_full_marks(graded, case):
    _, results, _ = graded
    assert automatic(results[case]) == automatic(results["correcta"])


def test_syntax_error_and_edited_grade_cell_lose_the_kl_points(graded):
    course, results, chosen = graded
    for case in ("error_sintaxis", "celda_editada"):
        score, max_score = automatic(results[case])[ex_mod.KL_TEST]
        assert score == 0 < max_score, case
    assert "SyntaxError" in cell_text(course, chosen["error_sintaxis"].student, "kl_divergence")


def test_corrupt_json_gets_zero_with_a_spanish_message(graded):
    course, results, chosen = graded
    r = results["json_corrupto"]
    assert r.status == "zero" and r.score == 0 and "JSON" in r.message
    original = (REPO_ROOT / "examples" / "submitted" / chosen["json_corrupto"].student / ASSIGNMENT
                / f"{ASSIGNMENT}.ipynb").read_text()
    staged_by_student = course.submitted_notebook(chosen["json_corrupto"].student, ASSIGNMENT).read_text()
    assert staged_by_student == original  # the student's file is never modified


def test_regrading_gives_identical_scores(graded):
    course, results, chosen = graded
    again = Grader(course, ASSIGNMENT, workers=1, limits=LIMITS).grade_submission(chosen["kl_sign_flipped"].student)
    assert again.grades == results["kl_sign_flipped"].grades


def test_feedback_shows_diagnoses_and_images_never_hidden_tests(graded):
    course, results, chosen = graded
    pages = generate_feedback(course, ASSIGNMENT)
    assert len(pages) == len(chosen)
    hidden = hidden_test_lines(course, ASSIGNMENT)
    assert hidden, "the assignment has hidden tests"
    for page in pages:
        text = page_text(page.read_text(encoding="utf-8"))
        assert not [h for h in hidden if h in text] and "HIDDEN TESTS" not in text, page
        assert "vaekit" in text
    correct = course.feedback_html(chosen["correcta"].student, ASSIGNMENT).read_text(encoding="utf-8")
    assert correct.count("data:image/png;base64") >= 2  # the student's own sample grid and interpolation strip
    wrong = course.feedback_html(chosen["kl_sign_flipped"].student, ASSIGNMENT).read_text(encoding="utf-8")
    assert mistakes.by_id("kl_sign_flipped").message_fragment in page_text(wrong)
    killed = course.feedback_html(chosen["kernel_muerto"].student, ASSIGNMENT).read_text(encoding="utf-8")
    assert "se neutralizó" in killed


def test_export_csv_and_report(graded):
    course, results, chosen = graded
    path = export_grades(course)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == CSV_COLUMNS
    assert {r["student_id"] for r in rows if r["assignment"] == ASSIGNMENT} == {e.student for e in chosen.values()}
    png, md = write_report(course, ASSIGNMENT)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = md.read_text(encoding="utf-8")
    for grade_id in results["correcta"].grades:
        assert f"| {grade_id} |" in text
    assert json.loads((course.work / "results" / ASSIGNMENT / f"{chosen['correcta'].student}.json").read_text())


def test_release_is_refused_when_the_student_version_leaks_a_solution(tmp_path):
    from autograder.release import ReleaseRefused, release

    course = new_course(tmp_path / "curso", ("vae_clase",))
    source_path = course.root / "source" / "vae_clase" / "vae_clase.ipynb"
    source = nbformat.read(str(source_path), as_version=4)
    secret = secret_lines(source)[0]
    source.cells.insert(1, nbformat.v4.new_markdown_cell(f"Pista: `{secret}`\n\n{secret}"))
    nbformat.write(source, str(source_path))
    with pytest.raises(ReleaseRefused, match="publicación rechazada"):
        release(course, "vae_clase", workers=1)
    assert not course.release_notebook("vae_clase").exists()
