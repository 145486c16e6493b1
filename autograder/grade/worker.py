"""Grade ONE submission, where a grading worker runs (a Dask worker, or this process): ``grade_task``.

The task carries everything (the course's config and source, the submission's files), and the output carries
everything back (the autograded notebook, the judge's report, the status): no shared filesystem is assumed. The
worker keeps a scratch copy of the course per assignment (``WorkerCourse``: the files of the task's
``CourseBundle``, whose release and own gradebook the coordinator made once, ``grade.scratch_course``), and runs
nbgrader's ``Autograde`` converter in its own process, so nbgrader, nbconvert and the judge's TensorFlow are
imported once per worker, not once per submission. The course's pipeline does the rest (``grade.pipeline``:
sandboxed kernel, judge). Scores are written once, into the course's gradebook, by the coordinator
(``recording_steps``), never into the scratch one.

Per submission:
1. A corrupt notebook is never handed to nbgrader: it gets 0 with a Spanish message.
2. A watchdog kills the kernel when the submission passes its wall-clock limit or its memory cap. When the kernel
   dies (killed, ``os._exit``, a crash), the cell log written by ``SandboxedExecute`` names the cell that started
   and never ended: it is neutralised (run as a Spanish error) and the submission graded again, at most
   ``max_neutralised`` times.
3. What still cannot be graded gets the blank release's zero, with the reason on top.
What to do after each attempt is ``grade.retry.decide``; the files crossing into the pipeline are ``grade.runlog``'s.
"""
from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
import threading
import time
from functools import cached_property
from pathlib import Path

import nbformat

from autograder import gate
from autograder.course import run_in_process
from autograder.grade.notebook_checks import checked_notebook, notebook_problem, release_grade_ids, zero_notebook
from autograder.grade.retry import Attempt, Done, Retry, Zero, decide
from autograder.grade.runlog import CellLog, JudgeReport, KernelEnd, NeutralisePlan
from autograder.grade.scratch_course import course_config
from autograder.grade.task import CourseBundle, Limits, SubmissionTask, TaskOutput
from autograder.grade.watchdog import Watchdog
from autograder.results import Status

GIB = 1024**3


def read_submission(folder: Path, caps=None):
    """A submission folder through the gate (``autograder.gate.Intake``: regular files only, no link followed)."""
    return gate.read_tree(folder, caps or gate.Caps())


class WorkerCourse:
    """A worker's private scratch copy of a course for one assignment (config, source, release, own gradebook)."""

    _cache: dict[str, "WorkerCourse"] = {}
    _lock = threading.Lock()

    def __init__(self, bundle: CourseBundle):
        self.root = Path(tempfile.mkdtemp(prefix=f"vaekit-worker-{bundle.assignment}-"))  # 0700: the grader's only
        atexit.register(shutil.rmtree, self.root, True)  # holds solutions and a gradebook: gone with the worker
        self.assignment = bundle.assignment
        gate.write_tree(self.root, {**bundle.files, **bundle.generated})

    @classmethod
    def of(cls, bundle: CourseBundle) -> "WorkerCourse":
        with cls._lock:
            if bundle.digest not in cls._cache:
                cls._cache[bundle.digest] = cls(bundle)
            return cls._cache[bundle.digest]

    @cached_property
    def course(self):
        """The scratch copy as a ``Course`` (nbgrader's layout, as the course's config names its folders)."""
        from autograder.course import Course

        return Course(self.root)

    @property
    def release_notebook(self) -> Path:
        return self.course.release_notebook(self.assignment)

    def submission_folder(self, student: str) -> Path:
        return self.course.folder("submitted", student, self.assignment)

    def autograded_notebook(self, student: str) -> Path:
        return self.course.autograded_notebook(student, self.assignment)


def recording_steps() -> tuple:
    """nbgrader's steps that write a judged notebook's scores into a gradebook. They run once, where the course's
    gradebook is (``coordinator.record``); a worker's scratch gradebook would hold them for nobody."""
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    return SaveAutoGrades, AssignLatePenalties


def _name(step) -> str:
    """A configured preprocessor's class name (the config names it by dotted path or by class)."""
    return (step if isinstance(step, str) else step.__name__).rsplit(".", 1)[-1]


def _autograde(course: WorkerCourse, student: str, limits: Limits, run_dir: Path, attempt: int,
               plan: NeutralisePlan) -> tuple[bool, Watchdog, str]:
    """Run nbgrader's Autograde converter here on one staged submission; (succeeded, watchdog, log)."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    config = course_config(course.root, course.assignment)
    config.CourseDirectory.student_id = student
    limits.apply(config)
    config.SandboxedExecute.cell_log = str(run_dir / f"cells-{attempt}.jsonl")
    plan_path = run_dir / f"neutralise-{attempt}.json"
    plan.save(plan_path)
    config.SandboxedExecute.neutralise_file = str(plan_path)
    config.JudgeGradeCells.report_file = str(run_dir / f"report-{attempt}.json")
    config.Autograde.force = True
    converter = Autograde(coursedir=CourseDirectory(config=config), config=config)
    recorded_later = {step.__name__ for step in recording_steps()}  # in the course's gradebook, by the coordinator
    converter.autograde_preprocessors = [step for step in converter.autograde_preprocessors
                                         if _name(step) not in recorded_later]
    with Watchdog(limits.submission_timeout, int(limits.memory_gb * GIB), limits.max_processes) as watchdog:
        log, error = run_in_process(converter)
        log += f"\n{error}\n" if error else ""
        succeeded = not error and course.autograded_notebook(student).exists()
    (run_dir / f"autograde-{attempt}.log").write_text(log, encoding="utf-8")
    return succeeded and not watchdog.killed, watchdog, log


def death_reason(watchdog: Watchdog, limits: Limits, log: str = "", end: KernelEnd | None = None) -> str:
    """What the kernel did, in Spanish, as the rest of a sentence ("el kernel …")."""
    if watchdog.too_many_processes:
        return f"creó demasiados procesos (más de {watchdog.max_processes}: ¿una bomba fork?)"
    if watchdog.memory_exceeded:
        return f"superó el límite de memoria ({limits.memory_gb:g} GiB)"
    if end is not None and end.oom_killed:
        return (f"superó el límite de memoria ({limits.memory_gb:g} GiB, contando los archivos en memoria: "
                "/tmp, /dev/shm, memfd)")
    if watchdog.timed_out:
        return f"superó el tiempo máximo por entrega ({limits.submission_timeout:g} s)"
    if "CellTimeoutError" in log:  # nbclient interrupted it and it did not stop (e.g. SIGINT ignored)
        return f"superó el tiempo por celda ({limits.cell_timeout} s) y no respondió a la interrupción"
    return "terminó el kernel de Python (os._exit, un fallo de memoria o un error fatal)"


def nbgrader_error(log: str) -> str:
    errors = [ln.strip() for ln in log.splitlines() if "[ERROR]" in ln or "Error" in ln]
    return errors[-1][:300] if errors else "error desconocido"


def grade_task(task: SubmissionTask) -> TaskOutput:
    """Grade one submission here (see the module docstring); never raises for anything the submission does."""
    start, cpu_start = time.monotonic(), time.process_time()
    course = WorkerCourse.of(task.course)
    limits = task.limits
    run_dir = Path(tempfile.mkdtemp(prefix=f"vaekit-run-{task.student}-"))
    name = f"{task.assignment}.ipynb"
    files = dict(task.files)
    problem = notebook_problem(files.get(name), name)
    flags = list(task.refused)
    if problem is None:
        files[name], fixed = checked_notebook(files[name], release_grade_ids(course.release_notebook))
        flags += fixed
    plan = NeutralisePlan()
    notes: list[str] = []
    runs, log, end = 0, "", KernelEnd()
    try:
        while problem is None:
            runs += 1
            folder = course.submission_folder(task.student)
            shutil.rmtree(folder, ignore_errors=True)
            gate.write_tree(folder, files)
            shutil.rmtree(course.autograded_notebook(task.student).parent, ignore_errors=True)
            ok, watchdog, log = _autograde(course, task.student, limits, run_dir, runs, plan)
            cells = CellLog(run_dir / f"cells-{runs}.jsonl")
            end = cells.kernel_end()
            decision = decide(Attempt(ok, watchdog.killed, cells.unfinished_cell(),
                                      death_reason(watchdog, limits, log, end), nbgrader_error(log), plan,
                                      limits.max_neutralised))
            if isinstance(decision, Done):
                break
            if isinstance(decision, Zero):
                problem = decision.problem
                break
            assert isinstance(decision, Retry)
            plan[decision.key] = decision.reason
            notes.append(decision.note)
        if problem is None:
            notebook = course.autograded_notebook(task.student).read_bytes()
            report = JudgeReport.load(run_dir / f"report-{runs}.json") or JudgeReport(task.assignment, limits.sandbox)
            status = Status.NEUTRALISED if plan else Status.OK
            message = " ".join(notes)
        else:
            notebook = nbformat.writes(zero_notebook(course.release_notebook, problem)).encode("utf-8")
            report = JudgeReport(task.assignment, sandbox=limits.sandbox)
            status, message = Status.ZERO, f"No se pudo calificar la entrega: {problem}."
        report.flags = list(report.flags) + [{"text": text} for text in flags]
        report.limits = report.limits or end.limits
        # this process's CPU-s (all its threads) for this submission; the kernel's own are its processes'
        report.timing = {**report.timing, "worker_cpu_s": round(time.process_time() - cpu_start, 2)}
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(course.submission_folder(task.student), ignore_errors=True)
        shutil.rmtree(course.autograded_notebook(task.student).parent, ignore_errors=True)
    return TaskOutput(task.student, task.assignment, status, message, runs, round(time.monotonic() - start, 1),
                      notebook, report, worker=socket.gethostname(), log_tail=log[-3000:])


__all__ = ["grade_task", "read_submission", "death_reason", "recording_steps", "WorkerCourse"]
