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
REPORT_MARK = "<!-- vaekit-report -->"  # written by autograder/templates/vaekit_feedback (FeedbackReport's data)


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


FALLBACK_PAGE = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title></head>
<body><main>{banner}<p>{why}</p></main></body></html>
"""


def fallback_page(path: Path, result, grades, manual, total, why: str) -> None:
    """A page with vaekit's part table only, when nbgrader's page of this notebook could not be made or kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(0o644)
    path.write_text(FALLBACK_PAGE.format(title=html.escape(f"{result.assignment}: retroalimentación"),
                                         banner=banner(result, grades, manual, total), why=html.escape(why)),
                    encoding="utf-8")


def generate_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write ``feedback/<student>/<A>/<A>.html`` for the graded students; returns the pages written.

    One student's notebook cannot fail or strip anyone else's page: nbgrader runs once for everyone, a student
    whose page it could not make is retried alone, and a page that still fails (or would show hidden-test text) is
    replaced by vaekit's part table with the reason, for that student only."""
    results = load_results(course.results, assignment)
    chosen = sorted(students or course.students(assignment))
    args = ["generate_feedback", assignment, "--force"]  # preprocessors: c.GenerateFeedback in nbgrader_config.py
    batch = course.nbgrader(*args, *(["--student", chosen[0]] if len(chosen) == 1 else []), check=False)
    hidden = hidden_test_lines(course, assignment)
    pages = []
    for student in chosen:
        path = course.feedback_html(student, assignment)
        if not path.exists() and batch.returncode != 0 and len(chosen) > 1:
            course.nbgrader(*args, "--student", student, check=False)
        if student not in results:  # graded by plain nbgrader: its page, unless it shows hidden tests
            if path.exists() and leaked_hidden_tests(path.read_text(encoding="utf-8"), hidden):
                path.unlink()
            elif path.exists():
                pages.append(path)
            continue
        scores = course.scores(assignment, student)
        grades, manual, total = scores.grades, scores.manual, (scores.score, scores.max_score)
        if not path.exists():
            fallback_page(path, results[student], grades, manual, total,
                          "nbgrader no pudo generar la página de tu cuaderno; tu nota y el diagnóstico por partes "
                          "están arriba. Si tu entrega tiene cuadernos o celdas extra, retíralos.")
            pages.append(path)
            continue
        page = path.read_text(encoding="utf-8")
        if leaked_hidden_tests(page, hidden):
            fallback_page(path, results[student], grades, manual, total,
                          "La página de tu cuaderno se retiró porque mostraba texto de los tests ocultos; tu nota y "
                          "el diagnóstico por partes están arriba.")
            pages.append(path)
            continue
        if REPORT_MARK not in page:  # the vaekit_feedback template renders the report; another template gets the banner
            path.chmod(0o644)
            path.write_text(add_banner(page, banner(results[student], grades, manual, total)), encoding="utf-8")
        pages.append(path)
    return pages
