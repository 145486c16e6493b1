"""HTML feedback per student: nbgrader's feedback (hidden tests cleared) plus vaekit's note on top.

The autograded notebook keeps every cell output, so the feedback shows the checks' ✔/✘ diagnosis lines, the
Spanish AssertionError of a failed part and the student's own figures (sample grid, interpolation strip) as
embedded PNGs. ``generate_feedback`` refuses to leave a page that contains hidden-test text.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from autograder.course import Course
from autograder.results import load_results
from autograder.notebooks import lines_inside_markers, read

BANNER_MARK = "<!-- vaekit-banner -->"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


class ShortenHiddenTestTracebacks(Preprocessor):
    """Feedback preprocessor (before ClearHiddenTests): the error of a grade cell that has hidden tests keeps only
    its last line (``AssertionError: <Spanish diagnosis>``). IPython's traceback quotes the lines around the
    failing one, hidden tests included, and ClearHiddenTests only clears the cell's source."""

    enabled = Bool(True).tag(config=True)  # nbgrader registers preprocessors without enabling them

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"\x1b[31m{out.get('ename', 'Error')}\x1b[39m: {out.get('evalue', '')}"]
        return cell, resources


FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.ShortenHiddenTestTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


def hidden_test_lines(course: Course, assignment: str) -> list[str]:
    """The non-trivial lines (over 8 characters) of every hidden-test block in the source notebook."""
    source = read(course.root / "source" / assignment / f"{assignment}.ipynb")
    return lines_inside_markers(source, blocks=("HIDDEN TESTS",), min_length=9)


def page_text(page: str) -> str:
    """The visible text of an HTML page (tags and ANSI colour codes removed, entities decoded)."""
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def leaked_hidden_tests(page: str, hidden: list[str]) -> list[str]:
    text = page_text(page)
    return [line for line in hidden if line in text] + ([HIDDEN_BEGIN] if HIDDEN_BEGIN in text else [])


def banner(result) -> str:
    parts = [f"<b>vaekit</b> — {html.escape(result.assignment)}: <b>{result.score:g} / {result.max_score:g}</b> "
             f"puntos ({html.escape(result.status.text)})."]
    if result.message:
        parts.append(f"<br>{html.escape(result.message)}")
    colour = {"ok": "#e8f5e9", "neutralised": "#fff8e1", "zero": "#ffebee"}[result.status.value]
    return (f'{BANNER_MARK}<div style="background:{colour};border:1px solid #999;padding:10px;margin:10px;'
            f'font-family:sans-serif">{"".join(parts)}</div>')


def add_banner(page: str, result) -> str:
    if BANNER_MARK in page:
        start = page.index(BANNER_MARK)
        end = page.index("</div>", start) + len("</div>")
        page = page[:start] + page[end:]
    at = page.find(">", page.find("<body")) + 1
    return page[:at] + banner(result) + page[at:]


def generate_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write ``feedback/<student>/<A>/<A>.html`` for the graded students; returns the pages written."""
    results = load_results(course.results, assignment)
    args = ["generate_feedback", assignment, "--force",
            "--GenerateFeedback.preprocessors=" + repr(FEEDBACK_PREPROCESSORS)]
    if students and len(students) == 1:
        args += ["--student", students[0]]
    course.nbgrader(*args)
    hidden = hidden_test_lines(course, assignment)
    pages = []
    for student in sorted(students or course.students(assignment)):
        path = course.feedback_html(student, assignment)
        if not path.exists():
            continue
        page = path.read_text(encoding="utf-8")
        leaks = leaked_hidden_tests(page, hidden)
        if leaks:
            path.unlink()
            raise RuntimeError(f"La retroalimentación de {student} mostraba tests ocultos ({leaks[0]!r}); se borró. "
                               "Revisa c.GenerateFeedback.preprocessors en nbgrader_config.py.")
        if student in results:
            path.chmod(0o644)
            path.write_text(add_banner(page, results[student]), encoding="utf-8")
        pages.append(path)
    return pages
