"""The TA workflow end to end on a real assignment: `vaekit grade` (a real Dask LocalCluster of 2 workers),
nbgrader, bubblewrap-sandboxed kernels, TensorFlow, the judge.

One scratch course is graded once per module with the committed example submissions: the correct one, the
blank release, a canonical mistake, every broken case and every hostile case. The tests then read the gradebook,
the autograded notebooks, the results, the feedback pages, the CSV export and the report.
"""
from __future__ import annotations

import csv
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile

import nbformat
import pytest
from pathlib import Path

from autograder.authoring import examples as ex_mod
from autograder.authoring import mistakes
from autograder.course import new_course
from autograder.feedback import generate_feedback, hidden_test_lines, page_text
from autograder.grade.coordinator import grade
from autograder.notebooks import REPO_ROOT, cells_by_grade_id, release_path
from autograder.authoring.release import leaks, secret_lines
from autograder.report import CSV_COLUMNS, export_grades, write_report
from autograder.results import Status, load_results

# the module's one batch (every example but one mistake per part, about 50 submissions on 2 workers) is graded in
# the first test's setup: more than pytest-timeout's 900 s default on a busy 2-core machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

ASSIGNMENT = "vae_clase"
# one canonical mistake per graded part goes through real nbgrader here (all of them are judged in test_judge.py)
MISTAKES = tuple({m.check_grade_id: m.id for m in reversed(mistakes.for_assignment(ASSIGNMENT))}.values())
GRADE_OUTPUT: dict[str, str] = {}  # what `vaekit grade` printed (progress, summary table)
LIMIT_ARGS = ["--cell-timeout", "40", "--timeout", "420", "--memory-gb", "4"]
SENTINEL = Path("/tmp/vaekit-centinela.txt")  # the host file a hostile kernel links its notebook to
TA_SECRET = "secreto-del-profesor-7f3a"
# the workers' scratch courses (solutions, a gradebook) and the kernels' private folders
SCRATCH_PREFIXES = ("vaekit-worker-", "vaekit-run-", "vaekit-work-", "vaekit-probes-", "vaekit-evidence-",
                    "vaekit-kernel-")


def manifest():
    return {e.case: e for e in ex_mod.load_manifest(REPO_ROOT / "examples") if e.assignment == ASSIGNMENT}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course, {case: GradeResult}, {case: Example}) after `vaekit grade` of the chosen examples, 2 workers."""
    course = new_course(tmp_path_factory.mktemp("curso"), (ASSIGNMENT,))
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force")
    chosen = {case: e for case, e in manifest().items()
              if e.kind in ("correct", "blank", "broken", "hostile", "leaves") or case in MISTAKES}
    for e in chosen.values():
        shutil.copytree(REPO_ROOT / "examples" / "submitted" / e.student / ASSIGNMENT,
                        course.submitted / e.student / ASSIGNMENT, symlinks=True)
    for e in chosen.values():
        ex_mod.make_special_files(course.submitted / e.student / ASSIGNMENT)
    SENTINEL.write_text("centinela intacto\n")
    SENTINEL.chmod(0o640)
    scratch_before = set(Path(tempfile.gettempdir()).glob("vaekit-*"))
    env = {**os.environ, "VAEKIT_TEST_SECRET": TA_SECRET}  # in the TA's environment (/proc/self/environ)
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(course.root), "grade", ASSIGNMENT,
                          "--workers", "2", *LIMIT_ARGS], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    by_student = load_results(course.results, ASSIGNMENT)
    GRADE_OUTPUT["stdout"] = run.stdout
    GRADE_OUTPUT["scratch_left"] = sorted(str(p) for p in set(Path(tempfile.gettempdir()).glob("vaekit-*"))
                                          - scratch_before if p.name.startswith(SCRATCH_PREFIXES))
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
    for path in sorted(ours.rglob("*")):
        committed = theirs / path.relative_to(ours)
        if path.is_symlink():  # an example's planted link (kind "leaves"): the same link, never followed
            assert committed.is_symlink() and os.readlink(committed) == os.readlink(path), f"{committed} desactualizado"
        elif path.is_file():
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
    assert "database is locked" not in GRADE_OUTPUT["stdout"]


def test_solution_full_marks_and_blank_zero(graded):
    _, results, _ = graded
    correct = automatic(results["correcta"])
    assert correct and all(s == m for s, m in correct.values()), correct
    assert results["correcta"].status == Status.OK and results["correcta"].sandbox
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
    # every other part keeps its full marks: each part is judged on its own
    assert {g: v for g, v in got.items() if g != mistake.check_grade_id} == \
        {g: v for g, v in full.items() if g != mistake.check_grade_id}


@pytest.mark.parametrize("case", ["kernel_muerto", "memoria", "bucle_sin_interrupcion"])
def test_killed_kernel_is_neutralised_and_the_rest_graded(graded, case):
    _, results, _ = graded
    r = results[case]
    assert r.status == Status.NEUTRALISED and r.runs == 2
    assert automatic(r) == automatic(results["correcta"])
    expected = {"memoria": "límite de memoria", "bucle_sin_interrupcion": "no respondió a la interrupción"}.get(
        case, "terminó el kernel")
    assert expected in r.message and "se neutralizó" in r.message


@pytest.mark.parametrize("case", ["bucle_infinito", "sys_exit", "celda_borrada"])
def test_harmless_breakage_keeps_full_marks(graded, case):
    _, results, _ = graded
    assert automatic(results[case]) == automatic(results["correcta"])


def test_syntax_error_zeroes_the_kl_and_an_edited_grade_cell_earns_only_its_code(graded):
    course, results, chosen = graded
    score, max_score = automatic(results["error_sintaxis"])[ex_mod.KL_TEST]
    assert score == 0 < max_score
    assert "SyntaxError" in cell_text(course, chosen["error_sintaxis"].student, "kl_divergence")
    # the grade cell that claimed full marks is restored by nbgrader: the flipped KL scores what it earns
    edited = automatic(results["celda_editada"])[ex_mod.KL_TEST]
    assert edited == automatic(results["kl_sign_flipped"])[ex_mod.KL_TEST] and edited[0] < edited[1]


def test_corrupt_json_gets_zero_with_a_spanish_message(graded):
    course, results, chosen = graded
    r = results["json_corrupto"]
    assert r.status == Status.ZERO and r.score == 0 and "JSON" in r.message
    original = (REPO_ROOT / "examples" / "submitted" / chosen["json_corrupto"].student / ASSIGNMENT
                / f"{ASSIGNMENT}.ipynb").read_text()
    staged_by_student = course.submitted_notebook(chosen["json_corrupto"].student, ASSIGNMENT).read_text()
    assert staged_by_student == original  # the student's file is never modified


def test_regrading_gives_identical_scores(graded):
    course, results, chosen = graded
    student = chosen["kl_sign_flipped"].student
    again = grade(course, ASSIGNMENT, limits=course.limits(cell_timeout=40, submission_timeout=420), workers=1,
                  students=[student], force=True)
    assert again[0].grades == results["kl_sign_flipped"].grades
    assert again[0].verdicts == results["kl_sign_flipped"].verdicts


RECORDED_SCORES = REPO_ROOT / "tests" / "recorded_scores.json"  # rewritten with VAEKIT_RECORD_SCORES=1


def test_every_example_keeps_its_recorded_scores(graded):
    """Changes to the grading path (issue 21's cost cuts) change no score: each example's status, total and every
    grade cell's score equal the ones recorded in tests/recorded_scores.json (rounded to 1e-6)."""
    course, results, chosen = graded
    now = {r.student: {"status": r.status.value, "score": round(r.score, 6),
                       "grades": {g: [round(v, 6) for v in pair] for g, pair in sorted(r.grades.items())}}
           for r in results.values()}
    if os.environ.get("VAEKIT_RECORD_SCORES") == "1":
        RECORDED_SCORES.write_text(json.dumps(now, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    recorded = json.loads(RECORDED_SCORES.read_text(encoding="utf-8"))
    assert sorted(now) == sorted(recorded)
    changed = {s: (recorded[s], now[s]) for s in now if now[s] != recorded[s]}
    assert not changed, changed


def test_feedback_shows_diagnoses_and_images_never_hidden_tests(graded):
    course, results, chosen = graded
    pages = generate_feedback(course, ASSIGNMENT)
    assert len(pages) == len(chosen)
    hidden = hidden_test_lines(course, ASSIGNMENT)  # the judge runs outside: hidden blocks hold only a comment
    for page in pages:
        text = page_text(page.read_text(encoding="utf-8"))
        assert not [h for h in hidden if h in text] and "HIDDEN TESTS" not in text, page
        assert "vaekit_kernel_side" not in text and "def collect_" not in text, page  # nor the judge's probes
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
    from autograder.authoring.release import ReleaseRefused, release

    course = new_course(tmp_path / "curso", ("vae_clase",))
    source_path = course.root / "source" / "vae_clase" / "vae_clase.ipynb"
    source = nbformat.read(str(source_path), as_version=4)
    secret = secret_lines(source)[0]
    source.cells.insert(1, nbformat.v4.new_markdown_cell(f"Pista: `{secret}`\n\n{secret}"))
    nbformat.write(source, str(source_path))
    with pytest.raises(ReleaseRefused, match="publicación rechazada"):
        release(course, "vae_clase", workers=1)
    assert not course.release_notebook("vae_clase").exists()


# hostile submissions -------------------------------------------------------------------------------------
HOSTILE = tuple(ex_mod.HOSTILE)


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_submission_is_contained_and_flagged(graded, case):
    course, results, chosen = graded
    r = results[case]
    assert automatic(r) == automatic(results["correcta"]), case  # its correct code earns exactly its points
    assert r.sandbox
    expected = chosen[case].expect_message
    assert any(expected in flag for flag in r.flags), (case, r.flags)
    assert "revisar a mano" in GRADE_OUTPUT["stdout"] or r.flags


def test_no_hostile_write_landed_and_every_other_grade_is_intact(graded):
    course, results, chosen = graded
    import keras

    import autograder

    assert not list(course.root.rglob("planted*")) and not list(__import__("pathlib").Path(keras.__file__).parent.glob("planted*"))
    assert not (__import__("pathlib").Path(autograder.__file__).parent / "checks").exists()
    assert (course.root / "nbgrader_config.py").read_text() == (REPO_ROOT / "nbgrader_config.py").read_text()
    with course.gradebook() as gb:
        for case, e in chosen.items():
            assert gb.find_submission(ASSIGNMENT, e.student).score == pytest.approx(results[case].score)


def test_tricks_score_no_more_than_the_same_wrong_code(graded):
    _, results, _ = graded
    tricks, plain = automatic(results["trampas"]), automatic(results["kl_sign_flipped"])
    assert tricks[ex_mod.KL_TEST] == plain[ex_mod.KL_TEST] and tricks[ex_mod.KL_TEST][0] < tricks[ex_mod.KL_TEST][1]
    assert results["trampas"].score <= results["kl_sign_flipped"].score
    flags = " ".join(results["trampas"].flags)
    for what in ("redefine «checks»", "sys.modules", "showtraceback", "vae_lib", "np.allclose"):
        assert what in flags, (what, flags)


def test_feedback_of_a_reader_shows_no_solution_and_no_classmate(graded):
    course, results, chosen = graded
    student = chosen["hostil_lee_soluciones"].student
    generate_feedback(course, ASSIGNMENT, [student])
    page = page_text(course.feedback_html(student, ASSIGNMENT).read_text(encoding="utf-8"))
    for marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", '"cell_type"', '"grade_id"'):
        assert marker not in page, marker
    assert not [e.student for c, e in chosen.items() if c != "hostil_lee_soluciones" and e.student in page]


def test_plain_nbgrader_autograde_runs_the_same_sandbox_and_judge(graded, tmp_path):
    """`nbgrader autograde` in the course root (no vaekit) grades through the course's pipeline."""
    course, results, chosen = graded
    plain = new_course(tmp_path / "plano", (ASSIGNMENT,))
    plain.nbgrader("generate_assignment", ASSIGNMENT, "--force")
    cases = ("correcta", "hostil_libro_de_notas", "hostil_escribe_curso",  # tricks: test_notebooks.py
             "hostil_cuaderno_enlace", "hostil_cuaderno_tuberia")
    for case in cases:
        shutil.copytree(REPO_ROOT / "examples" / "submitted" / chosen[case].student / ASSIGNMENT,
                        plain.submitted / chosen[case].student / ASSIGNMENT)
    mode = SENTINEL.stat().st_mode
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--SandboxedExecute.timeout=60"],
                         cwd=plain.root, env=plain.env(), capture_output=True, text=True, timeout=900)
    assert SENTINEL.read_text() == "centinela intacto\n" and SENTINEL.stat().st_mode == mode
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    with plain.gradebook() as gb:
        for case in cases:
            sub = gb.find_submission(ASSIGNMENT, chosen[case].student)
            grades = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades
                      if not g.needs_manual_grade}
            assert grades == automatic(results[case]), case
    assert (plain.root / "nbgrader_config.py").read_text() == (REPO_ROOT / "nbgrader_config.py").read_text()
    assert not list(plain.root.rglob("planted*"))


# what a submission leaves behind (links, swapped files, huge or hostile output, memory in files) --------------
def leaves_folder(course, chosen, case):
    return course.autograded / chosen[case].student / ASSIGNMENT


def test_links_and_special_files_are_refused_never_read_and_flagged(graded):
    course, results, chosen = graded
    r = results["hostil_enlaces"]
    assert automatic(r) == automatic(results["correcta"])
    flags = " ".join(r.flags)
    for name in ("solucion.ipynb", "libro.db", "companero.ipynb", "entorno", "memoria", "tuberia"):
        assert name in flags, (name, flags)
    assert sorted(p.name for p in leaves_folder(course, chosen, "hostil_enlaces").iterdir()) == [f"{ASSIGNMENT}.ipynb"]


def test_no_link_target_or_ta_secret_reaches_autograded_or_feedback(graded):
    course, results, chosen = graded
    generate_feedback(course, ASSIGNMENT, [chosen["hostil_enlaces"].student])
    solution = secret_lines(nbformat.read(str(course.root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
                                          as_version=4))
    for folder in (course.autograded, course.feedback):
        for path in folder.rglob("*"):
            if path.is_symlink():
                raise AssertionError(f"a link in {path}")
            if path.is_file():
                data = path.read_bytes()
                assert TA_SECRET.encode() not in data and b"SQLite format 3" not in data, path
    enlaces = leaves_folder(course, chosen, "hostil_enlaces") / f"{ASSIGNMENT}.ipynb"
    text = "\n".join(str(o) for c in nbformat.read(str(enlaces), as_version=4).cells for o in c.get("outputs", []))
    assert "### BEGIN SOLUTION" not in text and not [line for line in solution if line in text and len(line) > 30]


def test_a_kernel_that_swaps_its_notebook_changes_no_host_file(graded):
    course, results, chosen = graded
    assert SENTINEL.read_text() == "centinela intacto\n" and stat_mode(SENTINEL) == 0o640
    for case in ("hostil_cuaderno_enlace", "hostil_cuaderno_tuberia"):
        assert automatic(results[case]) == automatic(results["correcta"]), case
        nb = course.autograded_notebook(chosen[case].student, ASSIGNMENT)
        assert not nb.is_symlink() and nb.is_file() and nbformat.read(str(nb), as_version=4).cells
    with course.gradebook() as gb:  # the workers' scratch gradebooks were never the kernel's: all rows intact
        assert {s.student.id for s in gb.assignment_submissions(ASSIGNMENT)} == {e.student for e in chosen.values()}


def stat_mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_evidence_attacks_cost_only_their_parts(graded):
    course, results, chosen = graded
    correct = automatic(results["correcta"])
    pipe = automatic(results["hostil_tuberia_evidencia"])
    assert all(pipe[g][0] <= correct[g][0] for g in correct) and results["hostil_tuberia_evidencia"].score <= \
        results["correcta"].score
    huge = results["hostil_evidencia_enorme"]
    assert automatic(huge)["test_sample_images"][0] == 0
    assert {g: v for g, v in automatic(huge).items() if g != "test_sample_images"} == \
        {g: v for g, v in correct.items() if g != "test_sample_images"}
    assert "demasiado grande" in json.dumps(huge.verdicts["test_sample_images"], ensure_ascii=False)


def test_long_text_and_printed_markers_stay_bounded_and_on_their_own_page(graded):
    course, results, chosen = graded
    pages = generate_feedback(course, ASSIGNMENT)  # the whole class at once: one bad notebook fails nobody
    assert len(pages) == len(chosen)
    for case in ("hostil_textos_largos", "hostil_marcas_ocultas", "hostil_cuaderno_extra", "celda_duplicada"):
        student = chosen[case].student
        page = course.feedback_html(student, ASSIGNMENT)
        assert page.stat().st_size < 6_000_000, case
        assert "<!-- vaekit-banner -->" in page.read_text(encoding="utf-8") or "vaekit" in page.read_text(), case
        result_json = course.work / "results" / ASSIGNMENT / f"{student}.json"
        assert result_json.stat().st_size < 300_000, case
        assert course.autograded_notebook(student, ASSIGNMENT).stat().st_size < 6_000_000, case
    assert automatic(results["celda_duplicada"]) == automatic(results["correcta"])
    assert any("duplicada" in f for f in results["celda_duplicada"].flags)
    assert not (leaves_folder(course, chosen, "hostil_cuaderno_extra") / "borrador.ipynb").exists()


def test_memory_in_files_is_stopped_by_the_cgroup_or_the_tmpfs_size(graded):
    course, results, chosen = graded
    from autograder.grade.cgroup import unavailable_reason

    memfd = results["hostil_memfd"]
    assert automatic(memfd) == automatic(results["correcta"])  # the filler cell neutralised, the rest graded
    if unavailable_reason() is None:
        assert memfd.status == Status.NEUTRALISED and "archivos en memoria" in memfd.message, memfd.message
        assert memfd.limits["cgroup"] and "memory" in memfd.limits["cgroup"]
    tmpfs = results["hostil_tmpfs"]  # the sandbox's /tmp is 1 GiB: the write fails, nothing else does
    assert automatic(tmpfs) == automatic(results["correcta"])
    assert results["correcta"].limits["tmp_mb"] == 1024 and results["correcta"].limits["file_mb"] == 1024


def test_active_html_is_flagged(graded):
    course, results, chosen = graded
    r = results["hostil_html"]
    assert automatic(r) == automatic(results["correcta"])
    assert any("contenido activo" in f for f in r.flags), r.flags


def test_no_scratch_course_or_kernel_folder_outlives_the_batch(graded):
    assert GRADE_OUTPUT["scratch_left"] == []


# issue 19: the judge's figures and the part table on the feedback page; the TA's pages; accessibility -----------
FIGURED = {"samples_from_encoded_data": "test_sample_images", "interpolation_pixel_blend": "test_interpolate",
           "kl_sign_flipped": "test_kl_divergence"}


def same_drawing(a, b) -> bool:
    """Two panels show the same drawing: under 3 % of pixels differ visibly at the best ±1 px alignment (the two
    axes sit at different sub-pixel offsets, so anti-aliased edges and resampled rows may move by a pixel)."""
    import numpy as np

    h, w = a.shape[0] - 2, a.shape[1] - 2
    best = min((np.abs(a[1:1 + h, 1:1 + w] - b[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]).max(axis=-1) > 40).mean()
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    return best < 0.03


def figure_panels(figure: dict):
    """The student's and the reference's panels of a figure, cropped from its decoded PNG (same size)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(figure["png"]))).convert("RGB")).astype(int)
    (a0, a1, a2, a3), (b0, b1, b2, b3) = figure["panels"]
    w, h = min(a2 - a0, b2 - b0) - 6, min(a3 - a1, b3 - b1) - 6  # inside the frame lines
    return (image[a1 + 3:a1 + 3 + h, a0 + 3:a0 + 3 + w].astype(int),
            image[b1 + 3:b1 + 3 + h, b0 + 3:b0 + 3 + w].astype(int))


def page_images(page: str) -> dict[str, str]:
    """base64 PNG -> alt text of every data: image on a page."""
    import html
    import re

    found = {}
    for tag in re.findall(r"<img\b[^>]*>", page):
        src = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', tag)
        alt = re.search(r'alt="([^"]*)"', tag)
        if src:
            found[src.group(1)] = html.unescape(alt.group(1)) if alt else None
    return found


def test_feedback_shows_the_judges_figures_next_to_the_reference(graded):
    import numpy as np

    course, results, chosen = graded
    students = [chosen[c].student for c in ("correcta", *FIGURED)]
    generate_feedback(course, ASSIGNMENT, students)
    for case, grade_id in FIGURED.items():
        page = course.feedback_html(chosen[case].student, ASSIGNMENT).read_text(encoding="utf-8")
        images = page_images(page)
        figures = results[case].verdicts[grade_id]["figures"]
        assert figures, case
        for figure in figures:
            assert images.get(figure["png"]) == figure["alt"], case  # on the page, with its Spanish alt text
            assert 1_000 < len(figure["png"]) * 3 // 4 < 16_000  # a small PNG
            assert figure["matches"] is False
            mine, reference = figure_panels(figure)
            assert np.abs(mine - reference).mean() > 2.0, case  # the student's panel is not the reference's
    correct = course.feedback_html(chosen["correcta"].student, ASSIGNMENT).read_text(encoding="utf-8")
    shown = page_images(correct)
    for grade_id in ("test_sampling", "test_kl_divergence", "test_sample_images", "test_interpolate"):
        for figure in results["correcta"].verdicts[grade_id]["figures"]:
            assert figure["png"] in shown and figure["matches"] is True, grade_id
    for grade_id in ("test_kl_divergence", "test_interpolate"):  # computed the same way: pixel for pixel
        mine, reference = figure_panels(results["correcta"].verdicts[grade_id]["figures"][0])
        assert same_drawing(mine, reference), grade_id  # computed as the reference is
    # no figure carries solution code or hidden-test text: only alt texts made by the judge
    hidden = hidden_test_lines(course, ASSIGNMENT)
    assert not [h for h in hidden for alt in shown.values() if h in alt]


def test_feedback_part_table_one_rounding_and_pending_written_answers(graded):
    import re

    from autograder.feedback_page import points

    course, results, chosen = graded
    student = chosen["kl_sign_flipped"].student
    generate_feedback(course, ASSIGNMENT, [student])
    page = course.feedback_html(student, ASSIGNMENT).read_text(encoding="utf-8")
    assert '<html lang="es">' in page and "<!-- vaekit-report -->" in page and "Content-Security-Policy" in page
    assert "Test cell" not in page and "Score:" not in page  # nbgrader's list is replaced by the part table
    assert "vaekit-banner" not in page  # rendered by the template, not spliced in
    report = page[page.index('id="resumen"'):page.index('id="cuaderno"')]
    result = results["kl_sign_flipped"]
    for grade_id, (score, max_score) in result.grades.items():
        shown = f"— / {points(max_score)}" if grade_id in result.manual else f"{points(score)} / {points(max_score)}"
        assert shown in report, (grade_id, shown)
        head = re.search(rf'id="{grade_id}">.*?</div>', page, flags=re.S)
        assert head and shown in head.group(0), grade_id  # the cell's heading says the same
    assert result.manual and report.count("pendiente de calificar a mano") >= len(result.manual)
    assert f"<strong>{points(result.score)} / {points(result.max_score)} puntos</strong>" in report
    for number in re.findall(r"\d+\.\d+ / \d", page_text(report)):
        assert len(number.split(" / ")[0].split(".")[1]) <= 3, number


def test_the_report_page_links_the_similarity_report(graded):
    from autograder.similarity import write_similarity

    course, results, chosen = graded
    generate_feedback(course, ASSIGNMENT, [chosen[c].student for c in ("correcta", "kl_sign_flipped")])
    similarity, found = write_similarity(course, ASSIGNMENT)
    png, md = write_report(course, ASSIGNMENT)
    page = (md.parent / "informe.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in page and "href='similitud.html'" in page and "(similitud.html)" in md.read_text()
    assert 'alt="Histograma de notas de' in page and "data:image/png;base64," in page
    assert found.reference_group and chosen["correcta"].student in found.reference_group.members
    for case in ("correcta", "kl_sign_flipped"):
        assert f"feedback/{chosen[case].student}/{ASSIGNMENT}/{ASSIGNMENT}.html" in page


@pytest.mark.browser
def test_feedback_and_report_pages_pass_axe_core(graded):
    """axe-core in headless Chromium: no serious or critical violation (WCAG 2.1 A/AA rules and best practices) on
    feedback pages (a full-marks and a wrong one, desktop and phone), the report and the similarity report."""
    import pagecheck

    if os.environ.get("VAEKIT_SKIP_BROWSER") == "1":
        pytest.skip("VAEKIT_SKIP_BROWSER=1")
    if pagecheck.missing():
        pytest.fail("; ".join(pagecheck.missing()), pytrace=False)
    from autograder.similarity import write_similarity

    course, results, chosen = graded
    generate_feedback(course, ASSIGNMENT, [chosen[c].student for c in ("correcta", "kl_sign_flipped")])
    write_similarity(course, ASSIGNMENT)
    _, md = write_report(course, ASSIGNMENT)
    out = REPO_ROOT / "test-output" / "pages"
    pages = [(course.feedback_html(chosen["kl_sign_flipped"].student, ASSIGNMENT), out / "feedback-kl_sign_flipped.png"),
             (course.feedback_html(chosen["correcta"].student, ASSIGNMENT), out / "feedback-correcta.png"),
             (md.parent / "informe.html", out / "informe.png"), (md.parent / "similitud.html", out / "similitud.png")]
    found = pagecheck.check_pages(pages)
    phone = pagecheck.check_pages([(pages[0][0], out / "feedback-kl_sign_flipped-movil.png")], phone=True)
    for (path, _), violations in zip(pages + pages[:1], found + phone):
        assert not pagecheck.serious(violations), (path.name, pagecheck.serious(violations))
    assert all(shot.exists() for _, shot in pages)
