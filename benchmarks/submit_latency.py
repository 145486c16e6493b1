"""Grade-on-submit latency: from a submission landing in nbgrader's exchange to its feedback released to that
student, with ``vaekit watch`` running and its one Dask worker kept warm, against the wall time of ``vaekit grade``
of the same submission (a fresh command, as a TA runs it: cluster start, worker imports, the scratch course).

    python benchmarks/submit_latency.py [--assignment vae_tarea] [--student alu01_correcta]

Both run in their own processes on this machine, one after the other (idle otherwise): first ``vaekit grade``,
then a watcher (``--workers 1 --interval 1``) that grades a warm-up submission, then the measured one. The latency
is the released page's modification time minus the submission's ``timestamp.txt`` (written by ``nbgrader
submit``), so it includes the wait for the next round, ``collect``, grading, the feedback page and its release.
Then what the same watcher costs while nothing arrives: its share of a core over ``IDLE_S`` seconds of 1 s rounds.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import exchange as ex  # noqa: E402
from autograder import quiet  # noqa: E402
from autograder.course import new_course  # noqa: E402
from autograder.settings import TF_QUIET_ENV  # noqa: E402
from autograder.watch import released_feedback, submitted_at  # noqa: E402

# the console stays quiet as vaekit's own does: its known library noise filtered here and in every child process
# (nbgrader subcommands, workers, kernels), TensorFlow's C++ start-up logs off
quiet.install()
os.environ.update(TF_QUIET_ENV)

WARM_UP = "alu_calentamiento"
IDLE_S = 10.0  # seconds of an idle watcher measured after the latency


def vaekit(course, *args: str) -> list[str]:
    return [sys.executable, "-m", "autograder.cli", "--course", str(course.root), *args]


def submit(course, exchange: Path, assignment: str, student: str, example: Path) -> float:
    """``student`` fetches the assignment, puts the example's files in it and submits; returns time.time() after."""
    me = ex.StudentFolder.create(course.root / "students" / student, exchange, course.course_id, student_id=student)
    fetched = me.fetch(assignment)
    for file in example.iterdir():
        if file.is_file():
            shutil.copyfile(file, fetched / file.name)
    me.submit(assignment)
    return time.time()


def wait_released(course, exchange: Path, assignment: str, student: str, watcher: subprocess.Popen,
                  timeout: float) -> float:
    """Seconds from the submission's timestamp to its released feedback page (polls the course and the exchange)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watcher.poll() is not None:
            raise RuntimeError(f"vaekit watch ended early ({watcher.returncode}):\n{watcher.stdout.read()[-3000:]}")
        page = released_feedback(course, assignment, student, exchange)
        stamp = submitted_at(course, assignment, student)
        if page is not None and stamp is not None:
            return page.stat().st_mtime - stamp.timestamp()
        time.sleep(0.2)
    raise RuntimeError(f"no feedback for {student} after {timeout:.0f} s")


def idle_cpu_share(pid: int, seconds: float) -> float:
    """The share of one core the watcher's processes (coordinator, worker) use while nothing arrives, its rounds
    polling the exchange every second: CPU-s over ``seconds`` of wall time, after a 2 s settle."""
    import psutil

    def tree_cpu() -> float:
        total = 0.0
        for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return total

    time.sleep(2)
    before, start = tree_cpu(), time.monotonic()
    time.sleep(seconds)
    return (tree_cpu() - before) / (time.monotonic() - start)


def run(assignment: str, student: str) -> dict:
    example = REPO / "examples" / "submitted" / student / assignment
    with tempfile.TemporaryDirectory(prefix="vaekit-latency-") as tmp:
        course = new_course(Path(tmp) / "curso", (assignment,))
        exchange = ex.prepare_root(Path(tmp) / "exchange")
        course.nbgrader("generate_assignment", assignment, "--force")
        ex.publish(course, assignment, exchange)

        shutil.copytree(example, course.submitted / student / assignment)
        start = time.monotonic()
        subprocess.run(vaekit(course, "grade", assignment, "--student", student, "--workers", "1"),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        grading_s = time.monotonic() - start
        shutil.rmtree(course.submitted / student)
        shutil.rmtree(course.results / assignment, ignore_errors=True)
        shutil.rmtree(course.autograded, ignore_errors=True)

        watcher = subprocess.Popen(
            vaekit(course, "watch", assignment, "--exchange", str(exchange), "--workers", "1", "--interval", "1"),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            submit(course, exchange, assignment, WARM_UP, example)
            warm_up_s = wait_released(course, exchange, assignment, WARM_UP, watcher, 600)
            submit(course, exchange, assignment, student, example)
            latency_s = wait_released(course, exchange, assignment, student, watcher, 600)
            idle_share = idle_cpu_share(watcher.pid, IDLE_S)
        finally:
            watcher.terminate()  # the watcher alone: it closes its cluster, whose workers remove their scratch courses
            try:
                watcher.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(watcher.pid, signal.SIGKILL)
    return {"assignment": assignment, "student": student, "vaekit_grade_s": round(grading_s, 1),
            "watch_first_submission_s": round(warm_up_s, 1), "submit_to_feedback_s": round(latency_s, 1),
            "submit_to_feedback_over_grading": round(latency_s / grading_s, 2),
            "idle_watch_cpu_share_1s_rounds": round(idle_share, 3)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assignment", default="vae_tarea")
    p.add_argument("--student", default="alu01_correcta")
    args = p.parse_args(argv)
    r = run(args.assignment, args.student)
    print(f"Calificar al entregar ({r['assignment']}, {r['student']}):")
    print(f"  vaekit grade de esa entrega (proceso nuevo)      : {r['vaekit_grade_s']:6.1f} s")
    print(f"  vaekit watch, primera entrega (trabajador frío)  : {r['watch_first_submission_s']:6.1f} s")
    print(f"  vaekit watch caliente: entrega → retroalimentación: {r['submit_to_feedback_s']:6.1f} s "
          f"({r['submit_to_feedback_over_grading']:.2f}x vaekit grade; objetivo <= 1.5x)")
    print(f"  vaekit watch sin entregas (una ronda por segundo): {100 * r['idle_watch_cpu_share_1s_rounds']:.1f} % "
          "de un núcleo")
    return r


if __name__ == "__main__":
    main()
