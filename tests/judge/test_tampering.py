"""The "revisar a mano" scanner: categories of code that reaches for the grader, the reference or the machine,
and sandbox refusals in the outputs. Plain course code must not be flagged."""
from __future__ import annotations

import nbformat
import pytest

from autograder import notebooks
from autograder.tampering import scan, scan_outputs, scan_source


@pytest.mark.parametrize("source, category, detail", [
    ("from autograder import checks", "grader", "import autograder"),
    ("import vae_lib\nz = vae_lib.sample_prior(d, 4)", "grader", "import vae_lib"),
    ("checks = object()", "grader", "redefine «checks»"),
    ("import sys\nsys.modules['autograder.checks'] = None", "interpreter", "sys.modules"),
    ("import builtins\nbuiltins.print = len", "interpreter", "import builtins"),
    ("get_ipython().showtraceback = lambda *a: None", "ipython", "get_ipython().showtraceback"),
    ("get_ipython().events.register('post_run_cell', f)", "ipython", "get_ipython().events"),
    ("np.allclose = lambda *a, **k: True", "patch", "np.allclose = …"),
    ("setattr(np, 'isclose', f)", "patch", "setattr(np, …)"),
    ("import subprocess\nsubprocess.run(['ls'])", "system", "import subprocess"),
    ("import os\nos.system('ls')", "system", "os.system"),
    ("!ls ..", "system", "orden de shell (!)"),
    ("open('../../gradebook.db').read()", "files", "open('../../gradebook.db')"),
    ("import sqlite3\nsqlite3.connect('/work/main/gradebook.db')", "files", "sqlite3.connect('/work/main/gradebook.db')"),
    ("paths = glob.glob('../../../source/*/*.ipynb')", "files", "glob.glob('../../../source/*/*.ipynb')"),
    ("exec(codigo)", "interpreter", "exec(…)"),
])
def test_each_category_is_flagged(source, category, detail):
    flags = scan_source(source, 3)
    assert any(f.category == category and f.detail == detail for f in flags), [f.text for f in flags]
    assert all("(celda 3)" in f.text for f in flags)


def test_the_course_own_code_is_not_flagged():
    for assignment in notebooks.ASSIGNMENTS:
        nb = notebooks.filled_release(assignment)
        assert scan(nb) == [], [f.text for f in scan(nb)]


def test_sandbox_refusals_in_outputs_name_the_path():
    out = [nbformat.v4.new_output("stream", name="stdout",
                                  text="no pude escribir ../x [Errno 30] Read-only file system: '/work/main/x.py'\n"),
           nbformat.v4.new_output("error", ename="ConnectionRefusedError", evalue="[Errno 111] Connection refused",
                                  traceback=[])]
    texts = [f.text for f in scan_outputs(5, out)]
    assert any("solo lectura: /work/main/x.py" in t for t in texts), texts
    assert any("conexión de red" in t for t in texts), texts


def test_a_cell_that_does_not_parse_still_names_what_it_reached_for():
    flags = scan_source("import vae_lib\ndef f(:\n    pass", 2)
    assert [f.detail for f in flags] == ["vae_lib"]
