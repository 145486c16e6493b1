"""``vaekit solutions --quick vae_clase --out DIR`` executes the class solution notebook (short training) and writes the
executed notebook and the figures of its tagged cells into DIR, leaving the committed solutions/ untouched."""
from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest

from autograder.notebooks import REPO_ROOT, read, source_path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_vaekit_solutions_quick_into_folder(tmp_path):
    out = tmp_path / "soluciones"
    committed = REPO_ROOT / "solutions" / "vae_clase" / "vae_clase.ipynb"
    committed_before = committed.stat().st_mtime_ns if committed.exists() else None
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "solutions", "--quick", "vae_clase", "--out", str(out)],
                          cwd=tmp_path, env=env, text=True, capture_output=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

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

    after = committed.stat().st_mtime_ns if committed.exists() else None
    assert after == committed_before, "--out must leave solutions/ alone"
