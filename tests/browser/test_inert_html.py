"""Student HTML is inert wherever a TA opens it (issue: "HTML the TA opens"), in a real browser.

A submission whose markdown carries ``<img onerror>``/``<script>`` and whose cells display ``HTML``/``Javascript``/
``SVG`` (example ``hostil_html``: every payload calls a listener on 127.0.0.1:8765, and tries to write a file into
the course root through the Jupyter contents API) is graded with ``vaekit grade`` beside the correct one. Then, in
headless Chromium: its feedback page (``file://``) and its Formgrader submission view, served from the TA's own
Jupyter server and opened with the TA's token, make no request to the listener and no contents-API call; nothing
appears in the course root. The correct submission's page and view still show math, figures and the part table.
Screenshots: test-output/browser/inert-*.png.
"""
from __future__ import annotations

import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest

from labdriver import LabServer

from autograder import cli
from autograder.authoring.examples import HTML_PAYLOAD_PORT
from autograder.course import new_course

pytestmark = pytest.mark.browser
A = "vae_clase"
REPO_ROOT = Path(__file__).resolve().parents[2]
INJECTOR, CORRECT = "alu70_hostil_html", "alu01_correcta"


class Listener(http.server.ThreadingHTTPServer):
    """Counts every request that reaches 127.0.0.1:HTML_PAYLOAD_PORT."""

    def __init__(self):
        self.hits: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                listener.hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_PUT = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", HTML_PAYLOAD_PORT), Handler)


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, lab_root):
    course = new_course(tmp_path_factory.mktemp("inerte") / "curso", (A,))
    course.nbgrader("generate_assignment", A, "--force")
    assert cli.submit(course, A, REPO_ROOT / "examples" / "submitted", [INJECTOR, CORRECT])
    assert cli.main(["--course", str(course.root), "grade", A, "--workers", "2", "--cell-timeout", "60"]) == 0
    assert cli.main(["--course", str(course.root), "feedback", A]) == 0
    return course


@pytest.fixture(scope="module")
def ta_server(graded_course, lab_env):
    server = LabServer(root=graded_course.root, env=lab_env)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"the TA's JupyterLab did not start: {exc}", pytrace=False)
    yield server
    server.stop()


def _open(chromium, url: str, shot: Path, settle: float = 3.0):
    """Open ``url`` in a fresh context; returns (page text, requests the page made, api calls made)."""
    context = chromium.new_context(viewport={"width": 1200, "height": 1400})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.goto(url, wait_until="load")
    time.sleep(settle)  # onerror handlers, scripts and lazy images would have fired by now
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    text = page.inner_text("body")
    counts = {"math": page.locator("math").count(), "img": page.locator("img").count()}
    context.close()
    return text, requests, counts


def test_feedback_pages_make_no_request_and_still_show_math_figures_and_table(graded_course, chromium, listener):
    out = REPO_ROOT / "test-output" / "browser"
    bad_page = graded_course.feedback_html(INJECTOR, A)
    text, requests, _ = _open(chromium, bad_page.as_uri(), out / "inert-feedback-injector.png")
    assert listener.hits == [], listener.hits
    assert not [r for r in requests if "127.0.0.1" in r or "/api/" in r], requests
    assert "Mi respuesta" in text  # the student's words are still there, inert
    good_text, _, counts = _open(chromium, graded_course.feedback_html(CORRECT, A).as_uri(),
                                 out / "inert-feedback-correct.png")
    assert counts["math"] > 0 and counts["img"] >= 2 and "diagnóstico" in good_text.lower()
    assert listener.hits == []


def test_formgrader_view_of_the_injector_runs_nothing_as_the_ta(graded_course, ta_server, chromium, listener):
    course = graded_course
    with course.gradebook() as gb:
        bad = gb.find_submission_notebook(A, A, INJECTOR).id
        good = gb.find_submission_notebook(A, A, CORRECT).id
    before = sorted(p.name for p in course.root.iterdir())
    out = REPO_ROOT / "test-output" / "browser"
    url = f"{ta_server.url}/formgrader/submissions/{{}}/?token={ta_server.token}"
    text, requests, _ = _open(chromium, url.format(bad), out / "inert-formgrader-injector.png", settle=5.0)
    assert "Mi respuesta" in text, text[:500]
    assert listener.hits == [], listener.hits
    assert not [r for r in requests if "/api/contents" in r or "127.0.0.1:%d" % HTML_PAYLOAD_PORT in r], requests
    assert sorted(p.name for p in course.root.iterdir()) == before
    assert not list(course.root.rglob("pwned*"))
    good_text, _, counts = _open(chromium, url.format(good), out / "inert-formgrader-correct.png", settle=5.0)
    assert counts["img"] >= 2 and "Comprobación" in good_text
    shutil.rmtree(course.root / "feedback", ignore_errors=True)
