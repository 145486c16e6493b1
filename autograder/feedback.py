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


BANNER_END = "<!-- /vaekit-banner -->"


def part_rows(result, grades: dict[str, list[float]], manual: list[str]) -> list[tuple[str, str, str, str]]:
    """(part name, points, mark, diagnosis) per grade cell, in the gradebook's order, with manual scores."""
    rows = []
    for grade_id, (score, max_score) in grades.items():
        verdict = result.verdicts.get(grade_id)
        name = verdict["title"] if verdict else f"Pregunta «{grade_id}» (calificación a mano)"
        if grade_id in manual:
            rows.append((name, f"— / {max_score:g}", "…", "pendiente de calificación a mano"))
            continue
        mark = "✔" if score >= max_score - 1e-9 else ("◐" if score > 0 else "✘")
        failures = [o["message"] for o in verdict["outcomes"] if not o["passed"]] if verdict else []
        rows.append((name, f"{score:g} / {max_score:g}", mark, "; ".join(failures)))
    return rows


def banner(result, grades: dict[str, list[float]] | None = None, manual: list[str] | None = None,
           total: tuple[float, float] | None = None) -> str:
    """The report at the top of the page: total, status, message, and one row per part."""
    grades = result.grades if grades is None else grades
    manual = result.manual if manual is None else manual
    score, max_score = total or (result.score, result.max_score)
    esc = html.escape
    parts = [f"<div style='font-size:1.3em'><b>vaekit</b> — {esc(result.assignment)}: <b>{score:g} / "
             f"{max_score:g}</b> puntos ({esc(result.status.text)}).</div>"]
    if result.message:
        parts.append(f"<p>{esc(result.message)}</p>")
    if not result.sandbox:
        parts.append("<p><b>Calificada sin sandbox</b> (--no-sandbox).</p>")
    cells = "".join(f"<tr><td>{esc(n)}</td><td style='text-align:right'>{esc(p)}</td><td>{m}</td><td>{esc(d)}</td></tr>"
                    for n, p, m, d in part_rows(result, grades, manual))
    parts.append("<table style='border-collapse:collapse;margin-top:6px' border='1' cellpadding='4'>"
                 "<tr><th>parte</th><th>puntos</th><th></th><th>diagnóstico</th></tr>" + cells + "</table>")
    colour = {"ok": "#e8f5e9", "neutralised": "#fff8e1", "zero": "#ffebee"}[result.status.value]
    return (f'{BANNER_MARK}<div style="background:{colour};border:1px solid #999;padding:10px;margin:10px;'
            f'font-family:sans-serif">{"".join(parts)}</div>{BANNER_END}')


def add_banner(page: str, banner_html: str) -> str:
    if BANNER_MARK in page and BANNER_END in page:
        page = page[:page.index(BANNER_MARK)] + page[page.index(BANNER_END) + len(BANNER_END):]
    at = page.find(">", page.find("<body")) + 1
    return page[:at] + banner_html + page[at:]


def generate_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write ``feedback/<student>/<A>/<A>.html`` for the graded students; returns the pages written."""
    results = load_results(course.results, assignment)
    args = ["generate_feedback", assignment, "--force"]  # preprocessors: c.GenerateFeedback in nbgrader_config.py
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
            from autograder.engine import read_scores

            score, max_score, grades, manual = read_scores(course, assignment, student)
            path.chmod(0o644)
            page = add_banner(page, banner(results[student], grades, manual, (score, max_score)))
            path.write_text(page, encoding="utf-8")
        pages.append(path)
    return pages
