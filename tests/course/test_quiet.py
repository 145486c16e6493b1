"""A quiet, readable console (issue 18, item 5): nbgrader's SQLAlchemy autoflush warnings filtered precisely (in the
process and in its children), progress rows that never wrap, packages that build without deprecation screens.
(Every `vaekit` command of the demo path is read for warnings in tests/course/test_course_server.py.)"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from autograder.notebooks import REPO_ROOT
from autograder.progress import GradingProgress
from autograder.results import GradeResult

ADD_SUBMISSION = """
import sys
if sys.argv[1] == "quiet":
    from autograder import quiet
    quiet.install()
from nbgrader.api import Gradebook
with Gradebook("sqlite:///" + sys.argv[2], course_id="c") as gb:
    gb.add_assignment("a")
    gb.add_notebook("a", "a")
    gb.add_grade_cell("q", "a", "a", max_score=1, cell_type="code")
    gb.update_or_create_student("s")
    gb.update_or_create_submission("a", "s")
# a grade cell restored by nbgrader's OverwriteCells is a dict without an id; reading the notebook warns
import json, nbformat
nb = json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])))
del nb["cells"][0]["id"]
nbformat.reads(json.dumps(nb), as_version=4)
if sys.argv[1] == "quiet":  # and a child process: the filter travels in PYTHONWARNINGS
    import subprocess
    subprocess.run([sys.executable, __file__, "child", sys.argv[2] + "2"], check=True)
"""


@pytest.mark.parametrize("mode, expected", [("plain", 3), ("quiet", 0)])
def test_nbgrader_warnings(tmp_path, mode, expected):
    script = tmp_path / "add.py"
    script.write_text(ADD_SUBMISSION)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run([sys.executable, str(script), mode, str(tmp_path / "gb.db")], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("SAWarning: Object of type <") == expected, proc.stderr  # child included when quiet
    assert proc.stderr.count("MissingIDFieldWarning") == expected // 3, proc.stderr


def result(student: str, flags: int = 0, sandbox: bool = True) -> GradeResult:
    return GradeResult(student, "vae_clase", 7.5, 16, "neutralised", seconds=33.9, flags=["x"] * flags,
                       sandbox=sandbox)


@pytest.mark.parametrize("width", [20, 40, 80, 200])
def test_progress_rows_never_wrap(width):
    long = result("alu58_trampas_con_un_nombre_de_estudiante_largo", flags=2, sandbox=False)
    for terminal in (True, False):
        out = io.StringIO()
        bar = GradingProgress(2, skipped=1, console=Console(file=out, width=width, force_terminal=terminal))
        bar.update(long)
        bar.update(result("alu01"))
        bar.close()
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue()).replace("\r", "\n")
        lines = [ln for ln in text.split("\n") if ln.strip()]
        rows = [ln for ln in lines if "33.9 s" in ln]
        if terminal:  # cut to the terminal's width, the essentials first
            assert all(len(ln) <= width for ln in lines), lines
            assert all(ln.startswith("◐   7.50/16") for ln in rows)
        else:  # a plain, whole line per submission, no bar
            assert rows == ["◐   7.50/16    33.9 s  alu58_trampas_con_un_nombre_de_estudiante_largo  calificada "
                            "(celda neutralizada)  revisar a mano: 2  SIN sandbox",
                            "◐   7.50/16    33.9 s  alu01  calificada (celda neutralizada)"]
            assert not any("calificando" in ln for ln in lines)


@pytest.mark.parametrize("project", [REPO_ROOT, REPO_ROOT / "student"])
def test_licence_is_an_spdx_string_and_the_wheel_builds_without_warnings(project, tmp_path):
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    copy = tmp_path / "src"  # a clean copy: what a fresh clone builds
    skip = shutil.ignore_patterns("*.egg-info", "build", "__pycache__")
    if project == REPO_ROOT:
        copy.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(project / name, copy / name)
        for name in ("vae_lib", "autograder"):
            shutil.copytree(project / name, copy / name, ignore=skip)
    else:
        shutil.copytree(project, copy, ignore=skip)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                           str(tmp_path / "out"), str(copy)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    noisy = [ln for ln in (proc.stdout + proc.stderr).splitlines() if re.search(r"warn|deprecat", ln, re.I)]
    assert noisy == [], noisy
