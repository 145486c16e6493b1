"""Issue 5: the student's experience, in a real JupyterLab 4 with nbgrader's extension, in headless Chromium.

For each assignment, as a student:
1. the release notebook exactly as released: run all cells (and, after each error, the cells below it, as a
   student does): the stubs raise NotImplementedError and nothing else breaks;
2. every part filled in correctly: every cell runs, the visible tests give full marks, the sample grid and the
   interpolation strip render as images, and nbgrader's Validate reports success;
3. one canonical mistake planted: Validate names the failing visible-test cell and shows its Spanish diagnosis.

The student's notebook holds only the visible tests (nbgrader strips the hidden ones from the release), so what the
student reads is the visible tests' Spanish assertion messages.

Screenshots of every state go to test-output/browser/<assignment>-<n>-<state>-*.png.
The kernels train in the notebooks' quick mode (conftest.QUICK_ENV) so the whole module runs in grading-sized time.
"""
from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass

import nbformat
import pytest

from autograder import notebooks
from autograder.authoring import mistakes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENTS = notebooks.ASSIGNMENTS
# the student's functions whose results a notebook draws: (function, screenshot name)
_VAE_DRAWN = (("sample_images", "samples"), ("interpolate", "interpolation"))
DRAWN_BY = {"vae_clase": _VAE_DRAWN, "vae_tarea": _VAE_DRAWN, "vae_condicional": (("sample_class", "samples"),)}

STUB_RAISES = ("NotImplementedError", "Completa esta función")
SUCCESS = "Success! Your notebook passes all the tests."
RUN_TIMEOUT_MS = 420_000  # generous: only a bound against a hang (2 busy cores run a notebook in ~1 min)
VALIDATE_TIMEOUT_MS = 420_000

_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt))\b", re.M)


@dataclass
class FileCell:
    """A code cell as stored in the served notebook (the DOM lists code cells in the same order)."""

    index: int
    source: str
    grade_id: str | None
    solution: bool
    grade: bool


def file_code_cells(path) -> list[FileCell]:
    nb = nbformat.read(str(path), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    out = []
    for i, c in enumerate(cells):
        meta = c.get("metadata", {}).get("nbgrader", {})
        out.append(FileCell(i, c.source, meta.get("grade_id"), bool(meta.get("solution")), bool(meta.get("grade"))))
    return out


def exception_of(cell) -> str | None:
    """The exception a cell's output shows (its name), or None; stderr warnings alone do not count."""
    if "Traceback" not in cell.error and not _EXCEPTION_LINE.search(cell.error):
        return None
    names = _EXCEPTION_LINE.findall(cell.error)
    return names[-1] if names else "Traceback"


def bound_names(source: str) -> set[str]:
    """Names a cell binds at top level (assignments, defs, classes, imports, for/with targets)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def stub_consequence(error: str, earlier_failed_sources: list[str]) -> bool:
    """An error a stub explains: NotImplementedError, or a NameError for a name that an earlier cell (which
    itself stopped at a stub) would have defined."""
    if any(s in error for s in STUB_RAISES):
        return True
    m = re.search(r"NameError: name '(\w+)' is not defined", error)
    return bool(m) and any(m.group(1) in bound_names(src) for src in earlier_failed_sources)


def serve(lab_root, assignment: str, state: str, nb=None):
    """Copy the release notebook (or write ``nb``) into its own served folder; returns (relpath, path)."""
    folder = lab_root / f"{assignment}-{state}"
    folder.mkdir()
    path = folder / f"{assignment}.ipynb"
    if nb is None:
        shutil.copy(notebooks.release_path(assignment), path)
    else:
        notebooks.write(nb, path)
    return f"{folder.name}/{path.name}", path


def run_everything(student, n_cells: int) -> list[int]:
    """Run All; after each error, run the cells below it (a student reading the error and going on).
    Returns the indices of the code cells that raised."""
    student.run_all(RUN_TIMEOUT_MS)
    raised = []
    while True:
        cells = student.cells()
        after = raised[-1] if raised else -1
        first = next((c.index for c in cells if c.index > after and exception_of(c)), None)
        if first is None:
            return raised
        raised.append(first)
        if first + 1 >= n_cells:
            return raised
        student.run_from(first + 1, RUN_TIMEOUT_MS)


def calls_outside_tests(cell: FileCell, name: str) -> bool:
    """The cell calls ``name(...)`` without defining it and is not a grade cell (e.g. the cell that plots)."""
    return f"{name}(" in cell.source and f"def {name}(" not in cell.source and not cell.grade


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_notebook_runs_until_the_stubs(student, lab_root, assignment):
    relpath, path = serve(lab_root, assignment, "release")
    assert path.read_bytes() == notebooks.release_path(assignment).read_bytes()
    file_cells = file_code_cells(path)

    student.open(relpath)
    student.screenshot(f"{assignment}-1-release-opened")
    raised = run_everything(student, len(file_cells))
    cells = student.cells()

    assert len(cells) == len(file_cells)
    not_run = [c.index for c in cells if not c.ran]
    assert not not_run, f"cells never ran: {not_run}"
    for n, i in enumerate(raised):
        earlier = [file_cells[j].source for j in raised[:n]]
        assert stub_consequence(cells[i].error, earlier), (
            f"code cell {i} ({file_cells[i].grade_id}) broke for a reason other than a stub:\n"
            f"{file_cells[i].source[:400]}\n---\n{cells[i].error[-1500:]}")
    # The stubs are where it stops: every part's solution cell or the cells that call it raise NotImplementedError.
    assert any(STUB_RAISES[0] in cells[i].error for i in raised), "no stub raised NotImplementedError"
    # Data loading and the plots that need no student code render images before any stub.
    assert any(c.images for c in cells if c.index < raised[0]), "no figure rendered before the first stub"
    # Every visible test reports the part the student still has to write.
    grade_cells = [c for c in file_cells if c.grade]
    assert grade_cells, "the release notebook has no grade cells"
    silent = [c.grade_id for c in grade_cells if c.index not in raised]
    assert not silent, f"grade cells that did not flag the unimplemented parts: {silent}"
    student.screenshot(f"{assignment}-1-release-stub-error", student.code_cells.nth(raised[0]))
    student.screenshot(f"{assignment}-1-release-after-running-everything")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_filled_notebook_runs_and_validates(student, lab_root, assignment):
    relpath, path = serve(lab_root, assignment, "filled", notebooks.filled_release(assignment))
    file_cells = file_code_cells(path)

    student.open(relpath)
    student.run_all(RUN_TIMEOUT_MS)
    cells = student.cells()

    assert len(cells) == len(file_cells)
    broken = [(c.index, exception_of(c), c.error[-800:]) for c in cells if exception_of(c)]
    assert not broken, f"cells raised in the correctly filled notebook: {broken}"
    assert all(c.ran for c in cells), [c.index for c in cells if not c.ran]
    # nbgrader scores a grade cell 0 on any error or stderr output: the visible tests print nothing to stderr.
    noisy = {fc.grade_id: cells[fc.index].error[-400:] for fc in file_cells if fc.grade and cells[fc.index].error}
    assert not noisy, f"visible tests wrote to stderr: {noisy}"

    for name, shot in DRAWN_BY[assignment]:
        plotted = [c.index for c in file_cells if calls_outside_tests(c, name) and cells[c.index].images > 0]
        assert plotted, f"no cell calling {name}() rendered a figure"
        student.screenshot(f"{assignment}-2-filled-{shot}", student.image_output(plotted[0]))

    dialog = student.validate(VALIDATE_TIMEOUT_MS)
    student.screenshot(f"{assignment}-2-filled-validate")
    text = dialog.locator("#validation-message").inner_text()
    assert SUCCESS in text, text[:3000]


# The canonical mistake shown to the student, from the catalogue, and a word of the visible test's diagnosis.
MISTAKE_ID, DIAGNOSIS_WORD = "kl_sign_flipped", "signo"


def assertion_messages(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r"^AssertionError: (.+)$", text, re.M)]


@pytest.mark.parametrize("assignment", mistakes.by_id(MISTAKE_ID).assignments)
def test_canonical_mistake_is_diagnosed(student, lab_root, assignment):
    mistake = mistakes.by_id(MISTAKE_ID)
    relpath, path = serve(lab_root, assignment, "mistake", notebooks.filled_release(assignment, edits=mistake.edits()))
    grade_cell = next(c for c in file_code_cells(path) if c.grade_id == mistake.check_grade_id)

    student.open(relpath)
    dialog = student.validate(VALIDATE_TIMEOUT_MS)
    student.scroll_dialog_to_end(dialog)
    student.screenshot(f"{assignment}-3-mistake-validate")
    text = dialog.locator("#validation-message").inner_text()

    assert SUCCESS not in text
    failed = text.split("The following cell failed:")[1:]
    assert len(failed) == 1, f"expected exactly the {grade_cell.grade_id} cell to fail:\n{text[:3000]}"
    first_line = grade_cell.source.strip().splitlines()[0]
    assert first_line in failed[0], f"Validate does not show the {grade_cell.grade_id} cell:\n{failed[0][:2000]}"
    shown = assertion_messages(failed[0])
    assert shown, f"no Spanish diagnosis in the Validate dialog:\n{failed[0][-1500:]}"
    # The diagnosis is the visible test's own Spanish message, and it points at the mistake.
    assert all(msg in grade_cell.source for msg in shown), shown
    assert any(DIAGNOSIS_WORD in msg for msg in shown), shown
