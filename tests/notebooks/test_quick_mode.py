"""The homework's quick mode (``VAEKIT_QUICK=1``) shows something, and grading mode stays the short run it was.

The filled homework (every solution cell as a correct student writes it) runs in a kernel with ``VAEKIT_QUICK=1``:
its 64 generated samples must be garments the reference classifier recognises (at least half of them), and every
figure drawn from the trained model must say in its title that it comes from a short run. With
``NBGRADER_EXECUTION`` set (nbgrader grading), the training is still 1 epoch on 1024 images at learning rate 1e-3,
even when ``VAEKIT_QUICK=1`` is also set.
"""
from __future__ import annotations

import json
import os
import time

import nbformat
import pytest

from autograder import notebooks as nbs

pytestmark = pytest.mark.slow

ASSIGNMENT = "vae_tarea"
QUICK_NOTE = " — entrenamiento corto (modo rápido)"
GRADING_NOTE = " — sin entrenar (calificación)"
# Figures drawn from the trained model (their titles must carry the note) and the one that is not.
MODEL_FIGURES = ("Curvas de entrenamiento", "Originales y reconstrucciones", "64 prendas generadas desde z ~ N(0, I)",
                 "De una zapatilla a un botín", "De un pantalón a un vestido")
DATA_FIGURE = "Ejemplos de Fashion-MNIST"

# Records every figure title (all the course's plots title their figures with Figure.suptitle).
RECORD_TITLES = """
import matplotlib.figure as _mf
_TITLES = []
_suptitle = _mf.Figure.suptitle
def _recording_suptitle(self, t, *args, **kwargs):
    _TITLES.append(str(t))
    return _suptitle(self, t, *args, **kwargs)
_mf.Figure.suptitle = _recording_suptitle
"""

PROBE = """
import json
print("PROBE" + json.dumps({
    "GRADING": GRADING, "QUICK": QUICK, "EPOCHS": EPOCHS, "N_TRAIN": N_TRAIN, "n_images": len(x_train),
    "lr": float(ops.convert_to_numpy(vae.optimizer.learning_rate)), "TRAINED": TRAINED, "RUN_NOTE": RUN_NOTE,
    "steps": int(ops.convert_to_numpy(vae.optimizer.iterations)),
    "titles": _TITLES,
    "share": float(quality["recognisable_share"]) if "quality" in globals() else None,
}))
"""


def _code_cell(source: str, cell_id: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    return cell


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NBGRADER_EXECUTION", "VAEKIT_QUICK", "VAEKIT_REUSE_WEIGHTS", "VAEKIT_COURSE_ROOT")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures become cell outputs
    env.update(extra)
    return env


def _execute(tmp_path, env: dict[str, str], until: str | None = None):
    """The filled homework (up to the cell ``until``), with the title recorder and the probe; returns (nb, probe, s)."""
    from nbclient import NotebookClient

    nb = nbs.filled_release(ASSIGNMENT)
    ids = [c.get("id") for c in nb.cells]
    if until is not None:
        nb.cells = nb.cells[:ids.index(until) + 1]
    nb.cells.insert(ids.index("setup") + 1, _code_cell(RECORD_TITLES, "registro-titulos"))
    nb.cells.append(_code_cell(PROBE, "sonda"))
    client = NotebookClient(nb, timeout=600, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute(env=env)
    elapsed = time.perf_counter() - start
    errors = {c.get("id"): f"{o.ename}: {o.evalue}" for c in nb.cells for o in c.get("outputs", [])
              if o.output_type == "error"}
    assert not errors, f"cells failed: {errors}"
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return nb, json.loads(out.split("PROBE", 1)[1]), elapsed


def test_quick_mode_draws_recognisable_garments(tmp_path):
    nb, probe, elapsed = _execute(tmp_path, _env(VAEKIT_QUICK="1"))
    print(f"quick mode: {elapsed:.1f} s, recognisable share {probe['share']:.2f}")
    assert (probe["GRADING"], probe["QUICK"], probe["TRAINED"]) == (False, True, "short"), probe
    assert probe["share"] >= 0.5, (f"quick mode: the reference classifier recognises only {probe['share']:.0%} of "
                                   f"the 64 samples (at least 50 % expected)")
    assert probe["RUN_NOTE"] == QUICK_NOTE
    titles = probe["titles"]
    assert DATA_FIGURE in titles, titles  # the dataset's examples do not come from the model: no note
    for title in MODEL_FIGURES:
        assert title + QUICK_NOTE in titles, f"no figure titled {title + QUICK_NOTE!r}: {titles}"
    assert not (set(titles) - {DATA_FIGURE} - {t + QUICK_NOTE for t in MODEL_FIGURES}), titles
    samples = next(c for c in nb.cells if c.get("id") == "cell-23")
    assert any("image/png" in o.get("data", {}) for o in samples.outputs), "the 64 samples were not drawn"
    assert not any(os.scandir(tmp_path)), "quick mode must not save weights"


def test_grading_mode_does_not_train(tmp_path):
    """NBGRADER_EXECUTION wins over VAEKIT_QUICK: the model is built and compiled (Adam(1e-3)) on 1024 images but
    takes no step (no score depends on it: issue 21), no weights are written, and the figures say so."""
    _, probe, elapsed = _execute(tmp_path, _env(NBGRADER_EXECUTION="autograde", VAEKIT_QUICK="1"), until="train")
    print(f"grading mode up to the training cell: {elapsed:.1f} s")
    assert (probe["GRADING"], probe["QUICK"], probe["TRAINED"]) == (True, False, "none"), probe
    assert (probe["N_TRAIN"], probe["n_images"], probe["steps"]) == (1024, 1024, 0), probe
    assert probe["lr"] == pytest.approx(1e-3)
    assert probe["RUN_NOTE"] == GRADING_NOTE
    assert not any("Curvas de entrenamiento" in t for t in probe["titles"]), probe["titles"]
    assert not any(os.scandir(tmp_path)), "grading mode must not save weights"
