"""The student bundle: what a student (or the JupyterHub admin building the single-user image) installs, never the
course repository.

``release/<A>/`` holds the released notebook and, beside it, the ``vae-runtime`` wheel (built from ``student/``
by ``pip wheel``); nbgrader's ``release_assignment`` copies the whole folder into the exchange, so ``fetch``
brings both to the student. The released notebook's first cell says, in one Spanish line, how to install the
wheel when ``import vae_runtime`` fails (``INSTALL_LINE``). ``check_bundle`` refuses a bundle that holds anything
but ``vae_runtime``, a line of a solution or hidden test of the source notebooks, an answer the students write, or
a line of the judge's or the reference library's code.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from autograder.errors import VaekitError
from autograder.notebooks import ASSIGNMENTS, REPO_ROOT, lines_inside_markers, read, source_path

RUNTIME_PROJECT = REPO_ROOT / "student"
# What the students write (the reference has them in vae_lib): none may be defined in the runtime.
ANSWERS = re.compile(r"^\s*(class Sampling\b|def kl_divergence\b|def reconstruction_loss\b|def train_step\b|"
                     r"class VAE\b|def build_encoder\b|def build_decoder\b|def sample_images\b|def interpolate\b|"
                     r"def build_conv_(en|de)coder\b)", re.M)


def runtime_version() -> str:
    return tomllib.loads((RUNTIME_PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def wheel_name() -> str:
    return f"vae_runtime-{runtime_version()}-py3-none-any.whl"


def install_line() -> str:
    """The one Spanish line of the released notebook: how to install the runtime from the bundle."""
    return (f'Si `import vae_runtime` falla, instala el paquete del curso que viene junto a este cuaderno: '
            f'`%pip install "{wheel_name()}[cpu]"` y reinicia el núcleo.')


def build_runtime_wheel(dest: Path) -> Path:
    """``pip wheel`` of ``student/`` (a clean copy, so nothing is written into the repository) into ``dest``."""
    if not (RUNTIME_PROJECT / "pyproject.toml").exists():
        raise VaekitError(f"no está {RUNTIME_PROJECT}/pyproject.toml (el paquete vae-runtime de los alumnos): "
                          "vaekit release necesita una copia completa del repositorio del curso")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaekit-runtime-") as tmp:
        project = Path(tmp) / "student"
        shutil.copytree(RUNTIME_PROJECT, project, ignore=shutil.ignore_patterns(
            "*.egg-info", "build", "dist", "__pycache__", "*.pyc"))
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--disable-pip-version-check", "-q", "-w", str(Path(tmp) / "out"), str(project)],
                              capture_output=True, text=True)
        built = sorted((Path(tmp) / "out").glob("vae_runtime-*.whl"))
        if proc.returncode != 0 or len(built) != 1:
            raise VaekitError(f"no se pudo construir el paquete vae-runtime (pip wheel, código {proc.returncode}):\n"
                              f"{(proc.stdout + proc.stderr)[-2000:]}")
        for old in dest.glob("vae_runtime-*.whl"):
            old.unlink()
        return Path(shutil.copy2(built[0], dest / built[0].name))


def _code_lines(folder: Path, min_length: int = 30) -> set[str]:
    """Distinctive lines of the Python files under ``folder`` (no imports, comments or docstring quotes)."""
    out = set()
    for path in folder.rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            if len(s) >= min_length and not s.startswith(("import ", "from ", "#", '"""', "'''", "@")):
                out.add(s)
    return out


def bundle_leaks(wheel: Path, root: Path = REPO_ROOT) -> list[str]:
    """What the wheel must not hold (empty when clean): foreign files, solution or hidden-test lines of the course's
    source notebooks, answer definitions, lines of the judge's (``autograder/``) or the reference's (``vae_lib/``)
    code that the runtime does not share."""
    found = []
    secrets = set()
    for a in ASSIGNMENTS:
        if source_path(a, root).exists():
            secrets.update(lines_inside_markers(read(source_path(a, root)), min_length=30,
                                                whole_solution_markdown=True))
    runtime_own = _code_lines(RUNTIME_PROJECT / "vae_runtime")
    grader = (_code_lines(REPO_ROOT / "autograder") | _code_lines(REPO_ROOT / "vae_lib")) - runtime_own
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if not (name.startswith("vae_runtime/") or name.startswith("vae_runtime-")):
                found.append(f"archivo ajeno al paquete: {name}")
                continue
            if not name.endswith((".py", ".json", ".txt", "METADATA", "RECORD", "WHEEL")):
                continue
            text = z.read(name).decode("utf-8", errors="replace")
            lines = {ln.strip() for ln in text.splitlines()}
            found += [f"{name}: línea de una solución o test oculto: {s!r}" for s in sorted(secrets & lines)]
            found += [f"{name}: código del evaluador o de vae_lib: {s!r}" for s in sorted(grader & lines)]
            found += [f"{name}: define una respuesta: {m.group(0).strip()!r}" for m in ANSWERS.finditer(text)]
            found += [f"{name}: marca de nbgrader {m!r}" for m in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
                      if m in text]
    return found


def build_bundle(release_folder: Path) -> Path:
    """Put the runtime wheel beside the released notebook in ``release_folder``; refuses a wheel with leaks."""
    wheel = build_runtime_wheel(release_folder)
    leaks = bundle_leaks(wheel)
    if leaks:
        wheel.unlink()
        raise VaekitError("el paquete del alumno contiene lo que no debe:\n  " + "\n  ".join(leaks[:10]))
    return wheel
