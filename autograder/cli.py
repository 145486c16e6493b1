"""``vaekit``: the TA workflow on an nbgrader course root (plain ``nbgrader`` keeps working on the same course).

    vaekit [--course DIR] release A          generate release/A, refused unless solution = full, blank = 0, no leaks
                                  [--exchange DIR]   then `nbgrader release_assignment A` (also with c.Exchange.root)
    vaekit [--course DIR] collect A [--exchange DIR] [--student S ...]   `nbgrader collect A --update` into submitted/
    vaekit [--course DIR] grade A [--workers N | --scheduler tcp://host:8786] [--student S ...] [--force]
                                  [--cell-timeout s] [--timeout s] [--memory-gb g] [--no-sandbox] [--gpu]
    vaekit [--course DIR] watch A [--interval S] [--max-rounds N | --once] [--exchange DIR] [grading options]
                                  grade on submit: collect → grade → feedback → release to that student, in a loop
    vaekit [--course DIR] feedback A         feedback/<student>/A/A.html (hidden tests cleared, vaekit note on top)
                                  [--release [--exchange DIR]]   then `nbgrader release_feedback A` to the students
    vaekit [--course DIR] export [--to F]    grades CSV (nbgrader's columns)
                                  [--format moodle --roster R.csv [--match M] [--missing-as-zero]]   for Moodle
    vaekit [--course DIR] report A           report/A/notas.png + report/A/informe.md
    vaekit [--course DIR] similarity A [--threshold U]   report/A/similitud.html: what students wrote, compared
    vaekit [--course DIR] submit A [--from examples/submitted]   copy example submissions into submitted/
    vaekit examples                          rewrite examples/ (python -m autograder.authoring.examples)
    vaekit demo [--folder demo] [--assignment A]   release → submit → grade → feedback → report, then the grade table
                [--exchange]                       submissions go through nbgrader's exchange (demo/exchange/)
    vaekit solutions [A ...] [--quick] [--reuse-weights] [--out DIR]   execute the solution notebooks into solutions/

A user-facing failure (``VaekitError``, a refused release, a failed nbgrader command) prints one line and exits 1.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from autograder import quiet
from autograder.authoring import solutions
from autograder.authoring.examples import make_special_files
from autograder.course import Course, new_course
from autograder.errors import VaekitError
from autograder.settings import TF_QUIET_ENV
from autograder.grade.task import Limits
from autograder.results import summary_table
from autograder.notebooks import ASSIGNMENTS, REPO_ROOT

DEMO_MARKER = ".vaekit-demo"
os.environ.update(TF_QUIET_ENV)  # before anything imports TensorFlow (here, in Dask workers, in kernels)
quiet.install()  # nbgrader's known library warnings, filtered here and in the processes vaekit starts


def add_limits(p: argparse.ArgumentParser) -> None:
    """Grading options; each one only overrides its setting in the course's nbgrader_config.py."""
    p.add_argument("--workers", type=int, default=None,
                   help="trabajadores de Dask en este equipo (LocalCluster; por defecto, c.Grading.workers)")
    p.add_argument("--scheduler", default=None, metavar="DIRECCIÓN",
                   help="califica en un clúster de Dask ya arrancado (p. ej. tcp://host:8786)")
    p.add_argument("--cell-timeout", type=int, default=None,
                   help="segundos por celda (por defecto, c.SandboxedExecute.timeout)")
    p.add_argument("--timeout", type=float, default=None,
                   help="segundos por entrega (por defecto, c.Grading.submission_timeout)")
    p.add_argument("--memory-gb", type=float, default=None,
                   help="memoria máxima por entrega en GiB (por defecto, c.Grading.memory_gb)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="califica SIN aislar el código de los alumnos (queda anotado en cada nota e informe)")
    p.add_argument("--gpu", action="store_true", help="envía las entregas a trabajadores con el recurso GPU")


def limits_of(course: Course, args) -> Limits:
    return course.limits(cell_timeout=args.cell_timeout, submission_timeout=args.timeout, memory_gb=args.memory_gb,
                         sandbox=False if args.no_sandbox else None)


def grade_options(args) -> dict:
    return {"workers": args.workers, "scheduler": args.scheduler, "gpu": args.gpu}


def add_exchange(p: argparse.ArgumentParser, what: str = "intercambio de nbgrader (por defecto, c.Exchange.root)") -> None:
    p.add_argument("--exchange", type=Path, default=None, metavar="CARPETA", help=what)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vaekit", description="Flujo de calificación de la Clase 157 (VAE).")
    tarea = {"choices": ASSIGNMENTS, "help": "la tarea (" + " o ".join(ASSIGNMENTS) + ")"}
    p.add_argument("--course", type=Path, default=Path.cwd(), help="raíz del curso (carpeta con nbgrader_config.py)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="genera la versión del alumno y la comprueba")
    r.set_defaults(func=run_release)
    r.add_argument("assignment", **tarea)
    add_limits(r)
    add_exchange(r, "y la publica en este intercambio de nbgrader (por defecto, c.Exchange.root si está puesto)")

    col = sub.add_parser("collect", help="recoge las entregas del intercambio de nbgrader en submitted/")
    col.set_defaults(func=run_collect)
    col.add_argument("assignment", **tarea)
    col.add_argument("--student", nargs="*", default=None, help="solo estas entregas (por defecto, todas)")
    add_exchange(col)

    g = sub.add_parser("grade", help="califica todas las entregas de submitted/")
    g.set_defaults(func=run_grade)
    g.add_argument("assignment", **tarea)
    g.add_argument("--student", nargs="*", default=None, help="solo estas entregas (por defecto, todas)")
    g.add_argument("--force", action="store_true", help="vuelve a calificar también las que ya tienen nota")
    add_limits(g)

    w = sub.add_parser("watch", help="califica cada entrega al llegar al intercambio y devuelve su retroalimentación")
    w.set_defaults(func=run_watch)
    w.add_argument("assignment", **tarea)
    w.add_argument("--interval", type=float, default=30.0, metavar="S",
                   help="segundos entre dos recogidas del intercambio (por defecto, 30)")
    w.add_argument("--max-rounds", type=int, default=None, metavar="N",
                   help="para tras N rondas (por defecto, sigue hasta Ctrl-C; útil en cron y en pruebas)")
    w.add_argument("--once", action="store_true", help="una sola ronda (= --max-rounds 1)")
    add_exchange(w)
    add_limits(w)

    f = sub.add_parser("feedback", help="retroalimentación HTML por estudiante")
    f.set_defaults(func=run_feedback)
    f.add_argument("assignment", **tarea)
    f.add_argument("--student", default=None, help="solo este estudiante (por defecto, todos los calificados)")
    f.add_argument("--release", action="store_true",
                   help="y la devuelve a los alumnos por el intercambio (nbgrader release_feedback)")
    add_exchange(f)

    e = sub.add_parser("export", help="CSV de notas (columnas de nbgrader, o para importar en Moodle)")
    e.set_defaults(func=run_export)
    e.add_argument("--to", type=Path, default=None, metavar="ARCHIVO",
                   help="archivo CSV de salida (por defecto, grades.csv, o moodle.csv, en la raíz del curso)")
    e.add_argument("--format", choices=("nbgrader", "moodle"), default="nbgrader",
                   help="nbgrader (por defecto): sus columnas; moodle: para Calificaciones → Importar → CSV")
    e.add_argument("--roster", type=Path, default=None, metavar="LISTA.csv",
                   help="con --format moodle: la lista de participantes exportada de Moodle")
    e.add_argument("--match", choices=("auto", "idnumber", "email", "username"), default="auto",
                   help="con --format moodle: qué columna de la lista es el id de nbgrader (por defecto, auto: "
                        "número de ID, correo, la parte del correo antes de @ o nombre de usuario)")
    e.add_argument("--missing-as-zero", action="store_true",
                   help="con --format moodle: 0 a quien está en la lista sin entrega (por defecto, sin nota: -)")

    rep = sub.add_parser("report", help="histograma y tasa de aprobación por test")
    rep.set_defaults(func=run_report)
    rep.add_argument("assignment", **tarea)

    sim = sub.add_parser("similarity", help="similitud entre lo que escribió cada estudiante (report/A/similitud.html)")
    sim.set_defaults(func=run_similarity)
    sim.add_argument("assignment", **tarea)
    sim.add_argument("--threshold", type=float, default=None, metavar="U",
                     help="similitud a partir de la cual se muestra una pareja, entre 0 y 1 (por defecto, 0.5)")

    s = sub.add_parser("submit", help="copia entregas (p. ej. las de ejemplo) a submitted/")
    s.set_defaults(func=run_submit)
    s.add_argument("assignment", **tarea)
    s.add_argument("--from", dest="source", type=Path, default=REPO_ROOT / "examples" / "submitted", metavar="CARPETA",
                   help="carpeta con <estudiante>/<tarea>/ (por defecto, examples/submitted)")

    sub.add_parser("examples", help="regenera examples/").set_defaults(func=run_examples)

    d = sub.add_parser("demo", help="release → entregas de ejemplo → calificación → retroalimentación → informe")
    d.set_defaults(func=run_demo)
    d.add_argument("--folder", type=Path, default=REPO_ROOT / "demo", help="carpeta de la demo (por defecto, demo/)")
    d.add_argument("--assignment", nargs="*", default=["vae_condicional", "vae_tarea"], choices=ASSIGNMENTS,
                   help="tareas de la demo (por defecto, vae_condicional y vae_tarea)")
    d.add_argument("--student", nargs="*", default=None, help="solo estas entregas de ejemplo (por defecto, todas)")
    d.add_argument("--exchange", action="store_true",
                   help="las entregas pasan por el intercambio de nbgrader (demo/exchange): fetch, submit, collect")
    add_limits(d)

    sol = sub.add_parser("solutions", help="ejecuta los cuadernos solución completos en solutions/")
    sol.set_defaults(func=solutions.run_args)
    solutions.add_arguments(sol)
    return p


# commands ------------------------------------------------------------------------------------------------
def cmd_release(course: Course, assignment: str, limits: Limits, options: dict) -> None:
    from autograder.authoring.release import release

    print(f"Comprobando la publicación de {assignment} (solución = nota completa, en blanco = 0, sin fugas)…")
    check = release(course, assignment, limits=limits, **options)
    print(f"  ✔ solución {check.automatic[0]:g}/{check.automatic[1]:g} en los tests automáticos "
          f"({len(check.manual)} celdas de calificación manual); en blanco {check.blank_score[0]:g}; "
          "sin texto de soluciones ni tests ocultos")
    print(f"  ✔ {course.release_notebook(assignment).relative_to(course.root)} generado")
    if check.bundle is not None:
        print(f"  ✔ {check.bundle.relative_to(course.root)} a su lado: el paquete que instala el alumno (sin "
              "soluciones, tests ocultos ni código del evaluador)")


def cmd_publish(course: Course, assignment: str, exchange: Path | None = None) -> None:
    """After a checked release: ``nbgrader release_assignment`` when an exchange is configured (or given)."""
    from autograder import exchange as ex

    if ex.configured_root(course, exchange) is None:
        print("  (sin intercambio de nbgrader: c.Exchange.root o --exchange CARPETA lo publican para `fetch`)")
        return
    folder = ex.publish(course, assignment, exchange)
    print(f"  ✔ publicada en el intercambio: {folder} (nbgrader release_assignment; los alumnos la ven en "
          "Assignments / `nbgrader fetch_assignment`)")


def cmd_collect(course: Course, assignment: str, exchange: Path | None = None, students=None,
                check_owner: bool = True) -> list[str]:
    from autograder import exchange as ex

    got = ex.collect(course, assignment, exchange, students, check_owner=check_owner)
    print(f"{len(got.new)} entregas nuevas, {len(got.updated)} actualizadas, {len(got.unchanged)} sin cambios "
          f"en {course.submitted.relative_to(course.root)}/")
    for student in got.new:
        print(f"  + {student}")
    for student in got.updated:
        print(f"  ↻ {student} (entrega más reciente; se volverá a calificar)")
    for warning in got.owner_warnings:
        print(f"  ⚠ revisar: {warning}")
    if got.to_grade:
        print(f"Siguiente paso: vaekit grade {assignment}")
    return got.to_grade


def cmd_release_feedback(course: Course, assignment: str, exchange: Path | None = None, students=None) -> None:
    from autograder import exchange as ex

    done = ex.release_feedback(course, assignment, exchange, students)
    print(f"{len(done.released)} páginas devueltas por el intercambio (nbgrader release_feedback): "
          + (", ".join(done.released) or "ninguna"))
    for student, why in done.skipped.items():
        if why != "no pedido":
            print(f"  – {student}: {why}")


def cmd_exchange_demo(course: Course, assignment: str, only=None) -> list[str]:
    """``vaekit demo --exchange``: the example submissions ``only`` (default: all) go through nbgrader's exchange
    (demo/exchange): release_assignment, each student's fetch + submit, collect into submitted/."""
    from autograder import exchange as ex

    print(f"\n=== {assignment}: 2b/5 por el intercambio de nbgrader (release_assignment → fetch → submit → collect) ===")
    root, got = ex.demo_round(course, assignment, REPO_ROOT / "examples" / "submitted", only)
    print(f"{len(got.to_grade)} entregas pasaron por {root.relative_to(course.root)}/ y se recogieron en "
          f"{course.submitted.relative_to(course.root)}/ (cada alumno en students/<alumno>/)")
    return got.to_grade


def cmd_exchange_views(course: Course, assignment: str, results) -> None:
    """Return the feedback through the exchange, let one example student fetch it, and say where each person looks."""
    from autograder import exchange as ex

    released = ex.release_feedback(course, assignment, course.root / "exchange")
    print(f"\nRetroalimentación devuelta por el intercambio a {len(released.released)} estudiantes.")
    student = next((r.student for r in results if r.student in released.released), None)
    pages = []
    if student:
        me = ex.StudentFolder.create(course.root / "students" / student, course.root / "exchange", course.course_id,
                                     student_id=student)
        pages = me.fetch_feedback(assignment)
    rel = lambda p: Path(p).relative_to(course.root)  # noqa: E731
    print("\nDónde mira cada uno:")
    print(f"  instructor: {rel(course.root / 'source' / assignment)}/ (con soluciones) → "
          f"{rel(course.release_notebook(assignment))} → {rel(ex.outbound(course.root / 'exchange', course, assignment))}/")
    if student:
        print(f"  estudiante ({student}): {rel(course.root / 'students' / student / assignment)}/ "
              f"(su cuaderno); retroalimentación: {', '.join(str(rel(p)) for p in pages) or '—'}")
    print(f"  TA: {rel(course.submitted)}/ (recogidas), {rel(course.feedback)}/, "
          f"{rel(course.root / 'report' / assignment / 'informe.md')}; Formgrader: `jupyter lab` en {course.root}")


def cmd_grade(course: Course, assignment: str, limits: Limits, options: dict, students=None, force=False) -> list:
    from autograder.grade.coordinator import grade

    results = grade(course, assignment, limits=limits, students=students, force=force, **options)
    print()
    print(summary_table(results))
    return results


def submit(course: Course, assignment: str, source: Path, only: list[str] | None = None) -> list[str]:
    students = []
    for folder in sorted(Path(source).glob(f"*/{assignment}")):
        if only and folder.parent.name not in only:
            continue
        dest = course.submitted / folder.parent.name / assignment
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(folder, dest, symlinks=True)  # links stay links: the intake gate refuses them
        make_special_files(dest)
        students.append(folder.parent.name)
    return students


def cmd_demo(folder: Path, assignments: list[str], args, only=None) -> None:
    folder = Path(folder).resolve()
    if folder.exists():
        if not (folder / DEMO_MARKER).exists():
            raise VaekitError(f"{folder} existe y no es una carpeta de demo de vaekit: no la toco.")
        shutil.rmtree(folder)
    start = time.monotonic()
    course = new_course(folder, tuple(assignments))
    (folder / DEMO_MARKER).write_text("carpeta de demostración creada por `vaekit demo`; se puede borrar\n")
    limits, options = limits_of(course, args), grade_options(args)
    workers = options["workers"] or course.grading.workers
    print(f"Curso de demostración en {folder}")
    for a in assignments:
        print(f"\n=== {a}: 1/5 publicar ===")
        cmd_release(course, a, limits, options)
        print(f"\n=== {a}: 2/5 entregas de ejemplo ===")
        from autograder.authoring.examples import demo_selection

        students = submit(course, a, REPO_ROOT / "examples" / "submitted", only or demo_selection(a))
        print(f"{len(students)} entregas copiadas a {course.submitted.relative_to(course.root)}/")
        if getattr(args, "exchange", False):  # `vaekit demo --exchange`: the same submissions via nbgrader's exchange
            cmd_exchange_demo(course, a, students)
        print(f"\n=== {a}: 3/5 calificar ({workers} a la vez) ===")
        from autograder.grade.coordinator import grade

        results = grade(course, a, limits=limits, **options)
        print(f"\n=== {a}: 4/5 retroalimentación ===")
        from autograder.feedback import generate_feedback

        pages = generate_feedback(course, a)
        print(f"{len(pages)} páginas en {course.feedback.relative_to(course.root)}/")
        print(f"\n=== {a}: 5/5 notas e informe ===")
        from autograder.report import export_grades, write_report

        from autograder.similarity import write_similarity

        csv_path = export_grades(course)
        similarity, _ = write_similarity(course, a)  # before the report, which links it
        png, md = write_report(course, a)
        print(f"Similitud entre entregas: {similarity}")
        print(f"CSV: {csv_path}\nInforme: {md}\nHistograma: {png}\n")
        print(summary_table(results))
        if getattr(args, "exchange", False):
            cmd_exchange_views(course, a, results)
    from autograder import demo_server  # a late submission through `vaekit watch`; the grades into Moodle

    demo_server.run(course, assignments[-1], limits, options, getattr(args, "exchange", False))
    print(f"\nDemo terminada en {time.monotonic() - start:.0f} s.")


def main(argv: list[str] | None = None) -> int:
    """Run one ``vaekit`` command (``args.func``, set by its subparser); every user-facing failure is a
    ``VaekitError`` (release refusals, nbgrader failures, bad options), said here once, without a traceback."""
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except VaekitError as exc:
        print(f"vaekit: {exc}", file=sys.stderr)
        return 1
    return 0


def run_examples(args) -> None:
    from autograder.authoring.examples import main as examples_main

    examples_main()


def run_demo(args) -> None:
    cmd_demo(args.folder, args.assignment, args, args.student)


def run_release(args) -> None:
    course = Course(args.course)
    cmd_release(course, args.assignment, limits_of(course, args), grade_options(args))
    cmd_publish(course, args.assignment, args.exchange)  # only after the checks passed


def run_collect(args) -> None:
    cmd_collect(Course(args.course), args.assignment, args.exchange, args.student)


def run_grade(args) -> None:
    course = Course(args.course)
    cmd_grade(course, args.assignment, limits_of(course, args), grade_options(args), args.student, args.force)


def run_watch(args) -> None:
    from autograder.watch import Watcher

    course = Course(args.course)
    watcher = Watcher(course, args.assignment, args.exchange, limits_of(course, args), gpu=args.gpu)
    watcher.run(args.workers, args.scheduler, args.interval, 1 if args.once else args.max_rounds)


def run_feedback(args) -> None:
    from autograder.feedback import generate_feedback

    course = Course(args.course)
    only = [args.student] if args.student else None
    for page in generate_feedback(course, args.assignment, only):
        print(page)
    if args.release:
        cmd_release_feedback(course, args.assignment, args.exchange, only)


def run_export(args) -> None:
    course = Course(args.course)
    if args.format == "moodle":
        from autograder.moodle import export_moodle

        if args.roster is None:
            raise VaekitError("--format moodle necesita --roster LISTA.csv (Moodle: Participantes → "
                              "«Descargar datos de la tabla como» CSV)")
        print(export_moodle(course, args.roster, args.to, args.match, args.missing_as_zero).summary())
        return
    from autograder.report import export_grades

    print(export_grades(course, args.to))


def run_report(args) -> None:
    from autograder.report import write_report

    png, md = write_report(Course(args.course), args.assignment)
    print(md.read_text(encoding="utf-8"))
    print(f"Histograma: {png}")


def run_similarity(args) -> None:
    from autograder.similarity import THRESHOLD, summary, write_similarity

    path, found = write_similarity(Course(args.course), args.assignment,
                                   THRESHOLD if args.threshold is None else args.threshold)
    print(summary(found, path))


def run_submit(args) -> None:
    course = Course(args.course)
    students = submit(course, args.assignment, args.source)
    print(f"{len(students)} entregas copiadas a {course.submitted}")


if __name__ == "__main__":
    sys.exit(main())
