"""Execute the source (solution) notebooks in full student mode into ``solutions/<A>/<A>.ipynb``.

    python -m autograder.solutions [vae_clase|vae_tarea ...] [--quick]

The run happens in ``solutions/<A>/`` (so the homework's ``vae_tarea.weights.h5`` lands there) with
``NBGRADER_EXECUTION`` unset: the full training (30 epochs). ``--quick`` sets ``VAEKIT_QUICK=1`` (seconds, for
trying the pipeline). Figures of cells tagged with metadata ``vaekit_figure`` are also written as PNG beside the
notebook: ``<name>.png``, ``<name>_2.png``, …
``--reuse-weights`` makes the homework load an existing ``solutions/vae_tarea/vae_tarea.weights.h5`` (the committed
one was trained 30 epochs with the same networks by ``vae_lib.VAE`` on a GPU; ``training_history.json`` holds its curves).
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.notebooks import ASSIGNMENTS, REPO_ROOT, read, source_path, write


def solutions_dir(assignment: str, root: Path = REPO_ROOT) -> Path:
    return Path(root) / "solutions" / assignment


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


def execute(assignment: str, quick: bool = False, reuse_weights: bool = False, root: Path = REPO_ROOT) -> Path:
    folder = solutions_dir(assignment, root)
    folder.mkdir(parents=True, exist_ok=True)
    nb = read(source_path(assignment, root))
    env_backup = dict(os.environ)
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ.pop("VAEKIT_REUSE_WEIGHTS", None)
    if reuse_weights:
        os.environ["VAEKIT_REUSE_WEIGHTS"] = "1"
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend, so figures land in the notebook
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if quick:
        os.environ["VAEKIT_QUICK"] = "1"
    else:
        os.environ.pop("VAEKIT_QUICK", None)
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        print(f"{assignment}: executed in {time.perf_counter() - start:.0f} s", flush=True)
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    path = write(nb, folder / f"{assignment}.ipynb")
    for png in save_figures(nb, folder):
        print("  figure:", png.relative_to(root))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS), choices=list(ASSIGNMENTS) + [[]])
    parser.add_argument("--quick", action="store_true", help="VAEKIT_QUICK=1: short training, to try the pipeline")
    parser.add_argument("--reuse-weights", action="store_true",
                        help="VAEKIT_REUSE_WEIGHTS=1: the homework loads solutions/vae_tarea/vae_tarea.weights.h5 "
                             "when present instead of training 30 epochs")
    args = parser.parse_args(argv)
    for assignment in args.assignments or ASSIGNMENTS:
        print(execute(assignment, quick=args.quick, reuse_weights=args.reuse_weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())
