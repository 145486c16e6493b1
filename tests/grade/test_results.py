"""Results and the coordinator's bookkeeping without a cluster: a task's output recorded into a real course
(autograded notebook, gradebook via nbgrader's SaveAutoGrades, result JSON), and what the TA's table says."""
from __future__ import annotations

import pytest

from autograder.course import new_course
from autograder.grade.coordinator import lost_output, record
from autograder.results import GradeResult, Status, load_results, summary_table


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("curso"), ("vae_clase",))
    course.nbgrader("generate_assignment", "vae_clase", "--force")
    (course.submitted / "ana" / "vae_clase").mkdir(parents=True)
    return course


def test_a_lost_task_is_a_recorded_zero_marked_without_sandbox(course):
    output = lost_output(course, "vae_clase", "ana", course.limits(sandbox=False), "el trabajador se cayó dos veces")
    result = record(course, output)
    assert result.status == Status.ZERO and result.score == 0 and result.max_score == 16
    assert result.manual == []  # the blank release's written answers are unanswered: nbgrader gives them 0 too
    assert all(score == 0 for score, _ in result.grades.values())
    assert course.autograded_notebook("ana", "vae_clase").exists()
    with course.gradebook() as gb:
        assert gb.find_submission("vae_clase", "ana").score == 0
    assert load_results(course.results, "vae_clase")["ana"].to_json() == result.to_json()
    table = summary_table([result])
    assert "SIN sandbox" in table and "se cayó dos veces" in table


def test_result_json_round_trip_and_flags_in_the_table():
    r = GradeResult("luis", "vae_tarea", 10.5, 15, "neutralised", "una celda se neutralizó", flags=[
        "intentó salir de su sandbox: escribir en un sistema de solo lectura: /curso/gradebook.db (celda 4)"])
    back = GradeResult.from_json(r.to_json())
    assert back == r and back.status is Status.NEUTRALISED
    assert "gradebook.db" in summary_table([back]) and "calificada (celda neutralizada)" in summary_table([back])
