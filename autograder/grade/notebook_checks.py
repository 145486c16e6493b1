"""A submitted notebook before nbgrader sees it, and the zero that replaces one that cannot be graded."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.utils import is_grade


def notebook_problem(data: bytes | None, name: str) -> str | None:
    """A Spanish description of why ``data`` cannot be graded as a notebook, or None when it can."""
    if data is None:
        return f"no se encontró el cuaderno {name} en la entrega"
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 (any parse or schema error means the same to the student)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.split(":")[0][:80]
        return f"el archivo {name} no es un cuaderno de Jupyter válido ({first}; JSON inválido o incompleto)"
    return None


def release_grade_ids(release: Path) -> set[str]:
    """The grade ids of the blank release's cells."""
    nb = nbformat.read(str(release), as_version=4)
    return {g for c in nb.cells if isinstance(g := c.get("metadata", {}).get("nbgrader", {}).get("grade_id"), str)}


def normalise_grade_cells(nb, known: set[str]) -> list[str]:
    """Make nbgrader's metadata safe to grade: every cell that claims a grade id must carry one of the release's, and
    only once (the first copy counts; a pasted duplicate becomes an ordinary cell). Returns "revisar a mano" flags."""
    seen: set[str] = set()
    flags = []
    for index, cell in enumerate(nb.cells):
        md = cell.get("metadata", {}).get("nbgrader")
        if md is None:
            continue
        grade_id = md.get("grade_id") if isinstance(md, dict) else None
        problem = None
        if not isinstance(grade_id, str) or grade_id not in known:
            problem = "metadatos de nbgrader desconocidos"
        elif grade_id in seen:
            problem = f"celda de calificación «{grade_id}» duplicada: cuenta solo la primera"
        if problem is None:
            seen.add(grade_id)
            continue
        del cell.metadata["nbgrader"]
        flags.append(f"{problem} (celda {index})")
    return flags


def checked_notebook(data: bytes, known: set[str]) -> tuple[bytes, list[str]]:
    """The submitted notebook with nbgrader's metadata made safe to grade (``normalise_grade_cells``)."""
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    flags = normalise_grade_cells(nb, known)
    return (nbformat.writes(nb).encode("utf-8"), flags) if flags else (data, [])


def zero_notebook(release: Path, problem: str) -> nbformat.NotebookNode:
    """The blank release with the reason on top and every code grade cell failing: nbgrader records 0 points."""
    nb = nbformat.read(str(release), as_version=4)
    text = f"{problem[0].upper()}{problem[1:]}."
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"## ⚠ vaekit: tu entrega no se pudo calificar\n\n{text}\n\n"
        "Se calificó el cuaderno en blanco en su lugar (0 puntos). Revisa el archivo y vuelve a entregarlo."))
    for cell in nb.cells:
        if is_grade(cell) and cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("error", ename="VaekitError", evalue=text,
                                                   traceback=[f"VaekitError: {text}"])]
    return nb
