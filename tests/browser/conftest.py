"""Fixtures for the browser tests: one JupyterLab server and one Chromium for the whole session, one tab (and one
JupyterLab workspace) per test. Screenshots go to test-output/browser/.

The kernels run the notebooks in their quick mode (VAEKIT_QUICK=1: short training), as nbgrader's Validate does.

When Chromium, Playwright or JupyterLab is missing the tests FAIL saying what to install; they are skipped only
when VAEKIT_SKIP_BROWSER=1 is set on purpose.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from labdriver import LabServer, StudentLab, missing_requirements

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-output" / "browser"


def _require_browser_stack() -> None:
    if os.environ.get("VAEKIT_SKIP_BROWSER") == "1":
        pytest.skip("VAEKIT_SKIP_BROWSER=1: browser tests skipped on request")
    missing = missing_requirements()
    if missing:
        pytest.fail("The JupyterLab browser tests cannot start; missing:\n  - " + "\n  - ".join(missing),
                    pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory) -> Path:
    """The folder JupyterLab serves; holds a copy of the course's nbgrader_config.py (Validate reads the server's
    working directory). Tests copy notebooks in: Validate saves the notebook, the repository's copy stays put."""
    _require_browser_stack()
    root = tmp_path_factory.mktemp("lab") / "served"
    root.mkdir()
    config = (REPO_ROOT / "nbgrader_config.py").read_text()
    # A kernel can take over nbclient's default 60 s to start on a busy 2-core machine; that is not a student error.
    config += "\n# browser tests only\nc.Execute.startup_timeout = 300\n"
    (root / "nbgrader_config.py").write_text(config)
    return root


QUICK_ENV = {"VAEKIT_QUICK": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def kernel_env() -> dict:
    """The environment of the server, hence of the student's kernel and of nbgrader validate's kernel."""
    env = dict(os.environ)
    env.setdefault("VAE_DATA_DIR", str(REPO_ROOT.parent / "shared" / "data"))
    env.update(QUICK_ENV)
    return env


@pytest.fixture(scope="session")
def lab_server(lab_root):
    server = LabServer(root=lab_root, env=kernel_env())
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"JupyterLab did not start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium(lab_root, chromium_browser):  # lab_root first: it fails with what to install when something is missing
    return chromium_browser


@pytest.fixture
def student(chromium, lab_server, request):
    """A fresh tab in its own JupyterLab workspace (JupyterLab would otherwise reopen the previous test's tabs)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    workspace = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-").lower()
    lab = StudentLab(page, lab_server, workspace, SCREENSHOT_DIR)
    yield lab
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        try:
            lab.screenshot(f"FAILED-{lab.workspace}")
        except Exception:  # noqa: BLE001 — best effort, the test already failed
            pass
    context.close()
    lab_server.shutdown_kernels()


@pytest.fixture
def lab_tab(chromium, request):
    """A factory for tabs on any server (issue 12: the student's and the instructor's JupyterLab):
    ``lab_tab(server, name)`` opens a fresh browser context on ``server`` in its own workspace ``name``. Every tab
    is closed at the end (with a FAILED-<name>.png screenshot when the test failed)."""
    opened = []

    def make(server, name: str) -> StudentLab:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        lab = StudentLab(page, server, re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower(), SCREENSHOT_DIR)
        opened.append((context, lab))
        return lab

    yield make
    failed = getattr(request.node, "rep_call", None)
    for context, lab in opened:
        if failed is not None and failed.failed:
            try:
                lab.screenshot(f"FAILED-{lab.workspace}")
            except Exception:  # noqa: BLE001 — best effort, the test already failed
                pass
        context.close()


@pytest.fixture(scope="session")
def lab_env() -> dict:
    """The environment for another JupyterLab server (its kernels see the same as the session server's)."""
    return kernel_env()
