"""Grade a class on Dask: from a laptop (``LocalCluster`` of N worker processes) to a cluster (``--scheduler``).

The coordinating process (``vaekit grade``) sends one task per submission (``grade.worker.grade_task``: the course's
config and source and the submission's files travel with it; no shared filesystem), and as results arrive it alone
writes them: the autograded notebook into ``autograded/``, the points into the gradebook (nbgrader's own
``SaveAutoGrades`` and ``AssignLatePenalties`` over the judged notebook, so SQLite sees a single writer and a
PostgreSQL ``db_url`` works the same), and a ``GradeResult`` into ``.vaekit/results/``. A worker that dies
mid-task has its task re-run elsewhere by the scheduler, once (``allowed-failures``); a task that kills a worker
twice gets 0 with a message. A re-run grades only submissions without a result (``force`` re-grades all).
GPU workers declare the resource ``GPU`` (``dask worker --resources GPU=1``); ``gpu=True`` sends tasks there.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings

import nbformat

from autograder import gate
from autograder.course import Course
from autograder.errors import VaekitError
from autograder.grade.notebook_checks import zero_notebook
from autograder.grade.runlog import JudgeReport
from autograder.grade.task import CourseBundle, Limits, SubmissionTask, TaskOutput
from autograder.grade.worker import grade_task, read_submission, recording_steps
from autograder.results import GradeResult, Status


def thread_env() -> dict[str, str]:
    """One TensorFlow / BLAS thread per grading process (kernel and judge), however many workers share the machine.

    Grading runs tiny tensors; a second thread only spins. Measured on 2 cores, 1 worker, 8 homework submissions,
    runs alternated: 2 threads 8.4, 7.3, 8.4 CPU-s and 8.8, 7.6, 8.7 s per submission; 1 thread 6.8, 6.4, 7.2 CPU-s
    and 7.6, 7.0, 7.9 s, the same scores. Several workers then use one core each."""
    return {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


# Dask's housekeeping on a LocalCluster, which grading does not use but pays for on the cores it shares with the
# kernels: the statistical profiler samples the task thread every 10 ms (~0.2 CPU-s per submission); the event-loop
# "tick" monitor (default every 20 ms, only to log a blocked loop) and the system monitor (psutil every 0.5 s, for
# the dashboard). Measured idle on a cluster of two worker processes: 0.26 CPU-s per worker per 10 s and 1.05 CPU-s
# per 20 s in the coordinator (scheduler and nannies) with Dask's defaults; 0.04 and 0.18 with these.
QUIET_LOOPS = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
               "distributed.admin.system-monitor.interval": "5s"}


@contextlib.contextmanager
def local_worker_processes(gpus: int = 0):
    """What a LocalCluster's worker processes start from; yields their environment (``thread_env``). Without GPUs
    they are forks of ``fork_server``'s server, started here: entered before the cluster (``grade``), its import
    runs while this process does other work."""
    from autograder.grade.fork_server import worker_fork_server

    env = thread_env()
    # here too: OpenBLAS and OpenMP read their counts when numpy is imported, in the fork server (or a spawned
    # worker) before the nanny applies env= in the worker; TensorFlow reads its own later, from env=
    os.environ.update(env)
    with contextlib.nullcontext() if gpus else worker_fork_server():
        yield env


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None = None, gpus: int = 0):
    """A ``distributed.Client``: to ``scheduler`` when given, else to a LocalCluster of ``workers`` processes (the
    course's ``Grading.workers`` or the CLI's ``--workers``)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=30)
        except OSError as error:
            raise VaekitError(f"no se pudo conectar con el planificador de Dask {scheduler} ({error}): arráncalo con "
                              "`dask scheduler` y sus trabajadores con `dask worker ADDRESS`") from None
        with client:
            yield client
        return
    with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.worker.daemon": False,
                          "distributed.admin.log-level": "error", **QUIET_LOOPS}), \
            local_worker_processes(gpus) as env:
        # the HTTP server on a free port: two clusters on one machine (two watchers) neither collide nor warn
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               memory_limit=0, resources={"GPU": gpus} if gpus else None, silence_logs=40,
                               env=env)
        with cluster, Client(cluster) as client:
            from autograder.grade.quick_exit import QuickExit

            client.register_plugin(QuickExit())  # before any task: its exit skips the interpreter's teardown
            yield client


def _timestamp_of(course: Course, student: str, assignment: str):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(root=str(course.root)).get_existing_timestamp(str(course.submitted / student / assignment))


def record(course: Course, output: TaskOutput) -> GradeResult:
    """Write one task's output into the course (autograded notebook, gradebook, result); returns the result."""
    a, student = output.assignment, output.student
    nb = nbformat.reads(output.notebook.decode("utf-8"), as_version=4)
    path = course.autograded_notebook(student, a)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(0o644)
    path.unlink(missing_ok=True)
    nbformat.write(nb, str(path))
    path.chmod(0o444)
    # the submission's other files (timestamp, exchange secret, weights…), through the gate; other notebooks
    # (drafts) stay in submitted/: nbgrader would try to give feedback on them
    extras = gate.read_tree(course.submitted / student / a, course.grading.caps())
    gate.write_tree(path.parent, {rel: data for rel, data in extras.files.items()
                                  if rel != path.name and not rel.endswith(".ipynb")})
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(a, student, timestamp=_timestamp_of(course, student, a))
    resources = {"nbgrader": {"db_url": course.db_url, "assignment": a, "notebook": a, "student": student}}
    config = course.config
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy autoflush warnings are not the TA's business
        warnings.simplefilter("ignore")
        for step in recording_steps():
            nb, resources = step(config=config).preprocess(nb, resources)
    scores = course.scores(a, student)
    report = output.report
    result = GradeResult(student, a, scores.score, scores.max_score, Status(output.status), output.message,
                         output.seconds, output.runs, scores.grades, scores.manual, report.verdicts,
                         report.flag_texts(), bool(report.sandbox), output.worker, report.timing, report.limits)
    result.save(course.results)
    return result


def lost_output(course: Course, assignment: str, student: str, limits: Limits, why: str) -> TaskOutput:
    """A zero for a task the cluster could not finish (it took down its worker twice)."""
    nb = zero_notebook(course.release_notebook(assignment), why)
    return TaskOutput(student, assignment, Status.ZERO, f"No se pudo calificar la entrega: {why}.", 0, 0.0,
                      nbformat.writes(nb).encode("utf-8"), JudgeReport(assignment, limits.sandbox))


def intake_flags(course: Course, assignment: str, student: str) -> list[str]:
    """What ``vaekit collect`` refused to copy from this student's exchange submission (``exchange.collect``)."""
    path = course.work / "intake" / assignment / f"{student}.json"
    try:
        return [str(text)[:300] for text in json.loads(path.read_text(encoding="utf-8"))][:50]
    except (OSError, ValueError, TypeError):
        return []


def check_ready(course: Course, assignment: str, limits: Limits) -> None:
    from nbgrader.api import MissingEntry

    if limits.sandbox:
        from autograder.grade.cgroup import unavailable_reason
        from autograder.grade.sandbox import check_available

        check_available()
        why = unavailable_reason()
        if why:  # said once per batch; each result records the limits that were in force
            print(f"vaekit: los kernels se califican sin cgroup de memoria ({why}); siguen limitados el /tmp del "
                  f"sandbox ({limits.tmp_mb} MiB) y el tamaño de archivo ({limits.file_mb} MiB).", file=sys.stderr)
    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise VaekitError(f"La tarea {assignment} no está en el libro de notas: ejecuta antes "
                              f"`vaekit release {assignment}`.") from None


def grade(course: Course, assignment: str, *, limits: Limits | None = None, workers: int | None = None,
          scheduler: str | None = None, students: list[str] | None = None, force: bool = False, gpu: bool = False,
          progress=None) -> list[GradeResult]:
    """Grade ``students`` (default: every submission without a result; all with ``force``); results by student."""
    from distributed import as_completed

    from autograder.progress import GradingProgress
    from autograder.results import load_results

    limits = limits or course.limits()
    workers = int(workers or course.grading.workers)
    check_ready(course, assignment, limits)
    chosen = sorted(students or course.students(assignment))
    done = {} if force else load_results(course.results, assignment)
    todo = [s for s in chosen if force or s not in done]
    results = [done[s] for s in chosen if s in done and s not in todo]
    bar = progress or GradingProgress(len(todo), skipped=len(results))
    gpus = 1 if gpu else 0
    # the bundle (its scratch course generated here, ~1 CPU-s) is made while a LocalCluster's worker processes import
    # (one core); in this thread, as nbgrader changes the working directory while it generates
    with contextlib.nullcontext() if scheduler else local_worker_processes(gpus):
        bundle = CourseBundle.of(course.root, assignment)
        with dask_client(workers, scheduler, gpus) as client:
            futures = {}
            caps = course.grading.caps()
            for student in todo:
                intake = read_submission(course.submitted / student / assignment, caps)
                task = SubmissionTask(assignment, student, intake.files, bundle, limits,
                                      refused=intake_flags(course, assignment, student) + intake.flags)
                future = client.submit(grade_task, task, key=f"vaekit-{assignment}-{student}-{time.time_ns()}",
                                       pure=False, resources={"GPU": 1} if gpu else None)
                futures[future] = student
            for future in as_completed(futures):
                student = futures[future]
                try:
                    output = future.result()
                except Exception as error:  # noqa: BLE001 (KilledWorker and the like: the cluster gave up on it)
                    why = f"el trabajador que la calificaba se cayó dos veces ({type(error).__name__})"
                    output = lost_output(course, assignment, student, limits, why)
                result = record(course, output)
                results.append(result)
                bar.update(result)
    bar.close()
    return sorted(results, key=lambda r: r.student)


__all__ = ["grade", "record", "dask_client", "thread_env"]
