"""``vaekit --course C solutions --quick vae_clase`` executes course C's class solution notebook (short training) and
writes the executed notebook and the figures of its tagged cells into C's solutions/, leaving the package's own
checkout (its source/ and committed solutions/) untouched."""
from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest

from autograder.course import new_course
from autograder.notebooks import REPO_ROOT, read, source_path, write

MARK = "marca-7c1e"

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_vaekit_solutions_quick_acts_on_the_course_given(tmp_path):
    course = new_course(tmp_path / "curso", ("vae_clase",))
    # the instructor's edit, only in this course: it must be what gets executed
    edited = read(source_path("vae_clase", course.root))
    edited.cells.insert(1, nbformat.v4.new_markdown_cell("Nota del profesor: edición local " + MARK))
    write(edited, source_path("vae_clase", course.root))
    package = {p: p.stat().st_mtime_ns for folder in ("source", "solutions") for p in (REPO_ROOT / folder).rglob("*")
               if p.is_file()}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(course.root), "solutions", "--quick",
                           "vae_clase"], cwd=tmp_path, env=env, text=True, capture_output=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = course.root / "solutions"

    executed = out / "vae_clase" / "vae_clase.ipynb"
    assert executed.exists()
    assert str(executed) in proc.stdout
    nb = nbformat.read(str(executed), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code if c.source.strip()), "a cell was not executed"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue")
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 3

    tagged = [c.metadata["vaekit_figure"] for c in read(source_path("vae_clase")).cells
              if c.get("metadata", {}).get("vaekit_figure")]
    assert tagged, "the source notebook tags no figure cell"
    for name in tagged:
        png = out / "vae_clase" / f"{name}.png"
        assert png.exists(), f"{png.name} not written"
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1000

    assert MARK in executed.read_text(encoding="utf-8"), "the course's own (edited) source was not the one executed"
    after = {p: p.stat().st_mtime_ns for folder in ("source", "solutions") for p in (REPO_ROOT / folder).rglob("*")
             if p.is_file()}
    assert after == package, "the package's checkout changed"


def test_vaekit_solutions_outside_a_course_says_where_to_run_it(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(tmp_path), "solutions", "--quick"],
                          cwd=tmp_path, text=True, capture_output=True, timeout=120)
    assert proc.returncode == 1 and "no es un curso" in proc.stderr and "--course" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
