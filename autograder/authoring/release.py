"""``vaekit release A``: generate the student notebook, and refuse to publish it unless it is right; then put the
student's bundle (the vae-runtime wheel, ``autograder.bundle``) beside it in ``release/<A>/``.

The release is first generated and checked in a scratch copy of the course (its own gradebook):
1. nothing of the solutions or of the hidden tests appears in the student notebook;
2. the source's solutions, filled into the release, score full marks when autograded;
3. the blank release scores 0.
Only then is ``nbgrader generate_assignment`` run in the course itself (``release/<A>/`` and its gradebook).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder import notebooks
from autograder.course import Course, new_course
from autograder.errors import VaekitError
from autograder.grade.task import Limits

SOLUTION_STUDENT = "_solucion"
BLANK_STUDENT = "_en_blanco"
_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


class ReleaseRefused(VaekitError):
    pass


@dataclass
class ReleaseCheck:
    assignment: str
    leaks: list[str] = field(default_factory=list)
    solution_score: tuple[float, float] = (0.0, 0.0)
    blank_score: tuple[float, float] = (0.0, 0.0)
    not_full: dict[str, list[float]] = field(default_factory=dict)  # grade_id -> [score, max] for the solution
    not_zero: dict[str, list[float]] = field(default_factory=dict)  # grade_id -> [score, max] for the blank
    manual: list[str] = field(default_factory=list)  # grade cells left to manual grading (not checked)
    automatic: tuple[float, float] = (0.0, 0.0)  # the solution's (score, max) over automatically graded cells
    bundle: Path | None = None  # the vae-runtime wheel beside the released notebook (autograder.bundle)

    @property
    def ok(self) -> bool:
        return not self.leaks and not self.not_full and not self.not_zero and self.solution_score[1] > 0

    def explain(self) -> str:
        lines = []
        for leak in self.leaks:
            lines.append(f"  ✘ la versión del alumno contiene texto de la solución o de tests ocultos: {leak!r}")
        for gid, (s, m) in self.not_full.items():
            lines.append(f"  ✘ la solución no obtiene la nota completa en {gid}: {s:g}/{m:g}")
        for gid, (s, m) in self.not_zero.items():
            lines.append(f"  ✘ el cuaderno en blanco obtiene puntos en {gid}: {s:g}/{m:g}")
        if self.solution_score[1] <= 0:
            lines.append("  ✘ la tarea no tiene celdas calificables")
        return "\n".join(lines)


def secret_lines(source_nb, min_length: int = 12) -> list[str]:
    """Non-trivial lines inside solution and hidden-test blocks (and whole markdown solution cells)."""
    return notebooks.lines_inside_markers(source_nb, min_length=min_length, whole_solution_markdown=True)


def leaks(source_nb, release_nb) -> list[str]:
    release_lines = {ln.strip() for cell in release_nb.cells for ln in cell.source.splitlines()}
    found = [s for s in secret_lines(source_nb) if s in release_lines]
    text = "\n".join(cell.source for cell in release_nb.cells)
    return found + [m for m in _MARKERS if m in text]


def check_release(course: Course, assignment: str, limits: Limits | None = None, scratch: Path | None = None,
                  **grade_options) -> ReleaseCheck:
    """Generate and check the release of ``assignment`` in a scratch copy of ``course``."""
    with tempfile.TemporaryDirectory(prefix=f"vaekit-release-{assignment}-", dir=scratch) as tmp:
        trial = new_course(Path(tmp), (assignment,), template=course.root)
        trial.nbgrader("generate_assignment", assignment, "--force")
        check = ReleaseCheck(assignment)
        check.leaks = leaks(notebooks.read(notebooks.source_path(assignment, trial.root)),
                            notebooks.read(trial.release_notebook(assignment)))
        if check.leaks:  # refused already: no need to grade
            return check
        notebooks.write(notebooks.filled_release(assignment, trial.root),
                        trial.submitted_notebook(SOLUTION_STUDENT, assignment))
        notebooks.write(notebooks.read(trial.release_notebook(assignment)),
                        trial.submitted_notebook(BLANK_STUDENT, assignment))
        from autograder.grade.coordinator import grade

        results = {r.student: r for r in grade(trial, assignment, limits=limits, force=True, **grade_options)}
        sol, blank = results[SOLUTION_STUDENT], results[BLANK_STUDENT]
        check.solution_score = (sol.score, sol.max_score)
        check.blank_score = (blank.score, blank.max_score)
        check.manual = sol.manual
        auto = [v for g, v in sol.grades.items() if g not in sol.manual]
        check.automatic = (sum(v[0] for v in auto), sum(v[1] for v in auto))
        check.not_full = {g: v for g, v in sol.grades.items() if v[0] < v[1] - 1e-9 and g not in sol.manual}
        check.not_zero = {g: v for g, v in blank.grades.items() if v[0] > 1e-9}
        if sol.status.value != "ok":
            check.not_full.setdefault("(ejecución)", [sol.score, sol.max_score])
        return check


def release(course: Course, assignment: str, limits: Limits | None = None, **grade_options) -> ReleaseCheck:
    """Check, then generate ``release/<A>/<A>.ipynb`` in ``course``; raises ReleaseRefused when a check fails."""
    check = check_release(course, assignment, limits, **grade_options)
    if not check.ok:
        raise ReleaseRefused(f"vaekit release {assignment}: publicación rechazada\n{check.explain()}")
    course.nbgrader("generate_assignment", assignment, "--force")
    from autograder.bundle import build_bundle

    check.bundle = build_bundle(course.release_notebook(assignment).parent)  # the student's bundle, checked
    return check
