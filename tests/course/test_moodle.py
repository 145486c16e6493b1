"""The Moodle export's reading of rosters and matching of students, on a gradebook made with nbgrader's own API
(fast; the export of a really graded course is in tests/course/test_course_server.py)."""
from __future__ import annotations

import csv
import os
import sys
from datetime import datetime
from pathlib import Path

import pytest

from autograder.course import new_course
from autograder.errors import VaekitError
from autograder.moodle import export_moodle, read_roster

pytestmark = pytest.mark.filterwarnings("ignore:Object of type <")  # nbgrader's add_submission (autograder/quiet.py)

ROSTER_ES = ("\ufeffNombre;Apellido(s);Número de ID;Dirección de correo;Roles;Grupos;Último acceso al curso\n"
             "Ana;Alonso;11111111A;ana@alumnos.upm.es;Estudiante;;hace 1 día\n"
             "Bruno;Bravo;b.bravo;bruno.bravo@alumnos.upm.es;Estudiante;;Nunca\n"
             "Carla;Campos;;carla@alumnos.upm.es;Estudiante;;Nunca\n")
ROSTER_EN = ("First name,Last name,ID number,Email address,Username\n"
             "Ana,Alonso,11111111A,ana@alumnos.upm.es,aalonso\n"
             "Dora,Díaz,,dora@example.org,ana\n")

def read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))



@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course whose gradebook holds one assignment (two parts, one graded by hand) and three submissions."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # nbgrader's alembic
    course = new_course(tmp_path / "curso", ())
    with course.gradebook() as gb:
        gb.add_assignment("tarea", duedate=datetime(2026, 3, 1, 23, 59))
        gb.add_notebook("tarea", "tarea")
        gb.add_grade_cell("test_kl", "tarea", "tarea", max_score=3, cell_type="code")
        gb.add_grade_cell("respuesta", "tarea", "tarea", max_score=2, cell_type="markdown")
        gb.add_solution_cell("respuesta", "tarea", "tarea")
        for sid, auto, stamp in (("ana", 3, "2026-03-01 10:00:00"), ("b.bravo", 1.5, "2026-03-02 10:00:00"),
                                 ("zoe", 0, "2026-03-01 09:00:00")):
            gb.update_or_create_student(sid, first_name=sid.title())
            sub = gb.add_submission("tarea", sid, timestamp=stamp)
            nb = sub.notebooks[0]
            for g in nb.grades:
                if g.name == "test_kl":
                    g.auto_score, g.needs_manual_grade = auto, False
            nb.late_submission_penalty = 1.0 if sid == "b.bravo" else None
        gb.db.commit()
    return course


def test_spanish_roster_with_bom_and_semicolons(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(ROSTER_ES, encoding="utf-8")
    rows = read_roster(path)
    assert [(r.first_name, r.last_name, r.idnumber, r.email) for r in rows] == [
        ("Ana", "Alonso", "11111111A", "ana@alumnos.upm.es"), ("Bruno", "Bravo", "b.bravo", "bruno.bravo@alumnos.upm.es"),
        ("Carla", "Campos", "", "carla@alumnos.upm.es")]
    assert rows[0].name == "Ana Alonso (ana@alumnos.upm.es)"


def test_a_roster_without_identifiers_is_refused(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("Nombre,Apellido(s)\nAna,Alonso\n", encoding="utf-8")
    with pytest.raises(VaekitError, match="correo, número de ID ni nombre de usuario"):
        read_roster(path)


def test_export_matches_by_id_number_or_email_and_reports_the_rest(course, tmp_path):
    roster = tmp_path / "p.csv"
    roster.write_text(ROSTER_ES, encoding="utf-8")
    done = export_moodle(course, roster, tmp_path / "m.csv")
    # ana: the part of her email before @; b.bravo: his ID number; zoe: not in the roster; Carla: no submission
    assert done.matched == {"ana": "Ana Alonso (ana@alumnos.upm.es)",
                            "b.bravo": "Bruno Bravo (bruno.bravo@alumnos.upm.es)"}
    assert done.not_in_roster == ["zoe (Zoe)"] and done.assignments == {"tarea": 5.0}
    assert done.without_submission == {"tarea": ["Carla Campos (carla@alumnos.upm.es)"]}
    assert done.pending_manual == {"tarea": ["ana", "b.bravo", "zoe"]}
    assert "3 entregas con partes por calificar a mano" in done.summary()
    rows = list(read_csv(tmp_path / "m.csv"))
    assert rows[0] == ["Nombre", "Apellido(s)", "Número de ID", "Dirección de correo", "tarea",
                       "tarea - Retroalimentación"]
    assert [r[:5] for r in rows[1:]] == [["Ana", "Alonso", "11111111A", "ana@alumnos.upm.es", "3"],
                                         ["Bruno", "Bravo", "b.bravo", "bruno.bravo@alumnos.upm.es", "0.5"],
                                         ["Carla", "Campos", "", "carla@alumnos.upm.es", "-"]]
    assert rows[2][5].splitlines() == [
        "tarea: 0.5 / 5 puntos.", "Entrega fuera de plazo: −1 puntos de penalización (nota sin penalizar: 1.5).",
        "- Pregunta «test_kl» (calificación a mano): 1.5/3 (parcial)",
        "- Pregunta «respuesta» (calificación a mano): —/2 (pendiente) — pendiente de calificación a mano"]
    assert rows[3][5] == ""
    summary = done.summary()
    assert "NO en la lista de Moodle (no van en el CSV): zoe (Zoe)" in summary and "sobre 5 puntos" in summary
    assert "sin entrega de tarea: Carla Campos (carla@alumnos.upm.es)" in summary


def test_match_modes_and_ambiguity(course, tmp_path):
    roster = tmp_path / "p.csv"
    roster.write_text(ROSTER_EN, encoding="utf-8")
    # auto: "ana" is Ana's email before @ and Dora's username: ambiguous, left out and said
    done = export_moodle(course, roster, tmp_path / "m.csv")
    assert "ana" not in done.matched and list(done.ambiguous) == ["ana (Ana)"]
    assert "usa --match" in done.summary()
    by_email = export_moodle(course, roster, tmp_path / "m.csv", match="email")
    assert by_email.matched == {"ana": "Ana Alonso (ana@alumnos.upm.es)"} and not by_email.ambiguous
    by_user = export_moodle(course, roster, tmp_path / "m.csv", match="username")
    assert by_user.matched == {"ana": "Dora Díaz (dora@example.org)"}
    zeros = export_moodle(course, roster, tmp_path / "z.csv", match="email", missing_as_zero=True)
    rows = {r[3]: r for r in read_csv(tmp_path / "z.csv")}
    assert rows["dora@example.org"][4:] == ["0", "tarea: sin entrega (0 puntos)."]
    assert zeros.without_submission == {"tarea": ["Dora Díaz (dora@example.org)"]}
