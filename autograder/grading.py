"""Autograde every submission of an assignment: in parallel, each in its own isolated ``nbgrader autograde``.

Per submission (``grade_submission``):
1. The notebook JSON is checked first; a corrupt file is never handed to nbgrader.
2. The submission folder is copied to ``.vaekit/staging/<student>/<A>/`` and nbgrader autogrades that copy
   (``--CourseDirectory.submitted_directory``): the student's original is never modified.
3. An IPython startup hook logs every cell as it starts and ends. When the run dies (the kernel died, the
   submission ran past its time limit, or its process tree passed the memory cap), the cell that started and
   never ended is the culprit: the hook replaces it by a Spanish error on the next run, which grades the rest
   of the notebook. At most ``MAX_NEUTRALISED`` cells are neutralised.
4. A submission that still cannot be graded (corrupt JSON, nbgrader error) is graded as the blank release
   with a Spanish message on top: it gets a gradebook row with zeros and a feedback page that says why.
Every submission ends with a row in the gradebook and a ``GradeResult`` saved in ``.vaekit/results/<A>/``.

SQLite: all workers write to the one gradebook; nbgrader_config.py sets ``?timeout=60`` so a writer waits for
the lock instead of failing (nbgrader's writes last milliseconds). A run that still reports "database is
locked" is retried once.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder.course import NBGRADER, Course
from autograder.isolation import GIB, RunResult, run_isolated, thread_env

MAX_NEUTRALISED = 2
HOOK = Path(__file__).parent / "templates" / "ipython_startup.py"

STATUS_TEXT = {"ok": "calificada", "neutralised": "calificada (celda neutralizada)", "zero": "sin calificar: 0"}


@dataclass
class Limits:
    """Per-cell timeout (None: nbgrader_config.py's ``c.Execute.timeout``), per-submission wall time, memory cap."""
    cell_timeout: int | None = None
    submission_timeout: float = 900.0
    memory_gb: float = 6.0


@dataclass
class GradeResult:
    student: str
    assignment: str
    score: float
    max_score: float
    status: str  # "ok" | "neutralised" | "zero"
    message: str = ""  # Spanish, for the student and the TA
    seconds: float = 0.0
    runs: int = 0
    grades: dict[str, list[float]] = field(default_factory=dict)  # grade_id -> [score, max_score]
    manual: list[str] = field(default_factory=list)  # grade_ids that still need a manual grade

    def save(self, course: Course) -> Path:
        path = results_dir(course, self.assignment) / f"{self.student}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")
        return path


def results_dir(course: Course, assignment: str) -> Path:
    return course.work / "results" / assignment


def load_results(course: Course, assignment: str) -> dict[str, GradeResult]:
    folder = results_dir(course, assignment)
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["student"]] = GradeResult(**data)
    return out


# ---------------------------------------------------------------------------------------------------------
def notebook_problem(path: Path) -> str | None:
    """A Spanish description of why ``path`` cannot be graded as a notebook, or None when it can."""
    if not path.exists():
        return f"no se encontró el cuaderno {path.name} en la entrega"
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 (any parse or schema error means the same to the student)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.split(":")[0][:80]
        return f"el archivo {path.name} no es un cuaderno de Jupyter válido ({first})"
    return None


def unfinished_cell(cell_log: Path) -> dict | None:
    """The last cell that started and never ended (``{"key", "head"}``), from the startup hook's log."""
    if not cell_log.exists():
        return None
    open_cells: list[dict] = []
    for line in cell_log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the kill
        if entry["event"] == "start":
            open_cells.append(entry)
        elif open_cells and open_cells[-1]["key"] == entry["key"]:
            open_cells.pop()
    return open_cells[-1] if open_cells else None


def death_reason(run: RunResult, limits: Limits) -> str:
    if run.memory_exceeded:
        return f"superó el límite de memoria ({limits.memory_gb:g} GiB)"
    if run.timed_out:
        return f"superó el tiempo máximo por entrega ({limits.submission_timeout:g} s)"
    return "terminó el kernel de Python (os._exit, un fallo de memoria o un error fatal)"


def nbgrader_error(output: str) -> str:
    errors = [ln.strip() for ln in output.splitlines() if "[ERROR]" in ln or "Error" in ln]
    return errors[-1][:300] if errors else "error desconocido"


# ---------------------------------------------------------------------------------------------------------
class Grader:
    """Grades the submissions of one assignment of ``course`` under ``limits`` with ``workers`` in parallel."""

    def __init__(self, course: Course, assignment: str, workers: int = 2, limits: Limits | None = None):
        self.course = course
        self.assignment = assignment
        self.workers = max(1, int(workers))
        self.limits = limits or Limits()

    def check_ready(self) -> None:
        from nbgrader.api import MissingEntry

        with self.course.gradebook() as gb:
            try:
                gb.find_assignment(self.assignment)
            except MissingEntry:
                raise RuntimeError(f"La tarea {self.assignment} no está en el libro de notas: "
                                   f"ejecuta antes `vaekit release {self.assignment}`.") from None

    def grade_all(self, students: list[str] | None = None, progress=None) -> list[GradeResult]:
        """Grade ``students`` (default: every submission), ``workers`` at a time; returns results by student."""
        self.check_ready()
        students = sorted(students or self.course.students(self.assignment))
        results: list[GradeResult] = []
        bar = progress or ProgressBar(len(students))
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(self.grade_submission, s): s for s in students}
            for fut in as_completed(futures):
                result = fut.result()
                results.append(result)
                bar.update(result)
        bar.close()
        return sorted(results, key=lambda r: r.student)

    # one submission --------------------------------------------------------------------------------------
    def grade_submission(self, student: str) -> GradeResult:
        start = time.monotonic()
        run_dir = self.course.work / "runs" / self.assignment / student
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        neutralised: dict[str, str] = {}
        notes: list[str] = []
        runs = 0
        problem = notebook_problem(self.course.submitted_notebook(student, self.assignment))
        lock_retried = False
        while problem is None:
            runs += 1
            self.stage_submission(student)
            run = self.autograde(student, run_dir, runs, neutralised)
            if self.succeeded(run, student):
                break
            output = run.output()
            if "database is locked" in output and not lock_retried:
                lock_retried = True
                continue
            culprit = unfinished_cell(run_dir / f"cells-{runs}.jsonl")
            if run.killed or culprit is not None:
                reason = death_reason(run, self.limits)
                if culprit is None or culprit["key"] in neutralised or len(neutralised) >= MAX_NEUTRALISED:
                    problem = f"la ejecución {reason} y no se pudo aislar la celda responsable"
                    break
                neutralised[culprit["key"]] = reason
                notes.append(f"La celda que empieza por «{first_line(culprit['head'])}» {reason}: "
                             "se neutralizó y se calificó el resto del cuaderno.")
            else:
                problem = f"nbgrader no pudo calificar el cuaderno ({nbgrader_error(output)})"
        if problem is not None:
            runs += 1
            self.stage_blank(student, problem)
            run = self.autograde(student, run_dir, runs, {})
            if not self.succeeded(run, student):
                raise RuntimeError(f"{student}: no se pudo registrar la nota 0 ({nbgrader_error(run.output())}); "
                                   f"registro en {run.log_path}")
            status, message = "zero", f"No se pudo calificar la entrega: {problem}."
        elif neutralised:
            status, message = "neutralised", " ".join(notes)
        else:
            status, message = "ok", ""
        score, max_score, grades, manual = self.read_scores(student)
        result = GradeResult(student, self.assignment, score, max_score, status, message,
                             round(time.monotonic() - start, 1), runs, grades, manual)
        result.save(self.course)
        return result

    def staging_folder(self, student: str) -> Path:
        return self.course.work / "staging" / student / self.assignment

    def stage_submission(self, student: str) -> None:
        dest = self.staging_folder(student)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.course.submitted / student / self.assignment, dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))

    def stage_blank(self, student: str, problem: str) -> None:
        """The blank release with a Spanish note on top, in place of a submission that cannot be graded."""
        dest = self.staging_folder(student)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        timestamp = self.course.submitted / student / self.assignment / "timestamp.txt"
        if timestamp.exists():
            shutil.copy(timestamp, dest / "timestamp.txt")
        nb = nbformat.read(str(self.course.release_notebook(self.assignment)), as_version=4)
        note = nbformat.v4.new_markdown_cell(
            f"## ⚠ vaekit: tu entrega no se pudo calificar\n\n{problem[0].upper()}{problem[1:]}.\n\n"
            "Se calificó el cuaderno en blanco en su lugar (0 puntos). Revisa el archivo y vuelve a entregarlo.")
        nb.cells.insert(0, note)
        nbformat.write(nb, str(dest / f"{self.assignment}.ipynb"))

    def autograde(self, student: str, run_dir: Path, attempt: int, neutralised: dict[str, str]) -> RunResult:
        ipython_dir = run_dir / "ipython"
        startup = ipython_dir / "profile_default" / "startup"
        startup.mkdir(parents=True, exist_ok=True)
        shutil.copy(HOOK, startup / "00-vaekit.py")
        plan = run_dir / f"neutralise-{attempt}.json"
        plan.write_text(json.dumps(neutralised, ensure_ascii=False), encoding="utf-8")
        env = self.course.env({
            "IPYTHONDIR": str(ipython_dir),
            "VAEKIT_CELL_LOG": str(run_dir / f"cells-{attempt}.jsonl"),
            "VAEKIT_NEUTRALISE": str(plan),
            **thread_env(self.workers),
        })
        cmd = [*NBGRADER, "autograde", self.assignment, "--student", student, "--force",
               f"--CourseDirectory.submitted_directory={self.course.work / 'staging'}"]
        if self.limits.cell_timeout:
            cmd.append(f"--Execute.timeout={int(self.limits.cell_timeout)}")
        return run_isolated(cmd, cwd=self.course.root, env=env, log_path=run_dir / f"autograde-{attempt}.log",
                            timeout=self.limits.submission_timeout, memory_cap=int(self.limits.memory_gb * GIB))

    def succeeded(self, run: RunResult, student: str) -> bool:
        return (run.returncode == 0 and not run.killed
                and self.course.autograded_notebook(student, self.assignment).exists())

    def read_scores(self, student: str):
        """(score, max_score, {grade_id: [score, max_score]}, [grade_ids needing a manual grade])."""
        with self.course.gradebook() as gb:
            sub = gb.find_submission(self.assignment, student)
            all_grades = [g for nb in sub.notebooks for g in nb.grades]
            grades = {g.name: [float(g.score), float(g.max_score)] for g in all_grades}
            manual = sorted(g.name for g in all_grades if g.needs_manual_grade)
            return float(sub.score), float(sub.max_score), grades, manual


def first_line(text: str, width: int = 60) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------------------
class ProgressBar:
    """One line per finished submission with a bar; redraws in place on a terminal."""

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total, self.done, self.width = total, 0, width
        self.stream = stream or sys.stdout
        self.start = time.monotonic()
        print(f"Calificando {total} entregas…", file=self.stream, flush=True)

    def update(self, result: GradeResult) -> None:
        self.done += 1
        filled = round(self.width * self.done / max(1, self.total))
        bar = "█" * filled + "░" * (self.width - filled)
        print(f"[{bar}] {self.done}/{self.total}  {result.student:<28} {result.score:6.2f}/{result.max_score:<6.2f} "
              f"{STATUS_TEXT[result.status]:<32} {result.seconds:5.1f} s", file=self.stream, flush=True)

    def close(self) -> None:
        print(f"Listo: {self.done} entregas en {time.monotonic() - self.start:.1f} s", file=self.stream, flush=True)


def summary_table(results: list[GradeResult]) -> str:
    """Markdown table: student, points, status, message."""
    rows = ["| estudiante | puntos | estado | mensaje |", "| --- | ---: | --- | --- |"]
    for r in sorted(results, key=lambda r: r.student):
        message = r.message.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {r.student} | {r.score:.2f} / {r.max_score:.2f} | {STATUS_TEXT[r.status]} | {message} |")
    return "\n".join(rows)
