"""The end of ``make demo``: the course as it runs on a course server. With the exchange, one more example student
submits after the due date and ``vaekit watch`` grades it (nbgrader's late penalty) and returns its feedback;
then the grades go to a Moodle CSV (``vaekit export --format moodle``) with an example roster."""
from __future__ import annotations

import csv
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder import exchange as ex
from autograder.course import Course
from autograder.notebooks import REPO_ROOT

LATE_STUDENT = "alu_tardia"
EXAMPLE = REPO_ROOT / "examples" / "submitted" / "alu01_correcta"


def late_submission(course: Course, assignment: str, limits, options: dict) -> None:
    """The due date passed an hour ago; ``alu_tardia`` submits the solution now; one round of ``vaekit watch``."""
    from autograder.watch import Watcher

    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\n# demo: a late submission scores 0 (nbgrader's LateSubmissionPlugin; 'none' leaves it as is)\n"
                "c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    course.__dict__.pop("config", None)
    due = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1)
    with course.gradebook() as gb:
        gb.update_or_create_assignment(assignment, duedate=due)
    exchange = course.root / "exchange"
    me = ex.StudentFolder.create(course.root / "students" / LATE_STUDENT, exchange, course.course_id,
                                 student_id=LATE_STUDENT)
    fetched = me.fetch(assignment)
    for file in (EXAMPLE / assignment).iterdir():
        if file.is_file():
            shutil.copyfile(file, fetched / file.name)
    me.submit(assignment)
    print(f"{LATE_STUDENT} entrega {assignment} una hora después del plazo (fecha límite en el libro de notas).")
    watcher = Watcher(course, assignment, exchange, limits, check_owner=False, gpu=options.get("gpu", False))
    watcher.run(options.get("workers"), options.get("scheduler"), interval=0, max_rounds=1)
    pages = me.fetch_feedback(assignment)
    if pages:
        print(f"  {LATE_STUDENT} ya tiene su retroalimentación: {pages[-1].relative_to(course.root)}")


def example_roster(course: Course, path: Path) -> Path:
    """A participants export as Moodle writes it (Spanish headers): every graded student, plus one without a
    submission (the export reports them)."""
    with course.gradebook() as gb:
        ids = sorted(s.id for s in gb.students)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["Nombre", "Apellido(s)", "Número de ID", "Dirección de correo", "Roles"])
        for sid in ids:
            out.writerow([sid, "(ejemplo)", sid, f"{sid}@alumnos.example.es", "Estudiante"])
        out.writerow(["Elena", "Sinentrega", "99999999Z", "elena.sinentrega@alumnos.example.es", "Estudiante"])
    return path


def run(course: Course, assignment: str, limits, options: dict, with_exchange: bool) -> None:
    if with_exchange:
        print(f"\n=== {assignment}: calificar al entregar (vaekit watch) ===")
        late_submission(course, assignment, limits, options)
    from autograder.moodle import export_moodle

    print("\n=== notas a Moodle (vaekit export --format moodle --roster moodle/participantes.csv) ===")
    roster = example_roster(course, course.root / "moodle" / "participantes.csv")
    print(export_moodle(course, roster, course.root / "moodle" / "calificaciones.csv").summary())
