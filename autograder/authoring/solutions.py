"""Execute a course's source (solution) notebooks in full student mode into its ``solutions/<A>/<A>.ipynb``.

    python -m autograder.authoring.solutions [A ...] [--course DIR] [--quick] [--reuse-weights] [--out DIR]
    vaekit [--course DIR] solutions ...  (the same arguments; ``make solutions`` in the repository's course)

The course is the one given (``--course``, default the current folder), never the package's own checkout. The run
happens in the course's ``solutions/<A>/`` (``--out DIR``: ``DIR/<A>/``) (so the homework's ``vae_tarea.weights.h5`` lands there) with
``NBGRADER_EXECUTION`` unset: the full training (30 epochs). ``--quick`` sets ``VAEKIT_QUICK=1`` (seconds, for
trying the pipeline). Figures of cells tagged with metadata ``vaekit_figure`` are also written as PNG beside the
notebook: ``<name>.png``, ``<name>_2.png``, …
``--reuse-weights`` makes the homework load an existing ``solutions/vae_tarea/vae_tarea.weights.h5`` (the committed
one was trained 30 epochs with the same networks by ``vae_lib.VAE`` on a GPU; ``training_history.json`` holds its curves);
with ``--out DIR`` that file is copied into ``DIR/vae_tarea/`` first when it is not already there.
"""
from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.errors import VaekitError
from autograder.notebooks import ASSIGNMENTS, REPO_ROOT, read, source_path, write


def solutions_dir(assignment: str, root: Path = REPO_ROOT, out: Path | None = None) -> Path:
    """``out/<A>`` (default ``<root>/solutions/<A>``)."""
    return Path(out if out is not None else Path(root) / "solutions") / assignment


def save_figures(nb, folder: Path) -> list[Path]:
    """Write the PNG outputs of cells tagged ``vaekit_figure`` into ``folder``; returns the paths."""
    written = []
    for cell in nb.cells:
        name = cell.get("metadata", {}).get("vaekit_figure")
        if not name or cell.cell_type != "code":
            continue
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        for i, png in enumerate(pngs):
            path = folder / (f"{name}.png" if i == 0 else f"{name}_{i + 1}.png")
            path.write_bytes(base64.b64decode(png))
            written.append(path)
    return written


def copy_committed_weights(assignment: str, folder: Path, root: Path = REPO_ROOT) -> None:
    """``--reuse-weights`` into another folder: bring ``<root>/solutions/<A>/<A>.weights.h5`` along (when absent)."""
    committed = solutions_dir(assignment, root) / f"{assignment}.weights.h5"
    target = folder / committed.name
    if committed.exists() and not target.exists() and committed.resolve() != target.resolve():
        shutil.copy2(committed, target)


def execute(assignment: str, quick: bool = False, reuse_weights: bool = False, root: Path = REPO_ROOT,
            out: Path | None = None) -> Path:
    """Execute ``source/<A>/<A>.ipynb`` in ``out/<A>/`` (default ``solutions/<A>/``); returns the notebook written."""
    folder = solutions_dir(assignment, root, out).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if reuse_weights:
        copy_committed_weights(assignment, folder, root)
    nb = read(source_path(assignment, root))
    # The kernel's environment (nbclient passes it to the kernel): full mode unless asked, the inline backend so
    # figures land in the notebook, never nbgrader's grading flag.
    env = {k: v for k, v in os.environ.items()
           if k not in ("NBGRADER_EXECUTION", "VAEKIT_REUSE_WEIGHTS", "VAEKIT_QUICK", "MPLBACKEND")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if reuse_weights:
        env["VAEKIT_REUSE_WEIGHTS"] = "1"
    if quick:
        env["VAEKIT_QUICK"] = "1"
    start = time.perf_counter()
    NotebookClient(nb, timeout=None, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute(env=env)
    print(f"{assignment}: executed in {time.perf_counter() - start:.0f} s", flush=True)
    path = write(nb, folder / f"{assignment}.ipynb")
    for png in save_figures(nb, folder):
        print("  figure:", png)
    return path


def assignment_name(text: str) -> str:
    if text not in ASSIGNMENTS:
        raise argparse.ArgumentTypeError(f"tarea desconocida {text!r} (elige entre {', '.join(ASSIGNMENTS)})")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of ``python -m autograder.authoring.solutions`` and ``vaekit solutions`` (one definition for both)."""
    # No ``choices``: with nargs="*" argparse (3.11) checks the default against them and rejects it.
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS), type=assignment_name,
                        metavar="A", help=f"tareas a ejecutar ({', '.join(ASSIGNMENTS)}; por defecto, todas)")
    parser.add_argument("--quick", action="store_true",
                        help="VAEKIT_QUICK=1: entrenamiento corto, para probar el proceso")
    parser.add_argument("--reuse-weights", action="store_true",
                        help="VAEKIT_REUSE_WEIGHTS=1: la tarea carga solutions/vae_tarea/vae_tarea.weights.h5 "
                             "en vez de entrenar 30 épocas")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="carpeta de salida: DIR/<tarea>/<tarea>.ipynb y sus figuras (por defecto, solutions/ "
                             "del curso)")
    return parser


def run(assignments=None, quick: bool = False, reuse_weights: bool = False, out: Path | None = None,
        root: Path = REPO_ROOT) -> list[Path]:
    """Execute ``assignments`` (default: all); returns the executed notebooks, in order."""
    paths = []
    for assignment in assignments or ASSIGNMENTS:
        path = execute(assignment, quick=quick, reuse_weights=reuse_weights, root=root, out=out)
        print(path, flush=True)
        paths.append(path)
    return paths


def run_args(args: argparse.Namespace) -> list[Path]:
    """``run`` with a namespace parsed by ``add_arguments``, on the course ``args.course`` (``vaekit --course``;
    default: the current folder): its ``source/`` is executed into its ``solutions/`` (or ``--out``)."""
    root = Path(getattr(args, "course", None) or Path.cwd()).resolve()
    if not (root / "source").is_dir():
        raise VaekitError(f"{root} no es un curso (falta source/): ejecuta la orden en la carpeta del curso o "
                          "indícala con --course CARPETA")
    return run(args.assignments, quick=args.quick, reuse_weights=args.reuse_weights, out=args.out, root=root)


def main(argv=None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="python -m autograder.authoring.solutions",
                                                   description=__doc__.splitlines()[0]))
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="raíz del curso (por defecto, esta carpeta)")
    run_args(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
