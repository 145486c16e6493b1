"""The colours a notebook's outputs carry into a feedback page stay readable: IPython's highlighted tracebacks
(ANSI classes, 256-colour inline styles) from a real kernel, rendered by vaekit's feedback exporter, checked by
axe-core in Chromium."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    # a library's own error, raised deep inside vae_runtime (its highlighted source lines, strings, comments)
    "import os\nos.environ.update(VAE_DATA_DIR='/nonexistent', VAE_NO_DOWNLOAD='1')\nimport vae_runtime as vr\n"
    "vr.load_dataset('fashion_mnist', split='train', limit=5)",
    "def f(a):\n    return g(a)\n\ndef g(b):\n    return b / 0\n\nf(1)",  # the student's own frames
    "import sys\nprint('\\x1b[92maviso\\x1b[0m \\x1b[38;5;179mnaranja\\x1b[0m', file=sys.stderr)",  # raw ANSI on stderr
]


@pytest.mark.browser
def test_tracebacks_and_coloured_stderr_pass_axe_contrast_in_the_feedback_page(tmp_path):
    import nbgrader
    import pagecheck

    from autograder.feedback_page import FeedbackHTMLExporter

    if pagecheck.missing():
        pytest.fail("; ".join(pagecheck.missing()), pytrace=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, allow_errors=True, timeout=120).execute()
    assert [o.output_type for c in nb.cells for o in c.outputs] == ["error", "error", "stream"]
    assert any("\x1b[38;5;" in line for line in nb.cells[0].outputs[0].traceback)  # 256-colour highlighting
    nbgrader_templates = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader",
                                      "templates")  # where nbgrader's GenerateFeedback finds 'feedback'
    exporter = FeedbackHTMLExporter(template_name="feedback", extra_template_basedirs=[nbgrader_templates])
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": "vae_tarea"},
                                                         "nbgrader": {"score": 0, "max_score": 1}})
    page = tmp_path / "vae_tarea.html"
    page.write_text(body, encoding="utf-8")
    assert "vk-total" in body and "ansi-" in body  # vaekit's page, with the outputs' colour classes
    (violations,) = pagecheck.check_pages([(page, None)])
    assert not pagecheck.serious(violations), pagecheck.serious(violations)
