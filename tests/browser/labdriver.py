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

CHROMIUM = Path(os.environ.get("VAEKIT_CHROMIUM", "/usr/bin/chromium"))  # Debian's package (`make browser`)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
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
