"""Issue 12: the whole course loop on a course set up like a shared server, in real JupyterLabs in headless Chromium.

Setting: an exchange folder (``c.Exchange.root``), ``course_id`` = clase157-vae, the instructor's course root (this
process's user), and the student as a separate Unix user (``useradd``, JupyterLab started with ``runuser``) whose
own ``nbgrader_config.py`` (``autograder.exchange.student_config``) names the course and the exchange, and nothing of
the instructor's. This venv's python lives in root's 0700 home, so the student's JupyterLab runs the system's
Python of the same version over this venv's packages; where no such Python exists, or we are not root, the student
runs as this same user with ``c.CourseDirectory.student_id`` set. A "[course loop]" line in pytest's output says
which (``labdriver.student_identity``); ``VAEKIT_STUDENT_SAME_USER=1`` forces the same-user fallback.

1. student (their JupyterLab, *Assignments* tab): fetch vae_clase, fill it in (the filled notebook saved through
   their server), Validate from the list, Submit;
2. TA: ``vaekit collect`` → ``vaekit grade``;
3. TA: *Formgrader* in the instructor's JupyterLab (started from the course root): a manual score and a comment on the
   written answer ``respuesta_beta`` → ``vaekit export`` / ``vaekit report`` include the points →
   ``vaekit feedback --release``;
4. student: *Fetch Feedback* in the Assignments tab, "(view feedback)", open the page: the TA's comment and the total
   with the manual points are there.

Screenshots: test-output/browser/loop-{1-released,1-fetched,2-validate,3-submitted,4-formgrader,5-feedback,
5-feedback-comment}.png.
The tests depend on each other (in file order): a later one skips when an earlier step did not happen.
"""
from __future__ import annotations

import csv
import pwd
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import cli, notebooks
from autograder import exchange as ex
from autograder.course import Course, new_course
from labdriver import (AssignmentsTab, Formgrader, LabServer, StudentIdentity, UserLabServer, open_html_in_filebrowser,
                       remove_unix_user, student_identity, unix_user_exists)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

A = "vae_clase"
STUDENT = "alu_lab"
COMMENT = "Bien razonado: al subir β el KL pesa más. Falta decir qué pasa con la reconstrucción."
MANUAL_SCORE = 1.5
SUCCESS = "Success! Your notebook passes all the tests."
VALIDATE_TIMEOUT_MS = 300_000


@dataclass
class SharedCourse:
    base: Path  # world-traversable scratch folder: the exchange and the instructor's course
    exchange: Path
    course: Course
    identity: StudentIdentity
    student_root: Path  # the folder the student's JupyterLab serves (their nbgrader_config.py)
    server: UserLabServer
    steps: set = field(default_factory=set)  # what has happened so far ("submitted", "graded", "feedback")
    auto_score: float = 0.0  # the submission's points before the manual grade
    timings: dict = field(default_factory=dict)

    @property
    def student_id(self) -> str:
        return STUDENT


def say(request, text: str) -> None:
    """A line in pytest's terminal output even while output is captured."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"[course loop] {text}")


def vaekit(capsys, course: Course, *args) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--course", str(course.root), *[str(a) for a in args]])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def shared(lab_root, lab_env, request):  # lab_root: fails saying what to install when the browser stack is missing
    start = time.monotonic()
    had_user = unix_user_exists(STUDENT)
    base = Path(tempfile.mkdtemp(prefix="vaekit-loop-", dir="/tmp"))
    base.chmod(0o755)  # the student must reach the exchange inside it
    exchange = base / "exchange"
    course = new_course(base / "curso", (A,))
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\n# shared-server exchange (tests/browser/test_course_loop.py)\nc.Exchange.root = {str(exchange)!r}\n")
    course.nbgrader("generate_assignment", A, "--force")  # the release checks are tests/test_exchange.py's
    cli.cmd_publish(course, A)
    assert (exchange / course.course_id / "outbound" / A / f"{A}.ipynb").exists()

    identity = student_identity(STUDENT, base)
    say(request, identity.how)
    if identity.user:
        student_home = Path(pwd.getpwnam(identity.user).pw_dir) / f"vaekit-{base.name}"
        student_id = None  # nbgrader takes the login name, as on a real server
    else:
        student_home = base / "alumno"
        student_id = STUDENT
    served = student_home / "clase157"
    served.mkdir(parents=True)
    (served / "nbgrader_config.py").write_text(ex.student_config(exchange, course.course_id, student_id))
    server = UserLabServer(root=served, env=lab_env, user=identity.user, python=identity.python)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"the student's JupyterLab did not start: {exc}", pytrace=False)
    state = SharedCourse(base, exchange, course, identity, served, server)
    state.timings["setup (course, release_assignment, student user, student JupyterLab)"] = time.monotonic() - start
    yield state
    server.stop()
    say(request, "timings: " + "; ".join(f"{k}: {v:.0f} s" for k, v in state.timings.items()))
    shutil.rmtree(student_home, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    if not had_user and unix_user_exists(STUDENT):
        remove_unix_user(STUDENT)


@pytest.fixture(scope="module")
def instructor_server(shared, lab_env):
    """The TA's JupyterLab, started from the course root (Formgrader reads its nbgrader_config.py)."""
    server = LabServer(root=shared.course.root, env=lab_env)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"the instructor's JupyterLab did not start: {exc}", pytrace=False)
    yield server
    server.stop()


def test_student_fetches_validates_and_submits(shared, lab_tab):
    start = time.monotonic()
    lab = lab_tab(shared.server, "alumno-entrega")
    tab = AssignmentsTab(lab).open()
    released = tab.rows("released", 1)
    assert released.first.locator(".item_name").inner_text().strip() == A
    assert released.first.locator(".item_course").inner_text().strip() == shared.course.course_id
    lab.screenshot("loop-1-released")

    fetched = tab.fetch(A)
    assert A in fetched.inner_text()
    notebook = shared.student_root / A / f"{A}.ipynb"
    assert notebook.exists()
    if shared.identity.user:
        assert pwd.getpwuid(notebook.stat().st_uid).pw_name == shared.identity.user
    tab.expand_fetched(A)
    lab.page.locator(".jp-FileBrowser [data-command='filebrowser:refresh']").first.click()
    lab.page.locator(".jp-DirListing-item", has_text=A).first.wait_for()
    lab.screenshot("loop-1-fetched")

    # The student's work: every stub filled in, saved through their own server (the file is theirs).
    shared.server.put_notebook(f"{A}/{A}.ipynb", notebooks.filled_release(A, shared.course.root))
    dialog = tab.validate(A, A, VALIDATE_TIMEOUT_MS)
    lab.screenshot("loop-2-validate", dialog)
    assert SUCCESS in dialog.inner_text()
    dialog.locator("button", has_text="Ok").first.click()

    submitted = tab.submit(A)
    assert A in submitted.inner_text()
    lab.screenshot("loop-3-submitted")
    inbound = shared.exchange / shared.course.course_id / "inbound"
    entries = [p for p in inbound.iterdir() if p.name.startswith(f"{shared.student_id}+{A}+")]
    assert len(entries) == 1, sorted(p.name for p in inbound.iterdir())
    if shared.identity.user:  # written by the student's own Unix user, into a folder they cannot list
        assert pwd.getpwuid(entries[0].stat().st_uid).pw_name == shared.identity.user
        assert stat.S_IMODE(inbound.stat().st_mode) & 0o004 == 0
    shared.steps.add("submitted")
    shared.timings["1 student: fetch, validate, submit"] = time.monotonic() - start


def test_ta_collects_and_grades(shared, capsys):
    if "submitted" not in shared.steps:
        pytest.skip("the student's submission (previous test) did not happen")
    start = time.monotonic()
    course = shared.course
    code, out = vaekit(capsys, course, "collect", A)
    assert code == 0, out
    assert "1 entregas nuevas" in out and f"+ {STUDENT}" in out
    if shared.identity.user:  # the files belong to the student id they claim: nbgrader's owner check stays quiet
        assert "⚠ revisar" not in out
    code, out = vaekit(capsys, course, "grade", A, "--cell-timeout", "60")
    assert code == 0, out
    with course.gradebook() as gb:
        shared.auto_score = gb.find_submission(A, STUDENT).score
        assert gb.find_grade("respuesta_beta", A, A, STUDENT).needs_manual_grade
    shared.steps.add("graded")
    shared.timings["2 TA: collect, grade"] = time.monotonic() - start


def test_ta_grades_by_hand_in_formgrader_exports_and_returns_feedback(shared, instructor_server, lab_tab, capsys):
    if "graded" not in shared.steps:
        pytest.skip("the submission was not collected and graded (previous test)")
    start = time.monotonic()
    course, auto = shared.course, shared.auto_score
    fg = Formgrader(lab_tab(instructor_server, "ta-formgrader")).open()
    fg.open_submission(A, A)
    fg.grade("respuesta_beta", MANUAL_SCORE, COMMENT)
    fg.frame.locator("textarea#respuesta_beta-comment").scroll_into_view_if_needed()
    fg.lab.screenshot("loop-4-formgrader")
    with course.gradebook() as gb:
        grade = gb.find_grade("respuesta_beta", A, A, STUDENT)
        assert (grade.manual_score, grade.needs_manual_grade) == (MANUAL_SCORE, False)
        assert gb.find_comment("respuesta_beta", A, A, STUDENT).manual_comment == COMMENT
        assert gb.find_grade("respuesta_colapso", A, A, STUDENT).needs_manual_grade  # not graded yet

    code, out = vaekit(capsys, course, "export", "--to", shared.base / "notas.csv")
    assert code == 0, out
    rows = {r["student_id"]: r for r in csv.DictReader(open(shared.base / "notas.csv", encoding="utf-8"))}
    assert float(rows[STUDENT]["score"]) == pytest.approx(auto + MANUAL_SCORE)
    code, out = vaekit(capsys, course, "report", A)
    assert code == 0, out
    assert f"media {auto + MANUAL_SCORE:.2f}" in out
    assert f"| respuesta_beta | 2 | 0 | 1 | 0 | 0 % | {MANUAL_SCORE:.2f} | 0 |" in out
    assert "| respuesta_colapso | 2 | 0 | 0 | 0 | 0 % | 0.00 | 1 |" in out

    code, out = vaekit(capsys, course, "feedback", A, "--release")
    assert code == 0, out
    assert f"1 páginas devueltas por el intercambio (nbgrader release_feedback): {STUDENT}" in out
    shared.steps.add("feedback")
    shared.timings["3 TA: Formgrader, export, report, feedback --release"] = time.monotonic() - start


def test_student_fetches_and_opens_feedback(shared, lab_tab):
    if "feedback" not in shared.steps:
        pytest.skip("the TA's feedback (previous test) was not released")
    start = time.monotonic()
    lab = lab_tab(shared.server, "alumno-feedback")
    tab = AssignmentsTab(lab).open()
    link = tab.fetch_feedback(A)
    pages = sorted((shared.student_root / A / "feedback").glob(f"*/{A}.html"))
    assert len(pages) == 1, pages
    if shared.identity.user:
        assert pwd.getpwuid(pages[0].stat().st_uid).pw_name == shared.identity.user
    link.click()  # the file browser goes to A/feedback/<timestamp>/
    frame = open_html_in_filebrowser(lab, f"{A}.html")
    banner = frame.locator("header#resumen").first  # the page's report (autograder/templates/vaekit_feedback)
    banner.wait_for(timeout=30_000)
    frame.locator(f"text={COMMENT}").first.wait_for(timeout=30_000)
    with shared.course.gradebook() as gb:
        total = gb.find_submission(A, STUDENT).score
    from autograder.feedback_page import points

    assert f"{points(total)} / " in banner.inner_text()
    lab.screenshot("loop-5-feedback")
    lab.screenshot("loop-5-feedback-comment", frame.locator(".nbgrader_cell", has_text=COMMENT).last)  # answer + comment
    shared.timings["4 student: fetch feedback, open it"] = time.monotonic() - start

