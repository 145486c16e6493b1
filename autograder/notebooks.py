"""Notebook plumbing shared by the workflow, the examples and the tests.

Paths follow the nbgrader course layout: ``source/<A>/<A>.ipynb`` and ``release/<A>/<A>.ipynb``.
Cells are matched by their nbgrader ``grade_id``.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.assignments import ASSIGNMENTS as _TABLE

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = tuple(_TABLE)  # the assignments' names, in the table's order (``autograder.assignments``)

_SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def source_path(assignment: str, root: Path = REPO_ROOT) -> Path:
    return Path(root) / "source" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str, root: Path = REPO_ROOT) -> Path:
    return Path(root) / "release" / assignment / f"{assignment}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def cells_by_grade_id(nb) -> dict:
    return {gid: cell for cell in nb.cells if (gid := grade_id(cell))}


def is_solution_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def strip_solution_markers(source: str) -> str:
    """The instructor's text of a solution cell with the nbgrader marker lines removed (what a student writes)."""
    lines = [ln for ln in source.splitlines() if ln.strip() not in _SOLUTION_MARKERS]
    return "\n".join(lines)


def lines_inside_markers(nb, blocks=("SOLUTION", "HIDDEN TESTS"), min_length: int = 1,
                         whole_solution_markdown: bool = False) -> list[str]:
    """Stripped, non-comment lines of at least ``min_length`` characters inside the nbgrader regions
    ``### BEGIN <block>`` … ``### END <block>`` (and, optionally, every line of markdown solution cells)."""
    begins = tuple(f"### BEGIN {block}" for block in blocks)
    ends = tuple(f"### END {block}" for block in blocks)
    found = []
    for cell in nb.cells:
        whole = whole_solution_markdown and cell.cell_type == "markdown" and is_solution_cell(cell)
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith(begins):
                inside = True
            elif stripped.startswith(ends):
                inside = False
            elif (inside or whole) and len(stripped) >= min_length and not stripped.startswith("#"):
                found.append(stripped)
    return found


def solutions_of(assignment: str, root: Path = REPO_ROOT) -> dict[str, str]:
    """grade_id -> solution text (markers stripped) for every solution cell of the source notebook."""
    nb = read(source_path(assignment, root))
    return {gid: strip_solution_markers(c.source) for gid, c in cells_by_grade_id(nb).items() if is_solution_cell(c)}


def filled_release(assignment: str, root: Path = REPO_ROOT, edits: dict[str, tuple[str, str]] | None = None):
    """The release notebook with every solution cell filled in as a correct student would.

    ``edits`` maps grade_id -> (find, replace), applied to that cell's filled text; ``find`` must occur
    exactly once (used to plant canonical mistakes).
    """
    nb = copy.deepcopy(read(release_path(assignment, root)))
    solutions = solutions_of(assignment, root)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in solutions:
            cell.source = solutions[gid]
    for gid, (find, replace) in (edits or {}).items():
        cell = cells_by_grade_id(nb).get(gid)
        if cell is None:
            raise KeyError(f"{assignment}: no cell with grade_id {gid!r}")
        count = cell.source.count(find)
        if count != 1:
            raise ValueError(f"{assignment}/{gid}: {find!r} occurs {count} times, expected exactly once")
        cell.source = cell.source.replace(find, replace)
    return nb
