"""Grades into Moodle: a CSV that Moodle's grade import (Calificaciones → Importar → Archivo CSV) accepts.

Input: the course's gradebook and vaekit results, and a roster exported from Moodle's participants page
("Descargar datos de la tabla como CSV"; English or Spanish headers, comma or semicolon separated; the gradebook's
own export works too). Each nbgrader student id is looked up in the roster (``match``):

- ``auto`` (default): the id equals, ignoring case, one row's ID number, email, the email's part before ``@``,
  or username, and exactly one row;
- ``idnumber`` / ``email`` / ``username``: only that column (``email`` also accepts the part before ``@``).

Output, one row per roster student (Moodle aborts the whole import on a user it does not know, so students
outside the roster are left out and reported): ``Nombre``, ``Apellido(s)``, ``Número de ID``, ``Dirección de
correo`` (map either identifier in Moodle's import: "useridnumber" or "useremail"), then per assignment a grade
column ``<A>`` (automatic + manual points minus nbgrader's late penalty, on the assignment's scale: create the
grade item with that maximum) and ``<A> - Retroalimentación`` (plain Spanish text: total, status, late penalty,
one line per part with its points and diagnosis, the TA's comments). A roster student without a submission gets
``-`` (Moodle's "no grade"; an empty cell would become 0 in a new grade item), or 0 with ``missing_as_zero``.
Numbers use a decimal point, which Moodle reads in any language.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from autograder.course import Course
from autograder.errors import VaekitError

MATCHES = ("auto", "idnumber", "email", "username")
NO_GRADE = "-"
# roster column -> the header spellings Moodle writes (English, Spanish; participants page and gradebook export)
HEADERS = {
    "first_name": ("first name", "firstname", "nombre"),
    "last_name": ("last name", "lastname", "surname", "apellido(s)", "apellidos", "apellido"),
    "idnumber": ("id number", "idnumber", "número de id", "numero de id", "número de identificación", "dni"),
    "email": ("email address", "email", "e-mail", "dirección de correo", "dirección email",
              "dirección de correo electrónico", "correo electrónico", "correo"),
    "username": ("username", "nombre de usuario", "usuario"),
}
OUT_COLUMNS = ["Nombre", "Apellido(s)", "Número de ID", "Dirección de correo"]


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", (text or "").strip().lower())


@dataclass
class RosterRow:
    first_name: str = ""
    last_name: str = ""
    idnumber: str = ""
    email: str = ""
    username: str = ""

    @property
    def name(self) -> str:
        who = " ".join(p for p in (self.first_name, self.last_name) if p) or self.username or self.idnumber
        return f"{who} ({self.email})" if self.email else who

    def keys(self, match: str) -> set[str]:
        """The values a student id may equal to be this row, lower-cased."""
        email = _norm(self.email)
        by = {"idnumber": {_norm(self.idnumber)}, "username": {_norm(self.username)},
              "email": {email, email.split("@")[0] if "@" in email else ""}}
        chosen = set().union(*by.values()) if match == "auto" else by[match]
        return {k for k in chosen if k}


def read_roster(path: Path) -> list[RosterRow]:
    """The rows of a Moodle participants export (UTF-8 with or without BOM; ',' ';' or tab separated)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise VaekitError(f"no existe la lista de Moodle {path}: descárgala en Moodle (Participantes → "
                          "seleccionar todos → «Descargar datos de la tabla como» CSV)") from None
    except UnicodeDecodeError:
        text = Path(path).read_text(encoding="cp1252")  # an Excel re-save in Windows' Western encoding
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_norm(h) for h in next(reader, [])]
    where = {key: next((i for i, h in enumerate(header) if h in names), None) for key, names in HEADERS.items()}
    if where["email"] is None and where["idnumber"] is None and where["username"] is None:
        raise VaekitError(f"la lista {path} no tiene columna de correo, número de ID ni nombre de usuario "
                          f"(cabeceras: {', '.join(header) or 'ninguna'}): expórtala desde la página Participantes "
                          "de Moodle")
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        get = lambda k: values[where[k]].strip() if where[k] is not None and where[k] < len(values) else ""  # noqa: E731
        rows.append(RosterRow(**{k: get(k) for k in HEADERS}))
    return rows


@dataclass
class Graded:
    """One student's submission of one assignment, as the gradebook has it."""

    score: float  # after the late penalty
    max_score: float
    penalty: float
    feedback: str


@dataclass
class MoodleExport:
    path: Path
    assignments: dict[str, float]  # assignment -> max score (the Moodle grade item's maximum)
    matched: dict[str, str] = field(default_factory=dict)  # nbgrader id -> roster name
    not_in_roster: list[str] = field(default_factory=list)  # nbgrader ids (with their name when known)
    without_submission: dict[str, list[str]] = field(default_factory=dict)  # assignment -> roster names
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # nbgrader id -> the roster rows it matched
    pending_manual: dict[str, list[str]] = field(default_factory=dict)  # assignment -> ids with parts to grade

    def summary(self) -> str:
        """What the TA reads after the export (Spanish)."""
        lines = [f"CSV para Moodle: {self.path}",
                 f"  {len(self.matched)} estudiantes del libro de notas encontrados en la lista de Moodle."]
        for a, top in self.assignments.items():
            lines.append(f"  columna «{a}»: sobre {top:g} puntos (crea el elemento de calificación con esa nota "
                         f"máxima); «{a} - Retroalimentación»: su comentario")
        if self.not_in_roster:
            lines.append("  ⚠ en el libro de notas pero NO en la lista de Moodle (no van en el CSV): "
                         + ", ".join(self.not_in_roster))
        for sid, names in self.ambiguous.items():
            lines.append(f"  ⚠ {sid} coincide con varias filas de la lista ({'; '.join(names)}): no va en el CSV; "
                         "usa --match")
        for a, names in self.without_submission.items():
            if names:
                lines.append(f"  ⚠ en la lista de Moodle sin entrega de {a}: " + ", ".join(names))
        for a, ids in self.pending_manual.items():
            if ids:
                more = f" y {len(ids) - 5} más" if len(ids) > 5 else ""
                lines.append(f"  … {a}: {len(ids)} entregas con partes por calificar a mano (cuentan 0 hasta "
                             f"entonces; Formgrader): " + ", ".join(ids[:5]) + more)
        lines.append("En Moodle: Calificaciones → Importar → Archivo CSV; «Mapear desde» Dirección de correo → "
                     "«Mapear a» useremail (o Número de ID → useridnumber).")
        return "\n".join(lines)


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x == x else NO_GRADE


def feedback_text(assignment: str, sub, result) -> str:
    """Plain Spanish text: total, status, late penalty, one line per part, the TA's comments."""
    from autograder.feedback import part_rows

    grades = {g.name: [float(g.score), float(g.max_score)] for nb in sub.notebooks for g in nb.grades}
    manual = [g.name for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade]
    penalty = float(sub.late_submission_penalty or 0)
    total = max(0.0, float(sub.score) - penalty)
    status = f" ({result.status.text})" if getattr(result, "status", None) is not None else ""
    lines = [f"{assignment}: {_number(total)} / {_number(float(sub.max_score))} puntos{status}."]
    if getattr(result, "message", ""):
        lines.append(result.message.replace("\n", " "))
    if penalty:
        lines.append(f"Entrega fuera de plazo: −{_number(penalty)} puntos de penalización "
                     f"(nota sin penalizar: {_number(float(sub.score))}).")
    words = {"✔": "completa", "◐": "parcial", "✘": "sin puntos", "…": "pendiente"}
    for name, points, mark, diagnosis in part_rows(result, grades, manual):
        detail = f" — {diagnosis}" if diagnosis else ""
        lines.append(f"- {name}: {points.replace(' ', '')} ({words.get(mark, mark)}){detail}")
    comments = [(c.name, c.manual_comment) for nb in sub.notebooks for c in nb.comments if c.manual_comment]
    for name, comment in comments:
        lines.append(f"Comentario ({name}): {comment.strip()}")
    if getattr(result, "sandbox", True) is False:
        lines.append("Calificada sin sandbox.")
    return "\n".join(lines)


def _student_label(student) -> str:
    name = " ".join(p for p in (student.first_name, student.last_name) if p)
    return f"{student.id} ({name})" if name else student.id


def export_moodle(course: Course, roster_path: Path, path: Path | None = None, match: str = "auto",
                  missing_as_zero: bool = False, assignments: list[str] | None = None) -> MoodleExport:
    """Write the Moodle CSV (default ``<root>/moodle.csv``); returns what was matched, left out and missing."""
    from autograder.results import load_results

    if match not in MATCHES:
        raise VaekitError(f"--match {match}: usa uno de {', '.join(MATCHES)}")
    roster = read_roster(roster_path)
    path = Path(path or course.root / "moodle.csv").resolve()
    graded: dict[str, dict[str, Graded]] = {}  # assignment -> student id -> Graded
    with course.gradebook() as gb:
        chosen = [a for a in gb.assignments if not assignments or a.name in assignments]
        out = MoodleExport(path, {a.name: float(a.max_score) for a in chosen})
        students = {s.id: s for s in gb.students}
        for a in chosen:
            results = load_results(course.results, a.name)
            graded[a.name] = {}
            for sub in a.submissions:
                result = results.get(sub.student.id) or SimpleNamespace(verdicts={}, status=None, message="",
                                                                         sandbox=True)
                penalty = float(sub.late_submission_penalty or 0)
                graded[a.name][sub.student.id] = Graded(max(0.0, float(sub.score) - penalty), float(sub.max_score),
                                                        penalty, feedback_text(a.name, sub, result))
                if sub.needs_manual_grade:
                    out.pending_manual.setdefault(a.name, []).append(sub.student.id)
    row_of: dict[int, str] = {}  # roster row index -> nbgrader id
    submitted = sorted({sid for per in graded.values() for sid in per})
    for sid in submitted:
        hits = [i for i, row in enumerate(roster) if _norm(sid) in row.keys(match)]
        label = _student_label(students[sid]) if sid in students else sid
        if not hits:
            out.not_in_roster.append(label)
        elif len(hits) > 1:
            out.ambiguous[label] = [roster[i].name for i in hits]
        else:
            row_of[hits[0]] = sid
            out.matched[sid] = roster[hits[0]].name
    header = OUT_COLUMNS + [c for a in out.assignments for c in (a, f"{a} - Retroalimentación")]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, row in enumerate(roster):
            sid = row_of.get(i)
            cells = [row.first_name, row.last_name, row.idnumber, row.email]
            for a in out.assignments:
                got = graded[a].get(sid) if sid else None
                if got is not None:
                    cells += [_number(got.score), got.feedback]
                else:
                    out.without_submission.setdefault(a, []).append(row.name)
                    cells += ["0", f"{a}: sin entrega (0 puntos)."] if missing_as_zero else [NO_GRADE, ""]
            writer.writerow(cells)
    return out
