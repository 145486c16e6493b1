"""Grade ONE submission, where a grading worker runs (a Dask worker, or this process): ``grade_task``.

The task carries everything (the course's config and source, the submission's files), and the output carries
everything back (the autograded notebook, the judge's report, the status): no shared filesystem is assumed. The
worker keeps a scratch copy of the course per assignment (its own gradebook, made once by ``nbgrader
generate_assignment``), and runs nbgrader's ``Autograde`` converter in its own process, so nbgrader, nbconvert
and the judge's TensorFlow are imported once per worker, not once per submission. The course's pipeline does the
rest (``autograder.preprocessors``: sandboxed kernel, judge).

Per submission:
1. A corrupt notebook is never handed to nbgrader: it gets 0 with a Spanish message.
2. A watchdog kills the kernel when the submission passes its wall-clock limit or its memory cap. When the kernel
   dies (killed, ``os._exit``, a crash), the cell log written by ``SandboxedExecute`` names the cell that started
   and never ended: it is neutralised (run as a Spanish error) and the submission graded again, at most
   ``max_neutralised`` times.
3. What still cannot be graded gets the blank release's zero, with the reason on top.
"""
from __future__ import annotations

import atexit
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

from autograder.errors import VaekitError

GIB = 1024**3
EVIDENCE = "evidence:"  # cell-log key prefix of the judge's calls into the kernel (one per graded part)


def evidence_key(grade_id: str) -> str:
    return EVIDENCE + grade_id


@dataclass
class Limits:
    """Per-submission limits, from the course's ``nbgrader_config.py`` (``Limits.from_config``; the defaults live in
    the traitlets ``settings.Grading`` and ``SandboxedExecute``), with the CLI's overrides."""
    cell_timeout: int
    submission_timeout: float
    memory_gb: float
    max_neutralised: int
    max_processes: int
    sandbox: bool
    tmp_mb: int
    file_mb: int

    @classmethod
    def from_config(cls, config, **overrides) -> "Limits":
        from autograder.preprocessors import SandboxedExecute
        from autograder.settings import Grading

        grading, execute = Grading(config=config), SandboxedExecute(config=config)
        limits = cls(cell_timeout=int(execute.timeout), submission_timeout=grading.submission_timeout,
                     memory_gb=grading.memory_gb, max_neutralised=grading.max_neutralised,
                     max_processes=execute.max_processes, sandbox=execute.sandbox, tmp_mb=grading.tmp_mb,
                     file_mb=grading.file_mb)
        for key, value in overrides.items():
            if value is not None:
                setattr(limits, key, type(getattr(limits, key))(value))
        return limits


@dataclass
class CourseBundle:
    """What a worker needs of the course: its config and the assignment's source folder (relative path -> bytes)."""
    assignment: str
    files: dict[str, bytes]

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + self.files[name] + b"\0")
        return h.hexdigest()[:16]

    @classmethod
    def of(cls, root: Path, assignment: str) -> "CourseBundle":
        root = Path(root)
        files = {"nbgrader_config.py": (root / "nbgrader_config.py").read_bytes()}
        for path in sorted((root / "source" / assignment).rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts and "__pycache__" not in path.parts:
                files[str(path.relative_to(root))] = path.read_bytes()
        return cls(assignment, files)


@dataclass
class SubmissionTask:
    assignment: str
    student: str
    files: dict[str, bytes]  # the submission folder's regular files (``gate.read_tree``), relative path -> bytes
    course: CourseBundle
    limits: Limits
    refused: list[str] = field(default_factory=list)  # "revisar a mano": what the gate would not read


@dataclass
class TaskOutput:
    student: str
    assignment: str
    status: str  # results.Status value
    message: str
    runs: int
    seconds: float
    notebook: bytes  # the autograded notebook (JSON), scores in its grade cells' outputs
    report: dict  # the judge's report: verdicts, flags, sandbox
    worker: str = ""
    log_tail: str = ""


def read_submission(folder: Path, caps=None):
    """A submission folder through the gate (``autograder.gate.Intake``: regular files only, no link followed)."""
    from autograder import gate

    return gate.read_tree(folder, caps or gate.Caps())


def notebook_problem(data: bytes | None, name: str) -> str | None:
    """A Spanish description of why ``data`` cannot be graded as a notebook, or None when it can."""
    if data is None:
        return f"no se encontró el cuaderno {name} en la entrega"
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 (any parse or schema error means the same to the student)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.split(":")[0][:80]
        return f"el archivo {name} no es un cuaderno de Jupyter válido ({first}; JSON inválido o incompleto)"
    return None


def unfinished_cell(cell_log: Path) -> dict | None:
    """The last cell that started and never ended (``{"key", "head"}``), from SandboxedExecute's cell log."""
    if not Path(cell_log).exists():
        return None
    open_cells: list[dict] = []
    for line in Path(cell_log).read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the kill
        if entry.get("event") == "start":
            open_cells.append(entry)
        elif open_cells and open_cells[-1]["key"] == entry.get("key"):
            open_cells.pop()
    return open_cells[-1] if open_cells else None


def kernel_events(cell_log: Path) -> dict:
    """The last ``kernel_end`` line of the cell log: the limits in force and whether the cgroup's limit killed it."""
    found: dict = {}
    if Path(cell_log).exists():
        for line in Path(cell_log).read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("event") == "kernel_end":
                found = entry
    return found


def normalise_grade_cells(nb, known: set[str]) -> list[str]:
    """Make nbgrader's metadata safe to grade: every cell that claims a grade id must carry one of the release's, and
    only once (the first copy counts; a pasted duplicate becomes an ordinary cell). Returns "revisar a mano" flags."""
    seen: set[str] = set()
    flags = []
    for index, cell in enumerate(nb.cells):
        md = cell.get("metadata", {}).get("nbgrader")
        if md is None:
            continue
        grade_id = md.get("grade_id") if isinstance(md, dict) else None
        problem = None
        if not isinstance(grade_id, str) or grade_id not in known:
            problem = "metadatos de nbgrader desconocidos"
        elif grade_id in seen:
            problem = f"celda de calificación «{grade_id}» duplicada: cuenta solo la primera"
        if problem is None:
            seen.add(grade_id)
            continue
        del cell.metadata["nbgrader"]
        flags.append(f"{problem} (celda {index})")
    return flags


def first_line(text: str, width: int = 60) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------------------
class Watchdog:
    """Kills this process's new children (the grading kernel's tree) past a deadline or a memory cap."""

    def __init__(self, timeout: float, memory_cap: int, max_processes: int | None = None, poll: float = 0.2):
        """``max_processes``: the kernel's process limit (``Limits.max_processes``; None: the trait's default)."""
        if max_processes is None:
            from autograder.sandbox import default_max_processes

            max_processes = default_max_processes()
        self.timeout, self.memory_cap, self.poll = timeout, memory_cap, poll
        self.max_processes = max(16, int(max_processes * 0.6))  # a fork bomb is stopped before it starves the rest
        self.me = psutil.Process()
        self.before = {p.pid for p in self.me.children(recursive=True)}
        self.timed_out = self.memory_exceeded = self.too_many_processes = False
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self.kill()  # nothing of a submission outlives its grading

    @property
    def killed(self) -> bool:
        return self.timed_out or self.memory_exceeded or self.too_many_processes

    def tree(self) -> list[psutil.Process]:
        try:
            return [p for p in self.me.children(recursive=True) if p.pid not in self.before]
        except psutil.Error:
            return []

    def kill(self) -> None:
        procs = self.tree()
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=10)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            rss = 0
            tree = self.tree()
            if len(tree) > self.max_processes:
                self.too_many_processes = True
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_rss = max(self.peak_rss, rss)
            if self.too_many_processes:
                pass
            elif rss > self.memory_cap:
                self.memory_exceeded = True
            elif time.monotonic() - self.start > self.timeout:
                self.timed_out = True
            if self.killed:
                self.kill()
                return


class WorkerCourse:
    """A worker's private scratch copy of a course for one assignment (config, source, release, own gradebook)."""

    _cache: dict[str, "WorkerCourse"] = {}
    _lock = threading.Lock()

    def __init__(self, bundle: CourseBundle):
        self.root = Path(tempfile.mkdtemp(prefix=f"vaekit-worker-{bundle.assignment}-"))  # 0700: the grader's only
        atexit.register(shutil.rmtree, self.root, True)  # holds solutions and a gradebook: gone with the worker
        self.assignment = bundle.assignment
        for name, data in bundle.files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self._generate()

    def _generate(self) -> None:
        """nbgrader's ``generate_assignment``, run in this worker process (its imports are already paid for): the
        scratch release and the scratch gradebook's notebooks and grade cells."""
        from nbgrader.converters import GenerateAssignment
        from nbgrader.coursedir import CourseDirectory

        from autograder.settings import load_config, sqlite_url

        bin_dir = str(Path(sys.executable).parent)  # a new gradebook runs `alembic heads` from PATH
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        config = load_config(self.root)
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = sqlite_url(self.root)  # the scratch course's own
        config.CourseDirectory.assignment_id = self.assignment
        config.GenerateAssignment.force = True
        stream = io.StringIO()
        converter = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
        converter.log.addHandler(logging.StreamHandler(stream))
        try:
            converter.start()
        except Exception as error:  # nbgrader raises NbGraderException and friends; its log says why
            raise VaekitError(f"el trabajador no pudo preparar la tarea {self.assignment}: "
                              f"{(stream.getvalue() + str(error))[-1500:]}") from None

    @classmethod
    def of(cls, bundle: CourseBundle) -> "WorkerCourse":
        with cls._lock:
            if bundle.digest not in cls._cache:
                cls._cache[bundle.digest] = cls(bundle)
            return cls._cache[bundle.digest]

    @property
    def release_notebook(self) -> Path:
        return self.root / "release" / self.assignment / f"{self.assignment}.ipynb"

    def submission_folder(self, student: str) -> Path:
        return self.root / "submitted" / student / self.assignment

    def autograded_notebook(self, student: str) -> Path:
        return self.root / "autograded" / student / self.assignment / f"{self.assignment}.ipynb"


def _autograde(course: WorkerCourse, student: str, limits: Limits, run_dir: Path, attempt: int,
               plan: dict[str, str]) -> tuple[bool, Watchdog, str]:
    """Run nbgrader's Autograde converter here on one staged submission; (succeeded, watchdog, log)."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    from autograder.settings import load_config, sqlite_url

    config = load_config(course.root)
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = sqlite_url(course.root)
    config.CourseDirectory.assignment_id = course.assignment
    config.CourseDirectory.student_id = student
    config.SandboxedExecute.sandbox = limits.sandbox
    config.SandboxedExecute.timeout = int(limits.cell_timeout)
    config.SandboxedExecute.max_processes = int(limits.max_processes)
    config.Grading.memory_gb = float(limits.memory_gb)
    config.Grading.tmp_mb = int(limits.tmp_mb)
    config.Grading.file_mb = int(limits.file_mb)
    config.SandboxedExecute.cell_log = str(run_dir / f"cells-{attempt}.jsonl")
    plan_path = run_dir / f"neutralise-{attempt}.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    config.SandboxedExecute.neutralise_file = str(plan_path)
    config.JudgeGradeCells.report_file = str(run_dir / f"report-{attempt}.json")
    config.Autograde.force = True

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    coursedir = CourseDirectory(config=config)
    converter = Autograde(coursedir=coursedir, config=config)
    converter.log.addHandler(handler)
    succeeded = False
    with Watchdog(limits.submission_timeout, int(limits.memory_gb * GIB), limits.max_processes) as watchdog:
        try:
            converter.start()
            succeeded = course.autograded_notebook(student).exists()
        except Exception as error:  # noqa: BLE001 (NbGraderException, a dead kernel: decided below)
            stream.write(f"\n{type(error).__name__}: {error}\n")
        finally:
            converter.log.removeHandler(handler)
    log = stream.getvalue()
    (run_dir / f"autograde-{attempt}.log").write_text(log, encoding="utf-8")
    return succeeded and not watchdog.killed, watchdog, log


def death_reason(watchdog: Watchdog, limits: Limits, log: str = "", events: dict | None = None) -> str:
    if watchdog.too_many_processes:
        return f"creó demasiados procesos (más de {watchdog.max_processes}: ¿una bomba fork?)"
    if watchdog.memory_exceeded:
        return f"superó el límite de memoria ({limits.memory_gb:g} GiB)"
    if (events or {}).get("oom_killed"):
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


def zero_notebook(release: Path, problem: str) -> nbformat.NotebookNode:
    """The blank release with the reason on top and every code grade cell failing: nbgrader records 0 points."""
    nb = nbformat.read(str(release), as_version=4)
    text = f"{problem[0].upper()}{problem[1:]}."
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"## ⚠ vaekit: tu entrega no se pudo calificar\n\n{text}\n\n"
        "Se calificó el cuaderno en blanco en su lugar (0 puntos). Revisa el archivo y vuelve a entregarlo."))
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if md.get("grade") and cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("error", ename="VaekitError", evalue=text,
                                                   traceback=[f"VaekitError: {text}"])]
    return nb


def _checked_notebook(data: bytes, known: set[str]) -> tuple[bytes, list[str]]:
    """The submitted notebook with nbgrader's metadata made safe to grade (``normalise_grade_cells``)."""
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    flags = normalise_grade_cells(nb, known)
    return (nbformat.writes(nb).encode("utf-8"), flags) if flags else (data, [])


def grade_task(task: SubmissionTask) -> TaskOutput:
    """Grade one submission here (see the module docstring); never raises for anything the submission does."""
    start = time.monotonic()
    course = WorkerCourse.of(task.course)
    limits = task.limits
    run_dir = Path(tempfile.mkdtemp(prefix=f"vaekit-run-{task.student}-"))
    name = f"{task.assignment}.ipynb"
    files = dict(task.files)
    problem = notebook_problem(files.get(name), name)
    flags = list(task.refused)
    if problem is None:
        known = {g for c in nbformat.read(str(course.release_notebook), as_version=4).cells
                 if isinstance(g := c.get("metadata", {}).get("nbgrader", {}).get("grade_id"), str)}
        files[name], fixed = _checked_notebook(files[name], known)
        flags += fixed
    plan: dict[str, str] = {}
    notes: list[str] = []
    runs, log = 0, ""
    status = "ok"
    events: dict = {}
    try:
        while problem is None:
            runs += 1
            folder = course.submission_folder(task.student)
            shutil.rmtree(folder, ignore_errors=True)
            from autograder.gate import write_tree

            write_tree(folder, files)
            shutil.rmtree(course.autograded_notebook(task.student).parent, ignore_errors=True)
            ok, watchdog, log = _autograde(course, task.student, limits, run_dir, runs, plan)
            events = kernel_events(run_dir / f"cells-{runs}.jsonl")
            if ok:
                break
            culprit = unfinished_cell(run_dir / f"cells-{runs}.jsonl")
            reason = death_reason(watchdog, limits, log, events)
            if culprit is None and not watchdog.killed:
                problem = f"nbgrader no pudo calificar el cuaderno ({nbgrader_error(log)})"
                break
            if culprit is None or culprit["key"] in plan or len(plan) >= limits.max_neutralised:
                problem = f"la ejecución {reason} y no se pudo aislar la celda responsable"
                break
            plan[culprit["key"]] = reason
            if culprit["key"].startswith(EVIDENCE):
                notes.append(f"Al llamar el juez a tu código de «{culprit['key'][len(EVIDENCE):]}», el kernel "
                             f"{reason}: esa parte se calificó con 0 y el resto normalmente.")
            else:
                notes.append(f"La celda que empieza por «{first_line(culprit['head'])}» {reason}: "
                             "se neutralizó y se calificó el resto del cuaderno.")
        if problem is None:
            notebook = course.autograded_notebook(task.student).read_bytes()
            report_path = run_dir / f"report-{runs}.json"
            report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
            status = "neutralised" if plan else "ok"
            message = " ".join(notes)
        else:
            notebook = nbformat.writes(zero_notebook(course.release_notebook, problem)).encode("utf-8")
            report = {"sandbox": limits.sandbox, "verdicts": {}, "flags": []}
            status, message = "zero", f"No se pudo calificar la entrega: {problem}."
        report["flags"] = report.get("flags", []) + [{"text": text} for text in flags]
        report.setdefault("limits", events.get("limits", {}))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(course.submission_folder(task.student), ignore_errors=True)
        shutil.rmtree(course.autograded_notebook(task.student).parent, ignore_errors=True)
    return TaskOutput(task.student, task.assignment, status, message, runs, round(time.monotonic() - start, 1),
                      notebook, report, worker=socket.gethostname(), log_tail=log[-3000:])


__all__ = ["Limits", "CourseBundle", "SubmissionTask", "TaskOutput", "grade_task", "read_submission",
           "notebook_problem", "unfinished_cell", "evidence_key", "zero_notebook"]
