"""A real JupyterLab 4 server (with nbgrader's extensions) and a student driving it in headless Chromium.

`LabServer` starts `jupyter lab` from the venv on loopback, serving a scratch folder that holds copies of the
notebooks (nbgrader's Validate button saves the notebook) and the course's `nbgrader_config.py`, with its own
Jupyter config/settings/runtime folders so nothing leaks in from the machine.

`StudentLab` is one browser tab in its own JupyterLab workspace: open a notebook, wait for the kernel, run cells,
read what the student sees (outputs, errors, images), press Validate, take screenshots.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from pagecheck import CHROMIUM  # Debian's package (`make browser`)

VENV_BIN = Path(sys.executable).parent


def missing_requirements() -> list[str]:
    """What this machine lacks to run the browser tests, each with the command that installs it."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian's chromium): run `make browser` (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright: run `make setup` (installs .[dev])")
    if not (VENV_BIN / "jupyter-lab").exists():
        missing.append(f"{VENV_BIN / 'jupyter-lab'} (JupyterLab): run `make setup`")
    if not (VENV_BIN.parent / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader").is_dir():
        missing.append("nbgrader's JupyterLab extension (the Validate button): run `make setup` (nbgrader==0.9.6)")
    return missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """`jupyter lab` serving ``root`` on 127.0.0.1; ``env`` is what its kernels (and nbgrader validate) see."""

    root: Path
    env: dict
    token: str = "vaekit-browser-test"
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> "LabServer":
        home = self.root.parent / "jupyter-home"
        config_dir = home / "config"
        # The "Jupyter news?" pop-up would cover the notebook; only the page config can switch it off.
        labconfig = config_dir / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        (labconfig / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
        # Every cell attached to the DOM, so the test reads all of them in notebook order.
        settings = home / "settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))

        env = dict(self.env)
        env.update({
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # nbgrader shells out to alembic
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_DATA_DIR": str(home / "data"),  # no user kernelspec shadows the venv's python3
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
        })
        # ipykernel only picks the inline backend when MPLBACKEND is unset; `make` exports Agg for the other tests.
        env.pop("MPLBACKEND", None)
        self.log_path = self.root.parent / "jupyter-lab.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "jupyter-lab"), "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", "--LabApp.news_url=None"],
            cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float):
        """Wait until the started server answers /api/status (stop it and raise with its log otherwise)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (a TensorFlow kernel holds over 1 GiB; closing the tab does not stop it)."""
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def notebook_url(self, relpath: str, workspace: str) -> str:
        return f"{self.url}/lab/workspaces/{workspace}/tree/{relpath}?token={self.token}"


@dataclass
class CellView:
    """One code cell as the student sees it: prompt ("[3]:"), output text, stderr/traceback text, and the number of
    images the browser decoded in its outputs (figures)."""

    index: int
    prompt: str
    text: str
    error: str
    images: int

    @property
    def ran(self) -> bool:
        return bool(re.search(r"\[\d+\]", self.prompt))


class StudentLab:
    """One browser tab, in its own JupyterLab workspace, driving the notebook the way a student does."""

    def __init__(self, page, server: LabServer, workspace: str, screenshot_dir: Path):
        self.page = page
        self.server = server
        self.workspace = workspace  # JupyterLab reopens a workspace's tabs: one per test keeps tests apart
        self.screenshot_dir = screenshot_dir

    # -- locators -------------------------------------------------------------------------------------------------
    @property
    def panel(self):
        return self.page.locator(".jp-NotebookPanel:visible")

    @property
    def code_cells(self):
        return self.panel.locator(".jp-Notebook .jp-Cell.jp-CodeCell")

    # -- actions ----------------------------------------------------------------------------------------------------
    def open(self, relpath: str, timeout_ms: float = 300_000) -> None:
        """Open the notebook (path relative to the served folder) and wait until its kernel is connected and idle."""
        self.page.goto(self.server.notebook_url(relpath, self.workspace))
        self.panel.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=timeout_ms)
        self.wait_kernel_idle(timeout_ms)

    def wait_kernel_idle(self, timeout_ms: float) -> None:
        # The toolbar indicator says idle before the kernel connects: the status bar's "| Idle" does not.
        status = self.page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\|\s*Idle"))
        status.first.wait_for(timeout=timeout_ms)

    def command(self, menu: str, command_id: str) -> None:
        """Click a main-menu entry (e.g. menu "Run", command "runmenu:run-all")."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(f"li.lm-Menu-item[data-command='{command_id}']").click()

    def run_all(self, timeout_ms: float) -> None:
        """Run > Run All Cells; returns when the run is over (see `wait_until_done`)."""
        before = self.prompt(0)
        self.command("Run", "runmenu:run-all")
        self.wait_until_done(0, before, timeout_ms)

    def run_from(self, index: int, timeout_ms: float) -> None:
        """Select code cell ``index`` and Run > Run Selected Cell and All Below (what a student does after an error)."""
        before = self.prompt(index)
        self.code_cells.nth(index).locator(".jp-InputPrompt").click()
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        below = self.page.locator("li.lm-Menu-item[data-command='notebook:run-all-below']")
        if below.get_attribute("aria-disabled") == "true":  # JupyterLab disables it on the very last cell
            below = self.page.locator("li.lm-Menu-item[data-command='notebook:run-cell']")
        below.click()
        self.wait_until_done(index, before, timeout_ms)

    def prompt(self, index: int) -> str:
        return self.code_cells.nth(index).locator(".jp-InputPrompt").inner_text()

    def wait_until_done(self, first: int, before: str, timeout_ms: float) -> None:
        """Wait until code cell ``first`` shows a new execution count (the run started), no cell is queued or
        running ("[*]"), and the kernel is idle (a run stops at the first error; the cells below it are left)."""
        self.page.wait_for_function(
            """([first, before]) => {
                const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null);
                if (!panel) return false;
                const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
                const started = prompts[first] !== before && /\[\d+\]/.test(prompts[first]);
                return started && !prompts.some(p => p.includes('*'));
            }""", arg=[first, before], timeout=timeout_ms, polling=250)
        self.wait_kernel_idle(timeout_ms)

    def cells(self) -> list[CellView]:
        """Every code cell, in notebook order, as rendered."""
        raw = self.panel.evaluate(
            """panel => [...panel.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')].map(cell => ({
                prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
                text: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n'),
                error: [...cell.querySelectorAll(
                    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                    .map(o => o.innerText).join('\\n'),
                images: [...cell.querySelectorAll('.jp-OutputArea-output img')]
                    .filter(img => img.complete && img.naturalWidth > 0).length,
            }))""")
        return [CellView(index=i, **c) for i, c in enumerate(raw)]

    def validate(self, timeout_ms: float):
        """Press nbgrader's Validate button; returns the results dialog (a locator) once it shows."""
        self.panel.locator("jp-button.validate-button").click()
        dialog = self.page.locator(".jp-Dialog", has_text="Validation Results")
        dialog.wait_for(timeout=timeout_ms)
        return dialog

    def image_output(self, index: int):
        """The first figure (image) in the outputs of code cell ``index``."""
        return self.code_cells.nth(index).locator(".jp-OutputArea-output img").first

    def scroll_dialog_to_end(self, dialog) -> None:
        """Scroll the dialog's scrollable parts to their end, where a traceback's message is."""
        dialog.evaluate("""d => d.querySelectorAll('*').forEach(e => {
            if (e.scrollHeight > e.clientHeight + 2) e.scrollTop = e.scrollHeight; })""")

    def screenshot(self, name: str, locator=None) -> Path:
        """Save a PNG of the page (or of one element) as test-output/browser/<name>.png."""
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / f"{name}.png"
        if locator is None:
            self.page.screenshot(path=str(path))
            return path
        # A tall figure is clipped by the viewport (and covered by the toolbar): grow the window while taking it.
        viewport = self.page.viewport_size
        locator.scroll_into_view_if_needed()
        height = int((locator.bounding_box() or {}).get("height", 0))
        if height + 300 > viewport["height"]:
            self.page.set_viewport_size({"width": viewport["width"], "height": height + 300})
        try:
            locator.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size(viewport)
        return path


# -- a course on a shared server (issue 12): the student as another Unix user, the Assignments tab, Formgrader ------
def unix_user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def ensure_unix_user(name: str) -> bool:
    """Create the Unix user ``name`` with a home (``useradd -m``) unless it exists; True when created here."""
    if unix_user_exists(name):
        return False
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True)
    return True


def remove_unix_user(name: str) -> None:
    subprocess.run(["userdel", "-r", name], capture_output=True)


def runs_as(user: str, python: Path, code: str = "import jupyterlab, nbgrader, ipykernel, vae_runtime") -> bool:
    """Whether Unix ``user`` can run ``python`` and import what the student's JupyterLab needs."""
    proc = subprocess.run(["runuser", "-u", user, "--", str(python), "-c", code], capture_output=True, timeout=180,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return proc.returncode == 0


def shared_python_prefix(folder: Path, system_python: Path) -> Path:
    """A venv-shaped prefix that every user can run: ``system_python`` (same X.Y as this venv, so the same ABI) over
    this venv's ``lib``/``share``/``etc`` (packages, JupyterLab's assets, nbgrader's server extensions)."""
    prefix = Path(folder) / "student-python"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    link = prefix / "bin" / "python"
    if not link.is_symlink():
        link.symlink_to(system_python)
    for name in ("lib", "share", "etc"):
        if not (prefix / name).is_symlink():
            (prefix / name).symlink_to(VENV_BIN.parent / name)
    version = subprocess.run([str(system_python), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True).stdout.strip()
    (prefix / "pyvenv.cfg").write_text(f"home = {system_python.parent}\ninclude-system-site-packages = false\n"
                                       f"version = {version}\n")
    for path in (prefix, prefix / "bin"):
        path.chmod(0o755)
    (prefix / "pyvenv.cfg").chmod(0o644)
    return prefix


@dataclass
class StudentIdentity:
    """Who the student's JupyterLab runs as: ``user`` (None: this same user) with ``python``; ``how`` says which."""

    user: str | None
    python: Path
    how: str


def student_identity(user: str, scratch: Path) -> StudentIdentity:
    """The student as a separate Unix user where this machine allows it (we are root and the user can run a python
    with the course's packages), else the same user as the instructor. ``VAEKIT_STUDENT_SAME_USER=1`` forces that."""
    me = VENV_BIN / "python"
    real = Path(os.path.realpath(me))
    if os.environ.get("VAEKIT_STUDENT_SAME_USER") == "1":
        return StudentIdentity(None, me, "VAEKIT_STUDENT_SAME_USER=1: the student runs as this same Unix user")
    if os.geteuid() != 0:
        return StudentIdentity(None, me, "not root (cannot useradd/runuser): the student runs as this same Unix user")
    ensure_unix_user(user)
    if runs_as(user, me):
        return StudentIdentity(user, me, f"the student is Unix user {user!r} (runuser), with this venv's python")
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if system.exists():
        prefix = shared_python_prefix(scratch, system)
        if runs_as(user, prefix / "bin" / "python"):
            return StudentIdentity(user, prefix / "bin" / "python", (
                f"the student is Unix user {user!r} (runuser); this venv's python is {real}, which {user!r} cannot "
                f"execute, so the student's JupyterLab runs {system} (same Python {sys.version_info.major}."
                f"{sys.version_info.minor}) over this venv's packages ({prefix})"))
    return StudentIdentity(None, me, (
        f"FALLBACK: this venv's python ({real}) is not executable by {user!r} and no usable system Python "
        f"{sys.version_info.major}.{sys.version_info.minor} was found: the student runs as the same Unix user as the "
        "instructor (nbgrader's student id comes from c.CourseDirectory.student_id)"))


def chown_tree(path: Path, user: str) -> None:
    subprocess.run(["chown", "-R", f"{user}:{user}", str(path)], check=True)


@dataclass
class UserLabServer(LabServer):
    """`jupyter lab` as Unix ``user`` (``runuser -u user``) with ``python``; as this user when ``user`` is None.
    Its Jupyter config/data/runtime folders live in ``root.parent / "jupyter-home"`` (owned by ``user``), so the
    nbgrader cache (``Exchange.cache``) is the student's own, as on a shared server."""

    user: str | None = None
    python: Path | None = None

    @property
    def home(self) -> Path:
        return self.root.parent / "jupyter-home"

    def start(self, timeout: float = 120.0) -> "UserLabServer":
        home = self.home
        labconfig = home / "config" / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        (labconfig / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
        settings = home / "settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        for name in ("runtime", "data", "workspaces", "ipython"):
            (home / name).mkdir(exist_ok=True)
        if self.user:
            chown_tree(self.root, self.user)
            chown_tree(home, self.user)
        python = Path(self.python or VENV_BIN / "python")
        env = dict(self.env)
        env.update({
            "PATH": f"{python.parent}{os.pathsep}{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
        })
        env.pop("MPLBACKEND", None)
        env.pop("VAEKIT_COURSE_ROOT", None)
        argv = [str(python), "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}", "--LabApp.news_url=None"]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        elif os.geteuid() == 0:
            argv.append("--allow-root")
        self.log_path = self.root.parent / "jupyter-lab.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        return self.wait_ready(timeout)

    def server_pids(self) -> list[int]:
        """The servers' own PIDs (``runuser`` is a wrapper): from ``jpserver-<pid>.json`` in the runtime folder."""
        pids = []
        for info in (self.home / "runtime").glob("jpserver-*.json"):
            try:
                pids.append(int(json.loads(info.read_text())["pid"]))
            except (OSError, ValueError, KeyError):
                continue
        return pids

    def stop(self) -> None:
        import signal

        for pid in self.server_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        super().stop()

    def put_notebook(self, relpath: str, nb) -> None:
        """Save ``nb`` at ``relpath`` through the server (the file is written by the server's user)."""
        body = json.dumps({"type": "notebook", "format": "json", "content": nb}).encode()
        from urllib.parse import quote

        req = urllib.request.Request(f"{self.url}/api/contents/{quote(relpath)}", data=body,
                                     method="PUT", headers={"Authorization": f"token {self.token}",
                                                            "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status in (200, 201), r.status


class AssignmentsTab:
    """nbgrader's *Assignments* tab (lab extension ``@jupyter/nbgrader``) in a StudentLab's page."""

    def __init__(self, lab: StudentLab):
        self.lab = lab
        self.page = lab.page

    def open(self, timeout_ms: float = 60_000) -> "AssignmentsTab":
        """Load JupyterLab (the student's workspace) and open Nbgrader > Assignments."""
        self.page.goto(f"{self.lab.server.url}/lab/workspaces/{self.lab.workspace}?token={self.lab.server.token}")
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).wait_for(timeout=timeout_ms)
        self.lab.command("Nbgrader", "nbgrader:open-assignment-list")
        self.page.locator("#released_assignments_list").wait_for(timeout=timeout_ms)
        return self

    def rows(self, name: str, count: int | None = None, timeout_ms: float = 60_000):
        """The rows of the list ``name`` ("released", "fetched", "submitted") once it has loaded (``count`` rows)."""
        self.page.locator(f"#{name}_assignments_list_loading").wait_for(state="hidden", timeout=timeout_ms)
        rows = self.page.locator(f"#{name}_assignments_list > .list_item")
        if count is not None:
            self.page.wait_for_function(
                "([sel, n]) => document.querySelectorAll(sel).length === n",
                arg=[f"#{name}_assignments_list > .list_item", count], timeout=timeout_ms, polling=250)
        return rows

    def refresh(self) -> None:
        self.page.locator("#refresh_assignments_list").click()

    def fetch(self, assignment: str, timeout_ms: float = 60_000):
        row = self.rows("released", 1).filter(has_text=assignment).first
        row.locator(".item_status button", has_text="Fetch").click()
        return self.rows("fetched", 1, timeout_ms).filter(has_text=assignment).first

    def expand_fetched(self, assignment: str, timeout_ms: float = 30_000):
        """Click the fetched assignment's name (unless already expanded): its notebooks show, each with a Validate
        button. The list re-renders itself after a fetch, which can swallow a click: click again until it opens."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        expanded = self.page.locator("#fetched_assignments_list .collapse.in")
        deadline = time.monotonic() + timeout_ms / 1000
        while expanded.count() == 0:
            self.page.locator("#fetched_assignments_list a.assignment-notebooks-link", has_text=assignment).first.click()
            try:
                expanded.first.wait_for(timeout=3_000)
            except PlaywrightTimeout:
                if time.monotonic() > deadline:
                    raise
        notebooks = expanded.first.locator(".list_item")
        notebooks.filter(has=self.page.locator(".item_status button")).first.wait_for(timeout=timeout_ms)
        return notebooks

    def validate(self, assignment: str, notebook: str, timeout_ms: float):
        """Validate one notebook from the list; returns the "Validation Results" dialog."""
        row = self.expand_fetched(assignment).filter(has_text=notebook).first
        row.locator(".item_status button", has_text="Validate").click()
        dialog = self.page.locator(".jp-Dialog", has_text="Validation Results")
        dialog.wait_for(timeout=timeout_ms)
        return dialog

    def submit(self, assignment: str, timeout_ms: float = 60_000):
        row = self.rows("fetched", 1).filter(has_text=assignment).first
        row.locator(".item_status button", has_text="Submit").click()
        return self.rows("submitted", 1, timeout_ms).filter(has_text=assignment).first

    def fetch_feedback(self, assignment: str, timeout_ms: float = 60_000):
        """Press Fetch Feedback on the submitted assignment; returns its "(view feedback)" link once it shows."""
        row = self.rows("submitted", 1).filter(has_text=assignment).first
        row.locator(".item_status button", has_text="Fetch Feedback").click()
        link = self.page.locator("#submitted_assignments_list a", has_text="view feedback").first
        link.wait_for(timeout=timeout_ms)
        return link


def open_html_in_filebrowser(lab: StudentLab, filename: str, timeout_ms: float = 30_000):
    """Double-click ``filename`` in the file browser (at its current folder); returns the HTML viewer's frame."""
    item = lab.page.locator(".jp-DirListing-item", has_text=filename).first
    item.wait_for(timeout=timeout_ms)
    item.dblclick()
    viewer = lab.page.locator(".jp-HTMLViewer:visible iframe").first
    viewer.wait_for(timeout=timeout_ms)
    return lab.page.frame_locator(".jp-HTMLViewer:visible iframe")


class Formgrader:
    """nbgrader's Formgrader (Nbgrader > Formgrader: an iframe in JupyterLab) on the instructor's server."""

    def __init__(self, lab: StudentLab):
        self.lab = lab
        self.page = lab.page

    def open(self, timeout_ms: float = 60_000) -> "Formgrader":
        self.page.goto(f"{self.lab.server.url}/lab/workspaces/{self.lab.workspace}?token={self.lab.server.token}")
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).wait_for(timeout=timeout_ms)
        self.lab.command("Nbgrader", "nbgrader:open-formgrader")
        self.frame.locator(".breadcrumb").first.wait_for(timeout=timeout_ms)
        return self

    @property
    def frame(self):
        return self.page.frame_locator("iframe[src*='formgrader']").first

    def click(self, text: str, timeout_ms: float = 30_000) -> None:
        link = self.frame.locator("a", has_text=re.compile(f"^\\s*{re.escape(text)}\\s*$")).first
        link.wait_for(timeout=timeout_ms)
        link.click()

    def open_submission(self, assignment: str, notebook: str, timeout_ms: float = 60_000) -> None:
        """Manual Grading > assignment > notebook > the first submission (names are hidden: "Submission #1")."""
        self.click("Manual Grading")
        self.click(assignment)
        self.click(notebook)
        # the score and comment boxes save only once their grades and comments have loaded
        with self.page.expect_response(lambda r: "/formgrader/api/comments?" in r.url, timeout=timeout_ms), \
                self.page.expect_response(lambda r: "/formgrader/api/grades?" in r.url, timeout=timeout_ms):
            self.click("Submission #1")
        self.frame.locator("input.score").first.wait_for(timeout=timeout_ms)

    def grade(self, grade_id: str, score: float, comment: str, timeout_ms: float = 30_000) -> None:
        """Type a manual score and a comment for the cell ``grade_id``; returns once the server saved both."""
        score_box = self.frame.locator(f"input.score#{grade_id}")
        comment_box = self.frame.locator(f"textarea.comment#{grade_id}-comment")
        with self.page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT",
                                       timeout=timeout_ms) as saved:
            score_box.fill(str(score))
            score_box.press("Tab")  # Formgrader saves on change: Tab moves on to the next box, as a TA does
        assert saved.value.ok, saved.value.status
        with self.page.expect_response(lambda r: "/formgrader/api/comment/" in r.url and r.request.method == "PUT",
                                       timeout=timeout_ms) as saved:
            comment_box.fill(comment)
            comment_box.press("Tab")
        assert saved.value.ok, saved.value.status
