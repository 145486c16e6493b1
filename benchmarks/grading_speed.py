"""Grading speed: plain serial ``nbgrader autograde`` against ``vaekit grade --workers 2``, same run.

N example submissions of the homework (the correct one and canonical mistakes from examples/submitted) are
graded twice in one scratch course: serially by one ``nbgrader autograde A --force`` process, then by vaekit's
parallel isolated grader. Prints the ratio serial/parallel and the wall time per submission.
Targets (issue 4): <= 30 s wall per homework submission on 2 CPU cores; parallel >= 1.8x serial.

    python benchmarks/grading_speed.py [--n 4] [--workers 2] [--assignment vae_tarea] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course import new_course  # noqa: E402
from autograder.examples import load_manifest  # noqa: E402
from autograder.grading import Grader, Limits  # noqa: E402


def pick_students(assignment: str, n: int) -> list[str]:
    """The correct submission and then canonical mistakes (no broken ones: they measure timeouts, not speed)."""
    examples = [e for e in load_manifest(REPO / "examples") if e.assignment == assignment]
    ordered = [e for e in examples if e.kind == "correct"] + [e for e in examples if e.kind == "mistake"]
    return [e.student for e in ordered[:n]]


def run(n: int = 4, workers: int = 2, assignment: str = "vae_tarea") -> dict:
    with tempfile.TemporaryDirectory(prefix="vaekit-bench-") as tmp:
        course = new_course(Path(tmp), (assignment,))
        course.nbgrader("generate_assignment", assignment, "--force")
        students = pick_students(assignment, n)
        for s in students:
            shutil.copytree(REPO / "examples" / "submitted" / s / assignment, course.submitted / s / assignment)

        load_before = os.getloadavg()[0]
        cpu0, start = children_cpu(), time.monotonic()
        proc = course.nbgrader("autograde", assignment, "--force", check=False)
        serial = time.monotonic() - start
        serial_cpu = children_cpu() - cpu0
        serial_scores = _scores(course, assignment, students)
        shutil.rmtree(course.autograded)

        cpu0, start = children_cpu(), time.monotonic()
        results = Grader(course, assignment, workers, Limits()).grade_all(students)
        parallel = time.monotonic() - start
        parallel_cpu = children_cpu() - cpu0
        load_after = os.getloadavg()[0]
        parallel_scores = {r.student: r.score for r in results}

    return {
        "assignment": assignment,
        "submissions": len(students),
        "workers": workers,
        "serial_nbgrader_s": round(serial, 1),
        "serial_exit_code": proc.returncode,
        "parallel_vaekit_s": round(parallel, 1),
        "speedup": round(serial / parallel, 2),
        "wall_per_submission_s": round(parallel / len(students), 1),
        "same_scores": serial_scores == parallel_scores,
        # CPU seconds (user+sys of every finished descendant: graders and kernels). On a shared machine the wall
        # times depend on the other load; the CPU seconds do not.
        "serial_cpu_s": round(serial_cpu, 1),
        "parallel_cpu_s": round(parallel_cpu, 1),
        "cpu_cores": os.cpu_count(),
        "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
    }


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _scores(course, assignment, students) -> dict[str, float]:
    with course.gradebook() as gb:
        return {s: float(gb.find_submission(assignment, s).score) for s in students}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--assignment", default="vae_tarea")
    p.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "grading_speed.json")
    args = p.parse_args(argv)
    result = run(args.n, args.workers, args.assignment)
    print(f"Calificación de {result['submissions']} entregas de {result['assignment']}:")
    print(f"  nbgrader autograde en serie : {result['serial_nbgrader_s']:7.1f} s")
    print(f"  vaekit grade --workers {result['workers']}    : {result['parallel_vaekit_s']:7.1f} s")
    print(f"  aceleración                 : {result['speedup']:.2f}x  (objetivo >= 1.8x)")
    print(f"  tiempo por entrega          : {result['wall_per_submission_s']:.1f} s  (objetivo <= 30 s)")
    print(f"  mismas notas                : {result['same_scores']}")
    print(f"  CPU (serie / paralelo)      : {result['serial_cpu_s']:.1f} s / {result['parallel_cpu_s']:.1f} s "
          f"en {result['cpu_cores']} núcleos; carga media {result['load_average_before_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
