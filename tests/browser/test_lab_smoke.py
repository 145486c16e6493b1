"""The browser machinery itself, on a two-cell nbgrader notebook: JupyterLab opens it, runs it, and nbgrader's
Validate button reports success for a correct answer and the failing cell for a wrong one."""
from __future__ import annotations

import nbformat
import pytest

pytestmark = pytest.mark.browser


def _tiny_notebook(answer: str) -> nbformat.NotebookNode:
    def meta(**kw):
        base = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
        base.update(kw)
        return {"nbgrader": base}

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("Suma dos números.", metadata=meta(grade_id="intro", locked=True)),
        nbformat.v4.new_code_cell(f"def suma(a, b):\n    return {answer}", metadata=meta(grade_id="suma", solution=True)),
        nbformat.v4.new_code_cell(
            "assert suma(2, 3) == 5, 'suma(2, 3) debería dar 5'\nprint('suma correcta')",
            metadata=meta(grade_id="test_suma", grade=True, locked=True, points=1)),
    ]
    return nb


@pytest.mark.parametrize("answer, passes", [("a + b", True), ("a - b", False)], ids=["correct", "wrong"])
def test_validate_button_on_a_tiny_notebook(student, lab_root, answer, passes):
    folder = lab_root / f"tiny-{'ok' if passes else 'bad'}"
    folder.mkdir()
    nbformat.write(_tiny_notebook(answer), str(folder / "tiny.ipynb"))

    student.open(f"{folder.name}/tiny.ipynb")
    student.run_all(timeout_ms=30_000)
    cells = student.cells()
    assert [c.ran for c in cells] == [True, True]
    if passes:
        assert "suma correcta" in cells[1].text and not cells[1].error
    else:
        assert "AssertionError" in cells[1].error and "suma(2, 3) debería dar 5" in cells[1].error

    dialog = student.validate(timeout_ms=60_000)
    student.screenshot(f"smoke-{'ok' if passes else 'bad'}-validate", dialog)
    body = dialog.locator("#validation-message")
    if passes:
        assert "Success! Your notebook passes all the tests." in body.inner_text()
    else:
        text = body.inner_text()
        assert "The following cell failed:" in text and "suma(2, 3) debería dar 5" in text
