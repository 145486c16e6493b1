"""The worker's scratch course: its gradebook is stamped in-process with the schema version nbgrader itself would
record (nbgrader's way runs the `alembic heads` command), and nbgrader's generate_assignment fills it with the same
notebooks and grade cells as the course's own gradebook."""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

from nbgrader.api import Gradebook, get_alembic_version

from autograder.course import new_course, stamp_new_gradebook
from autograder.grade.task import CourseBundle
from autograder.grade.worker import WorkerCourse
from autograder.settings import gradebook_path, sqlite_url


def test_a_stamped_gradebook_carries_nbgraders_own_schema_version(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])  # for `alembic`
    path = tmp_path / "gradebook.db"
    stamp_new_gradebook(path)
    with Gradebook(f"sqlite:///{path}") as gb:  # nbgrader adds its tables and keeps the stamp
        assert gb.assignments == []
    with sqlite3.connect(path) as db:
        versions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert versions == [get_alembic_version()]  # nbgrader's own answer, from the alembic command
    assert {"assignment", "notebook", "grade_cells", "student", "submitted_assignment"} <= tables


def test_the_worker_course_has_the_assignments_notebooks_and_grade_cells(tmp_path):
    assignment = "vae_tarea"
    course = new_course(Path(tmp_path) / "course", (assignment,))
    course.nbgrader("generate_assignment", assignment, "--force")
    scratch = WorkerCourse(CourseBundle.of(course.root, assignment))

    def cells(root):
        with Gradebook(sqlite_url(root)) as gb:
            notebook = gb.find_notebook(assignment, assignment)
            return sorted((c.name, c.max_score) for c in notebook.grade_cells)

    assert gradebook_path(scratch.root).is_file() and scratch.release_notebook.is_file()
    assert cells(scratch.root) == cells(course.root) and len(cells(course.root)) > 5


def test_a_grading_process_reads_notebooks_without_compiling_iri_grammars():
    """jsonschema's optional IRI checker (rfc3987_syntax) compiles Lark grammars at import (~1 CPU-s per process);
    vaekit's processes skip it, and nbformat still validates notebooks (a broken one is still refused)."""
    import subprocess

    from autograder.notebooks import REPO_ROOT

    code = ("import sys, autograder.grade.worker, nbformat\n"
            "nb = nbformat.read(sys.argv[1], as_version=4)\n"
            "nbformat.validate(nb)\n"
            "nb.cells[0]['cell_type'] = 'not-a-cell'\n"
            "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n    print('refused')\n"
            "print(sorted(m for m in ('lark', 'rfc3987_syntax') if sys.modules.get(m) is not None))\n")
    out = subprocess.run([sys.executable, "-c", code, str(REPO_ROOT / "release" / "vae_tarea" / "vae_tarea.ipynb")],
                         check=True, capture_output=True, text=True, cwd=REPO_ROOT).stdout.split()
    assert out == ["refused", "[]"]


def test_scores_are_written_once_into_the_courses_gradebook_never_the_workers(tmp_path):
    """A worker grades (sandboxed kernel, judge) and its scratch gradebook gets no scores; the coordinator's
    ``record`` writes them into the course's gradebook."""
    from autograder.authoring.examples import load_manifest
    from autograder.grade.coordinator import record
    from autograder.grade.worker import grade_task, read_submission
    from autograder.grade.task import SubmissionTask
    from autograder.notebooks import REPO_ROOT
    from autograder.results import Status

    assignment = "vae_tarea"
    student = next(e.student for e in load_manifest(REPO_ROOT / "examples")
                   if e.assignment == assignment and e.kind == "correct")
    course = new_course(Path(tmp_path) / "course", (assignment,))
    course.nbgrader("generate_assignment", assignment, "--force")
    shutil.copytree(REPO_ROOT / "examples" / "submitted" / student / assignment, course.submitted / student / assignment)
    files = read_submission(course.submitted / student / assignment).files
    bundle = CourseBundle.of(course.root, assignment)
    output = grade_task(SubmissionTask(assignment, student, files, bundle, course.limits()))
    assert output.status == Status.OK and output.report.timing["worker_cpu_s"] > 0

    with Gradebook(sqlite_url(WorkerCourse.of(bundle).root)) as gb:
        grades = [g for notebook in gb.find_submission(assignment, student).notebooks for g in notebook.grades]
        assert len(grades) > 5 and all(g.auto_score is None for g in grades)
    result = record(course, output)
    with Gradebook(course.db_url) as gb:
        assert gb.find_submission(assignment, student).score == result.score > 0.5 * result.max_score


def test_the_bundle_carries_nbgraders_release_and_a_gradebook_without_the_courses_students(tmp_path):
    """The coordinator generates the scratch course once (``scratch_course.generated``): the release is nbgrader's
    own, and the gradebook that travels to the workers has the assignment's cells and none of the course's
    students."""
    assignment = "vae_tarea"
    course = new_course(Path(tmp_path) / "course", (assignment,))
    course.nbgrader("generate_assignment", assignment, "--force")
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("alu_privada", first_name="Ana", last_name="Pérez")
    bundle = CourseBundle.of(course.root, assignment)

    release = f"release/{assignment}/{assignment}.ipynb"
    assert bundle.generated[release] == (course.root / release).read_bytes()
    shipped = tmp_path / "shipped.db"
    shipped.write_bytes(bundle.generated["gradebook.db"])
    with Gradebook(f"sqlite:///{shipped}") as gb, Gradebook(course.db_url) as course_gb:
        assert gb.students == [] and [s.id for s in course_gb.students] == ["alu_privada"]
        assert len(gb.find_notebook(assignment, assignment).grade_cells) == len(
            course_gb.find_notebook(assignment, assignment).grade_cells) > 5
    assert b"alu_privada" not in b"".join(bundle.generated.values())
    assert CourseBundle.of(course.root, assignment).generated is bundle.generated  # made once per process


def test_a_source_notebook_nbgrader_cannot_read_stops_the_batch_with_nbgraders_error_in_spanish(tmp_path):
    """``CourseBundle.of`` generates the scratch course before any worker starts: a source notebook that is not
    JSON fails there, once, with a Spanish sentence and nbgrader's own error line (``course.run_in_process``), not
    in each worker."""
    import pytest

    from autograder.errors import VaekitError

    assignment = "vae_tarea"
    course = new_course(Path(tmp_path) / "course", (assignment,))
    (course.root / "source" / assignment / f"{assignment}.ipynb").write_text("{ esto no es JSON", encoding="utf-8")
    with pytest.raises(VaekitError) as error:
        CourseBundle.of(course.root, assignment)
    message = str(error.value)
    assert message.startswith(f"no se pudo preparar la tarea {assignment} para los trabajadores: ")
    assert message.splitlines()[0].endswith(": NbGraderException: Please see the the above traceback for details on "
                                            "the specific errors on the above failures."), message  # no module path
    assert "NotJSONError: Notebook does not appear to be JSON" in message  # the cause, from nbgrader's log
