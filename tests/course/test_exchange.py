"""nbgrader's exchange through the ``vaekit`` command line (issue 12), no browser.

The slow loop, on vae_clase, with the exchange set in the course's nbgrader_config.py (``c.Exchange.root``):
``vaekit release`` publishes (``nbgrader release_assignment``) → two students, each in their own folder with their
own nbgrader_config.py, run the real ``nbgrader fetch_assignment`` / ``submit`` (one fills in the solutions, one
submits the release untouched) → ``vaekit collect`` → ``vaekit grade --cell-timeout 60`` → a manual score and comment
on the written answer ``respuesta_beta`` through nbgrader's Gradebook API → ``vaekit export`` / ``vaekit report``
include the points → ``vaekit feedback --release`` → each student's ``nbgrader fetch_feedback`` finds their page,
with the comment and the manual points.

Fast ones: a release refused for a leak publishes nothing; the exchange folder's permissions; ``vaekit collect``
without an exchange; a re-submission collected again drops the stale result (so ``vaekit grade`` re-grades it)
and a submission owned by another Unix user than its student id is reported; the demo's in-process round.

Every student here is this same Unix user with its own ``c.CourseDirectory.student_id`` and nbgrader cache (the
browser test, tests/browser/test_course_loop.py, runs the student as a separate Unix user where it can).
"""
from __future__ import annotations

import csv
import shutil
import stat
import time
from pathlib import Path

import nbformat
import pytest

from autograder import cli, exchange as ex, notebooks
from autograder.course import new_course
from autograder.errors import VaekitError
from autograder.authoring.release import secret_lines

A = "vae_clase"
COMMENT = "Buena intuición sobre β; falta nombrar el colapso del posterior."
MANUAL_SCORE = 1.5


def vaekit(capsys, *args) -> tuple[int, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A scratch course with vae_clase generated (no release checks: the fast tests need only the release)."""
    course = new_course(tmp_path_factory.mktemp("exchange") / "curso", (A,))
    course.nbgrader("generate_assignment", A, "--force")
    return course


# fast ---------------------------------------------------------------------------------------------------------------
def test_exchange_folder_is_created_1777_and_an_unwritable_one_refused(tmp_path):
    made = ex.prepare_root(tmp_path / "nuevo" / "exchange")
    assert stat.S_IMODE(made.stat().st_mode) == 0o1777
    closed = tmp_path / "cerrado"
    closed.mkdir(mode=0o755)
    closed.chmod(0o755)
    with pytest.raises(VaekitError, match="chmod 1777"):
        ex.prepare_root(closed)


def test_release_refused_for_a_leak_publishes_nothing(tmp_path, capsys):
    course = new_course(tmp_path / "curso", (A,))
    source_path = notebooks.source_path(A, course.root)
    source = nbformat.read(str(source_path), as_version=4)
    secret = secret_lines(source)[0]
    source.cells.insert(1, nbformat.v4.new_markdown_cell(f"Pista:\n\n{secret}"))
    nbformat.write(source, str(source_path))
    exchange = tmp_path / "exchange"
    code, out = vaekit(capsys, "--course", course.root, "release", A, "--exchange", exchange, "--workers", "1")
    assert code == 1 and "publicación rechazada" in out
    assert not (exchange / course.course_id).exists()
    assert "publicada en el intercambio" not in out


def test_collect_without_an_exchange_says_how_to_set_one(generated, capsys):
    code, out = vaekit(capsys, "--course", generated.root, "collect", A)
    assert code == 1
    assert "c.Exchange.root" in out and "--exchange" in out


def test_resubmission_is_collected_again_and_its_stale_result_dropped(generated, tmp_path, capsys, caplog):
    course, exchange = generated, tmp_path / "exchange"
    code, out = vaekit(capsys, "--course", course.root, "collect", A, "--exchange", exchange)
    assert code == 1 and "nada que recoger" in out  # not published yet
    ex.publish(course, A, exchange)
    me = ex.StudentFolder.create(tmp_path / "alu_rehace", exchange, course.course_id, student_id="alu_rehace")
    me.fetch(A)
    me.submit(A)
    code, out = vaekit(capsys, "--course", course.root, "collect", A, "--exchange", exchange)
    assert code == 0, out
    assert "1 entregas nuevas" in out and "+ alu_rehace" in out
    # this process (root) owns the files of a submission that claims to be alu_rehace's: nbgrader's check, surfaced
    assert "⚠ revisar" in out and "claims to be submitted by alu_rehace but is owned by" in out
    # nbgrader's own log (collect runs in this process) stays in vaekit's message: not the process's log (console)
    assert not [r for r in caplog.records if "claims to be submitted" in r.getMessage()]
    stale = course.results / A / "alu_rehace.json"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("{}")
    time.sleep(0.01)
    me.submit(A)
    code, out = vaekit(capsys, "--course", course.root, "collect", A, "--exchange", exchange)
    assert code == 0 and "1 actualizadas" in out and "↻ alu_rehace" in out
    assert not stale.exists(), "a result of the replaced submission would keep `vaekit grade` from re-grading it"
    code, out = vaekit(capsys, "--course", course.root, "collect", A, "--exchange", exchange)
    assert code == 0 and "1 sin cambios" in out and "Siguiente paso" not in out


def test_demo_round_in_process(generated, tmp_path):
    """`vaekit demo --exchange`: example students fetch, put their work in place and submit; then collect."""
    course = new_course(tmp_path / "demo", (A,))
    shutil.copytree(generated.root / "release", course.root / "release")
    shutil.copy(generated.root / "gradebook.db", course.root / "gradebook.db")
    examples = tmp_path / "ejemplos"
    filled = notebooks.filled_release(A, course.root)
    notebooks.write(filled, examples / "alu_a" / A / f"{A}.ipynb")
    (examples / "alu_b" / A).mkdir(parents=True)
    (examples / "alu_b" / A / f"{A}.ipynb").write_text("{ no es json")  # corrupt: still submitted and collected
    start = time.monotonic()
    root, got = ex.demo_round(course, A, examples)
    seconds = time.monotonic() - start
    assert root == course.root / "exchange"
    assert got.new == ["alu_a", "alu_b"] and got.owner_warnings == []
    for student in ("alu_a", "alu_b"):
        folder = course.submitted / student / A
        assert {p.name for p in folder.iterdir()} == {f"{A}.ipynb", *ex.SUBMISSION_FILES}
        assert (folder / f"{A}.ipynb").read_bytes() == (examples / student / A / f"{A}.ipynb").read_bytes()
    print(f"demo round, 2 students: {seconds:.1f} s")


# slow: the whole loop -----------------------------------------------------------------------------------------------
def set_exchange(course, exchange: Path) -> None:
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\n# the course's nbgrader exchange (tests/course/test_exchange.py)\nc.Exchange.root = {str(exchange)!r}\n")
    course.__dict__.pop("config", None)  # re-read


def manual_grade(course, student: str, grade_id: str, score: float, comment: str) -> None:
    """What the TA does in Formgrader, through nbgrader's Gradebook API."""
    with course.gradebook() as gb:
        grade = gb.find_grade(grade_id, A, A, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gb.find_comment(grade_id, A, A, student).manual_comment = comment
        gb.db.commit()


@pytest.mark.slow
def test_exchange_loop_through_the_cli(tmp_path, capsys):
    timings = {}

    def step(name, start):
        timings[name] = time.monotonic() - start

    exchange = tmp_path / "exchange"
    course = new_course(tmp_path / "curso", (A,))
    set_exchange(course, exchange)
    assert ex.configured_root(course) == exchange

    t = time.monotonic()
    code, out = vaekit(capsys, "--course", course.root, "release", A, "--cell-timeout", "60")
    step("vaekit release (checks + release_assignment)", t)
    assert code == 0, out
    assert "publicada en el intercambio" in out
    published = exchange / course.course_id / "outbound" / A / f"{A}.ipynb"
    assert published.read_bytes() == course.release_notebook(A).read_bytes()
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777

    # students: the real nbgrader commands, each with their own nbgrader_config.py
    t = time.monotonic()
    students = {}
    for sid in ("alu_correcta", "alu_en_blanco"):
        me = ex.StudentFolder.create(tmp_path / "alumnos" / sid, exchange, course.course_id, student_id=sid)
        assert f"{course.course_id} {A}" in me.nbgrader("list").stdout
        me.nbgrader("fetch_assignment", A)
        assert (me.assignment(A) / f"{A}.ipynb").exists()
        if sid == "alu_correcta":
            notebooks.write(notebooks.filled_release(A, course.root), me.assignment(A) / f"{A}.ipynb")
        assert "Submitted as" in me.nbgrader("submit", A).stdout
        students[sid] = me
    step("2 students: nbgrader list + fetch_assignment + submit", t)

    t = time.monotonic()
    code, out = vaekit(capsys, "--course", course.root, "collect", A)
    step("vaekit collect", t)
    assert code == 0, out
    assert "2 entregas nuevas" in out and "+ alu_correcta" in out and "+ alu_en_blanco" in out
    assert course.students(A) == ["alu_correcta", "alu_en_blanco"]

    t = time.monotonic()
    code, out = vaekit(capsys, "--course", course.root, "grade", A, "--cell-timeout", "60")
    step("vaekit grade (2 submissions)", t)
    assert code == 0, out
    with course.gradebook() as gb:
        auto_correct = gb.find_submission(A, "alu_correcta").score
        beta = gb.find_grade("respuesta_beta", A, A, "alu_correcta")
        assert beta.needs_manual_grade and beta.max_score == 2
        colapso_max = gb.find_grade("respuesta_colapso", A, A, "alu_correcta").max_score
        assert gb.find_submission(A, "alu_en_blanco").score == 0

    manual_grade(course, "alu_correcta", "respuesta_beta", MANUAL_SCORE, COMMENT)
    manual_grade(course, "alu_correcta", "respuesta_colapso", colapso_max, "Correcto.")
    expected = auto_correct + MANUAL_SCORE + colapso_max

    t = time.monotonic()
    code, out = vaekit(capsys, "--course", course.root, "export", "--to", tmp_path / "notas.csv")
    assert code == 0, out
    rows = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "notas.csv", encoding="utf-8"))}
    assert float(rows["alu_correcta"]["score"]) == pytest.approx(expected)
    assert float(rows["alu_en_blanco"]["score"]) == 0
    code, out = vaekit(capsys, "--course", course.root, "report", A)
    step("vaekit export + report", t)
    assert code == 0, out
    assert f"media {expected / 2:.2f}" in out
    # respuesta_beta: one partial (1.5 / 2), one zero (the untouched release), none left to grade by hand
    assert "| respuesta_beta | 2 | 0 | 1 | 1 | 0 % | 0.75 | 0 |" in out

    t = time.monotonic()
    code, out = vaekit(capsys, "--course", course.root, "feedback", A, "--release")
    step("vaekit feedback --release", t)
    assert code == 0, out
    assert "2 páginas devueltas por el intercambio" in out

    t = time.monotonic()
    for sid, me in students.items():
        assert "Fetched feedback" in me.nbgrader("fetch_feedback", A).stdout
        pages = me.feedback_pages(A)
        assert len(pages) == 1, pages
        page = pages[0].read_text(encoding="utf-8")
        assert "<!-- vaekit-report -->" in page  # the page's report (autograder/templates/vaekit_feedback)
        if sid == "alu_correcta":
            from autograder.feedback_page import points

            assert COMMENT in page
            assert f"<strong>{points(expected)} / " in page  # the report's total includes the manual points
        assert (pages[0].read_bytes() == course.feedback_html(sid, A).read_bytes())
    step("2 students: nbgrader fetch_feedback", t)
    print("\n".join(f"{v:6.1f} s  {k}" for k, v in timings.items()))
