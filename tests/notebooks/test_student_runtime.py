"""The students' package on its own: ``vae-runtime`` (``student/``) installed into a fresh virtualenv that sees the
course's third-party packages (keras, TensorFlow, ipykernel, ...) but not vaekit (``vae_lib``, ``autograder``).

The fresh venv gets a ``.pth`` file holding the plain path of this venv's site-packages: a plain path entry puts
those packages on ``sys.path`` but does not run the ``__editable__*.pth`` hooks found there, so vaekit's editable
install (and this venv's editable ``vae_runtime``) stay invisible. ``student/`` is then installed from a copy, offline
(no index, no build isolation: setuptools comes through the ``.pth``). The class notebook, filled with the source's
solutions, must run there (``VAEKIT_QUICK=1``) with every visible test passing; so must the homework.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import notebooks as nbs

pytestmark = pytest.mark.slow

STUDENT = nbs.REPO_ROOT / "student"
# Exercise answers (vae_lib has them): none may be an attribute or a module of vae_runtime.
ANSWERS = ("Sampling", "kl_divergence", "reconstruction_loss", "VAE", "sample_prior", "interpolate",
           "build_dense_encoder", "build_conv_encoder", "build_conv_decoder")
PASSED = "Pruebas visibles superadas"

PROBE = r"""
import importlib, importlib.util, json, pkgutil, sys
from pathlib import Path
out = {"prefix": sys.prefix, "missing": {}}
for name in ("vae_lib", "autograder"):
    try:
        importlib.import_module(name)
        out["missing"][name] = "imported"
    except ModuleNotFoundError as error:
        out["missing"][name] = f"ModuleNotFoundError: {error}"
import vae_runtime
out["file"] = vae_runtime.__file__
out["weights"] = sorted(p.name for p in (Path(vae_runtime.__file__).parent / "weights").glob("*"))
modules = {"vae_runtime": vae_runtime}
for info in pkgutil.walk_packages(vae_runtime.__path__, "vae_runtime."):
    if info.name != "vae_runtime.__main__":
        modules[info.name] = importlib.import_module(info.name)
out["modules"] = sorted(modules)
names = json.loads(sys.argv[1])
out["answers_found"] = sorted(
    [f"{m}.{n}" for m, module in modules.items() for n in names if hasattr(module, n)]
    + [f"module vae_runtime.{n}" for n in names + [n.lower() for n in names]
       if importlib.util.find_spec(f"vae_runtime.{n}") is not None])
out["api"] = sorted(vae_runtime.__all__)
print("PROBE" + json.dumps(out))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would put the repo (vaekit) on the fresh venv's path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "NBGRADER_EXECUTION",
                        "VAEKIT_COURSE_ROOT", "VAEKIT_DB_URL", "VAEKIT_REUSE_WEIGHTS", "VAEKIT_QUICK")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def _run(cmd, cwd: Path, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=300, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    """A fresh venv's python with the third-party packages, vae-runtime installed, and no vaekit."""
    root = tmp_path_factory.mktemp("student_runtime")
    start = time.perf_counter()
    venv = root / "venv"
    _run([sys._base_executable, "-m", "venv", "--without-pip", venv], cwd=root)
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=root).stdout.strip())
    third_party = Path(importlib.util.find_spec("keras").origin).resolve().parents[1]  # this venv's site-packages
    (purelib / "vaekit-third-party.pth").write_text(f"{third_party}\n", encoding="utf-8")

    # Before installing: the third-party packages are there, vaekit and vae_runtime are not.
    probe = ("import importlib.util as u, json; print(json.dumps({n: u.find_spec(n) is not None for n in "
             "('keras', 'numpy', 'ipykernel', 'setuptools', 'pip', 'vae_lib', 'autograder', 'vae_runtime')}))")
    found = json.loads(_run([python, "-c", probe], cwd=root).stdout)
    assert found == {"keras": True, "numpy": True, "ipykernel": True, "setuptools": True, "pip": True,
                     "vae_lib": False, "autograder": False, "vae_runtime": False}, found

    # Install from a copy, so the build never writes into the working tree.
    source = root / "student"
    shutil.copytree(STUDENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.pyc"))
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
          "--ignore-installed", "--no-cache-dir", source], cwd=root)
    print(f"fresh venv with vae-runtime installed in {time.perf_counter() - start:.1f} s")
    return python


def test_fresh_venv_has_the_runtime_and_no_answers(fresh_python):
    proc = _run([fresh_python, "-c", PROBE, json.dumps(list(ANSWERS))], cwd=fresh_python.parent)
    out = json.loads(proc.stdout.split("PROBE", 1)[1])
    venv = fresh_python.parent.parent
    assert Path(out["file"]).is_relative_to(venv), f"vae_runtime imported from {out['file']}, not the fresh venv"
    for name in ("vae_lib", "autograder"):
        assert out["missing"][name].startswith("ModuleNotFoundError"), (name, out["missing"][name])
    assert out["answers_found"] == [], f"exercise answers in vae_runtime: {out['answers_found']}"
    assert {"classifier_mnist.weights.h5", "classifier_fashion_mnist.weights.h5"} <= set(out["weights"])
    assert {"load_dataset", "quiet", "fixed_encoder", "build_dense_decoder", "latent_stats"} <= set(out["api"])


@pytest.mark.parametrize("assignment", nbs.ASSIGNMENTS)
def test_notebook_runs_on_the_runtime_alone(fresh_python, tmp_path, assignment):
    """The filled notebook in a kernel of the fresh venv: no cell errors, every visible test passes."""
    specs = tmp_path / "kernels"
    (specs / "vae-runtime").mkdir(parents=True)
    (specs / "vae-runtime" / "kernel.json").write_text(json.dumps({
        "argv": [str(fresh_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "vae-runtime (venv nuevo)", "language": "python"}), encoding="utf-8")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbs.filled_release(assignment)
    where = nbformat.v4.new_code_cell(
        "import importlib.util, sys, vae_runtime\n"
        "print('ENTORNO', {'vae_lib': importlib.util.find_spec('vae_lib') is not None,\n"
        "                  'autograder': importlib.util.find_spec('autograder') is not None,\n"
        "                  'python': sys.executable, 'vae_runtime': vae_runtime.__file__})")
    where.id = "entorno"
    nb.cells.append(where)
    work = tmp_path / "work"
    work.mkdir()
    km = KernelManager(kernel_name="vae-runtime", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
    client = NotebookClient(nb, km=km, timeout=600, allow_errors=True, resources={"metadata": {"path": str(work)}})
    start = time.perf_counter()
    client.execute(env=_clean_env(VAEKIT_QUICK="1", MPLBACKEND="Agg"))
    print(f"{assignment} executed in the fresh venv in {time.perf_counter() - start:.1f} s")

    def text(cell, stream=None):
        return "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.output_type == "stream" and (stream is None or o.name == stream))

    errors = {c.get("id"): f"{o.ename}: {o.evalue}" for c in nb.cells for o in c.get("outputs", [])
              if o.output_type == "error"}
    assert not errors, f"cells failed in the fresh venv: {errors}"
    grade_cells = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    source = nbs.read(nbs.source_path(assignment))
    assert len(grade_cells) == sum(1 for c in source.cells
                                   if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))
    for cell in grade_cells:
        gid = nbs.grade_id(cell)
        assert PASSED in text(cell), f"{gid}: the visible tests did not pass:\n{text(cell)}"
        assert not text(cell, "stderr"), f"{gid} wrote to stderr (nbgrader would score it 0):\n{text(cell, 'stderr')}"
    environment = text(nb.cells[-1])
    assert "'vae_lib': False" in environment and "'autograder': False" in environment, environment
    assert str(fresh_python.parent.parent) in environment, environment
