"""The feedback page: vaekit's report rendered by the page's own template, not spliced into finished HTML.

Three pieces, configured in ``nbgrader_config.py`` (so plain ``nbgrader generate_feedback`` makes the same page):

* ``FeedbackReport`` (a feedback preprocessor, after nbgrader's GetGrades): reads the student's vaekit result
  (``.vaekit/results/<A>/<student>.json``: status, the judge's verdict and figures per part) and the gradebook
  (every cell's points, whether it still waits for a manual grade) into ``resources["vaekit_report"]``.
* ``ImageAltText`` (a feedback preprocessor): every image the notebook drew gets a Spanish alt text (the figure's
  ``title=`` in the cell that drew it, else the section it is in), instead of nbconvert's English placeholder.
* ``FeedbackHTMLExporter``: ``OfflineMathHTMLExporter`` (math without a network) with the template
  ``vaekit_feedback`` (``autograder/templates``), which extends nbgrader's ``feedback`` template: ``lang="es"``, the
  part table on top (styled, phone and print layouts), the judge's figures, Spanish cell headings, and one
  rounding for every score (``points``); it replaces nbgrader's "Test cell (Score …)" list.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

from autograder.offline_math import OfflineMathHTMLExporter

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = "vaekit_feedback"


def points(x) -> str:
    """The one rounding of the page: at most 3 decimals (the judge's own), no trailing zeros ("0.375", "2")."""
    value = round(float(x), 3)
    return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _mark(score: float, max_score: float, pending: bool) -> tuple[str, str, str]:
    """(state, symbol, Spanish word) of one part."""
    if pending:
        return "pendiente", "…", "pendiente de calificar a mano"
    if score >= max_score - 1e-9:
        return "completa", "✔", "completa"
    return ("parcial", "◐", "parcial") if score > 1e-9 else ("cero", "✘", "sin puntos")


class FeedbackReport(Preprocessor):
    """Puts the student's report in ``resources["vaekit_report"]`` for the ``vaekit_feedback`` template."""

    enabled = Bool(True).tag(config=True)  # nbgrader registers preprocessors without enabling them
    course_root = Unicode("", help="course root (default: c.CourseDirectory.root, else the working folder)"
                          ).tag(config=True)

    def _root(self) -> Path:
        if self.course_root:
            return Path(self.course_root)
        root = self.config.get("CourseDirectory", {}).get("root")
        return Path(root) if root else Path.cwd()

    def _result(self, assignment: str, student: str) -> dict:
        path = self._root() / ".vaekit" / "results" / assignment / f"{student}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _gradebook(self, nbg: dict) -> dict:
        """grade_id -> (score, max_score, pending manual grade) and the notebook's totals, from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(nbg["db_url"]) as gb:
            notebook = gb.find_submission_notebook(nbg["notebook"], nbg["assignment"], nbg["student"])
            grades = {g.name: (float(g.score), float(g.max_score), bool(g.needs_manual_grade)) for g in notebook.grades}
            penalty = float(notebook.late_submission_penalty or 0.0)
            return {"grades": grades, "score": float(notebook.score) - penalty, "max_score": float(notebook.max_score),
                    "late_penalty": penalty}

    def preprocess(self, nb, resources):
        nbg = resources.get("nbgrader", {})
        if not nbg.get("db_url"):
            return nb, resources
        book = self._gradebook(nbg)
        result = self._result(nbg["assignment"], nbg["student"])
        verdicts = result.get("verdicts", {})
        order = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
        parts, cells = [], {}
        for grade_id in order + [g for g in book["grades"] if g not in order]:
            if grade_id not in book["grades"]:
                continue
            score, max_score, pending = book["grades"][grade_id]
            verdict = verdicts.get(grade_id) or {}
            state, symbol, word = _mark(score, max_score, pending)
            text = f"— / {points(max_score)}" if pending else f"{points(score)} / {points(max_score)}"
            cells[grade_id] = {"points": text, "pending": pending, "state": state}
            failures = [o.get("message", "") for o in verdict.get("outcomes", []) if not o.get("passed")]
            parts.append({
                "grade_id": grade_id, "points": text, "state": state, "symbol": symbol, "word": word,
                "title": verdict.get("title") or (f"Respuesta escrita «{grade_id}»" if pending or not verdict
                                                  else grade_id),
                "diagnosis": "pendiente: la califica el profesor a mano" if pending else "; ".join(failures),
                "notes": list(verdict.get("notes", [])),
                "figures": [f for f in verdict.get("figures", []) if f.get("png") and f.get("alt")],
            })
        pending_points = sum(m for _, m, p in book["grades"].values() if p)
        status = result.get("status", "ok")
        resources["vaekit_report"] = {
            "assignment": nbg["assignment"], "student": nbg["student"],
            "score": points(book["score"]), "max_score": points(book["max_score"]),
            "late_penalty": points(book["late_penalty"]) if book["late_penalty"] else "",
            "pending_points": points(pending_points) if pending_points else "",
            "status": status if status in ("ok", "neutralised", "zero") else "ok",
            "status_text": {"ok": "calificada", "neutralised": "calificada (celda neutralizada)",
                            "zero": "sin calificar: 0"}.get(status, "calificada"),
            "message": result.get("message", ""), "sandbox": bool(result.get("sandbox", True)),
            "parts": parts, "cells": cells, "has_figures": any(p["figures"] for p in parts),
        }
        return nb, resources


_TITLE = re.compile(r"""\btitle\s*=\s*f?(["'])(.{3,120}?)\1""")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class ImageAltText(Preprocessor):
    """A Spanish alt text for every image output that has none (``metadata[mime]["alt"]``, which nbconvert's
    templates put in ``<img alt>``, escaped)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        section = ""
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                headings = _HEADING.findall(cell.source)
                if headings:
                    section = re.sub(r"[`*_$\\]", "", headings[-1]).strip()
                continue
            if cell.cell_type != "code":
                continue
            titles = [m.group(2) for m in _TITLE.finditer(cell.source) if "{" not in m.group(2)]
            images = [(out, mime) for out in cell.get("outputs", []) for mime in ("image/png", "image/jpeg",
                                                                                  "image/svg+xml")
                      if mime in out.get("data", {})]
            for number, (out, mime) in enumerate(images):
                meta = out.setdefault("metadata", {}).setdefault(mime, {})
                if meta.get("alt"):
                    continue
                if number < len(titles):
                    what = f"«{titles[number]}»"
                elif section:
                    what = f"de la sección «{section}»"
                else:
                    what = "de tu cuaderno"
                meta["alt"] = f"Figura {what} (celda {index + 1}), dibujada por tu código"
        return nb, resources


class FeedbackHTMLExporter(OfflineMathHTMLExporter):
    """nbgrader's feedback page in vaekit's template (see the module doc); math offline as its parent."""

    export_from_notebook = "HTML (vaekit feedback)"

    def __init__(self, config=None, **kw):
        super().__init__(config=config, **kw)
        if self.template_name == "feedback":  # nbgrader's GenerateFeedback asks for its own template: ours extends it
            self.template_name = TEMPLATE
        if str(TEMPLATES) not in self.extra_template_basedirs:
            self.extra_template_basedirs = [*self.extra_template_basedirs, str(TEMPLATES)]
        # ours extends 'feedback/index.html.j2': nbgrader's template folder is searched by name too
        self.extra_template_paths = [*self.extra_template_paths,
                                     *(d for d in self.extra_template_basedirs if d != str(TEMPLATES))]
        self.template_paths = self._template_paths()  # computed once, at the first use: again for our template
        self.register_filter("points", points)
