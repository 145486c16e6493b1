"""An nbgrader course root (a folder with ``nbgrader_config.py``): its folders, its gradebook, its commands.

Layout (nbgrader's): ``source/<A>/``, ``release/<A>/``, ``submitted/<student>/<A>/``, ``autograded/...``,
``feedback/...``, ``gradebook.db``. vaekit keeps its own working files under ``.vaekit/``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from functools import cached_property
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import VaekitError
from autograder.notebooks import REPO_ROOT
from autograder.settings import KERNEL_ENV

NBGRADER = [sys.executable, "-m", "nbgrader"]


def stamp_new_gradebook(path: Path) -> None:
    """Create an empty SQLite gradebook at ``path`` stamped with nbgrader's schema version, computed here from
    nbgrader's migration scripts. nbgrader's ``Gradebook`` then only adds its tables: on a new file it would run the
    ``alembic heads`` command in a subprocess instead (~3 CPU-s of every worker's start; and in a process whose PATH
    lacks the virtualenv's bin, such as nbgrader's exchange run in-process, it fails)."""
    import contextlib
    import sqlite3

    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))


def run_in_process(app) -> tuple[str, str]:
    """An nbgrader app (a converter, an exchange action) started in this process with its log captured (nbgrader's
    ``capture_log``): (its log, "" or its error's last line with the exception's module path dropped)."""
    from nbgrader.utils import capture_log

    result = capture_log(app)
    if result["success"]:
        return result.get("log", ""), ""
    last = (result.get("error", "").strip().splitlines() or ["error"])[-1]
    name, _, message = last.partition(":")
    return result.get("log", ""), f"{name.rsplit('.', 1)[-1]}:{message}"


def stamp_if_new(db_url: str) -> None:
    """``stamp_new_gradebook`` where ``db_url`` names a SQLite file that does not exist yet (else nothing)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        stamp_new_gradebook(Path(url.database))


@dataclass(frozen=True)
class Course:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())
        if not (self.root / "nbgrader_config.py").exists():
            raise VaekitError(f"{self.root} no es un curso de nbgrader: falta nbgrader_config.py (usa --course CARPETA)")

    # folders: nbgrader's layout (``CourseDirectory.format_path``, so a course's own directory names hold) ------
    @cached_property
    def coursedir(self):
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config, root=str(self.root))

    def folder(self, step: str, student: str = ".", assignment: str = ".") -> Path:
        """``step``: one of nbgrader's steps (``submitted``, ``autograded``, ``feedback``, ``release``, ``source``)."""
        directory = getattr(self.coursedir, f"{step}_directory")
        return Path(os.path.normpath(self.coursedir.format_path(directory, student, assignment)))

    @property
    def submitted(self) -> Path:
        return self.folder("submitted")

    @property
    def autograded(self) -> Path:
        return self.folder("autograded")

    @property
    def feedback(self) -> Path:
        return self.folder("feedback")

    @property
    def work(self) -> Path:
        """vaekit's own files: staging copies, cell logs, per-submission grading results."""
        return self.root / ".vaekit"

    def release_notebook(self, assignment: str) -> Path:
        return self.folder("release", ".", assignment) / f"{assignment}.ipynb"

    def submitted_notebook(self, student: str, assignment: str) -> Path:
        return self.folder("submitted", student, assignment) / f"{assignment}.ipynb"

    def autograded_notebook(self, student: str, assignment: str) -> Path:
        return self.folder("autograded", student, assignment) / f"{assignment}.ipynb"

    def feedback_html(self, student: str, assignment: str) -> Path:
        return self.folder("feedback", student, assignment) / f"{assignment}.html"

    def students(self, assignment: str) -> list[str]:
        """Students with a submission folder for ``assignment``, sorted."""
        if not self.submitted.exists():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / assignment).is_dir())

    @property
    def results(self) -> Path:
        """vaekit's per-submission results (``GradeResult`` JSON), by assignment."""
        return self.work / "results"

    # settings, gradebook and commands --------------------------------------------------------------------
    @cached_property
    def config(self):
        """The course's ``nbgrader_config.py`` as a traitlets Config (what it sets; the defaults are the traits')."""
        from autograder.settings import load_config

        return load_config(self.root)

    @property
    def grading(self):
        """vaekit's ``settings.Grading`` for this course (its traits' defaults, overridden by nbgrader_config.py)."""
        from autograder.settings import Grading

        return Grading(config=self.config)

    def limits(self, **overrides):
        """The grading limits of ``nbgrader_config.py``, with ``overrides`` (the CLI's) on top."""
        from autograder.grade.task import Limits

        return Limits.from_config(self.config, **overrides)

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    @property
    def course_id(self) -> str:
        return self.config.CourseDirectory.course_id

    @contextmanager
    def gradebook(self):
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url, course_id=self.course_id) as gb:
            yield gb

    def scores(self, assignment: str, student: str) -> "Scores":
        """What the gradebook holds for one submission (nbgrader's ``Gradebook.find_submission``)."""
        with self.gradebook() as gb:
            sub = gb.find_submission(assignment, student)
            all_grades = [g for nb in sub.notebooks for g in nb.grades]
            return Scores(float(sub.score), float(sub.max_score),
                          {g.name: [float(g.score), float(g.max_score)] for g in all_grades},
                          sorted(g.name for g in all_grades if g.needs_manual_grade))

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["VAEKIT_COURSE_ROOT"] = str(self.root)
        # nbgrader calls `alembic` when it creates a gradebook: the venv's bin must be on PATH.
        bin_dir = str(Path(sys.executable).parent)
        if bin_dir not in env.get("PATH", "").split(os.pathsep):
            env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        # The kernels' environment (``settings.KERNEL_ENV``): TensorFlow quiet unless the TA asked otherwise, and
        # figures drawn inline so that they become cell outputs (the Makefile exports MPLBACKEND=Agg, under which
        # plt.show() in a kernel draws nothing).
        for key, value in KERNEL_ENV.items():
            env.setdefault(key, value)
        env["MPLBACKEND"] = KERNEL_ENV["MPLBACKEND"]
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(extra or {})
        return env

    def nbgrader(self, *args: str, check: bool = True, env: dict[str, str] | None = None):
        """Run ``nbgrader ARGS`` in the course root; returns the CompletedProcess (output captured)."""
        proc = subprocess.run([*NBGRADER, *args], cwd=self.root, env=self.env(env), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if check and proc.returncode != 0:
            raise VaekitError(f"nbgrader {' '.join(args)} falló (código {proc.returncode}):\n{proc.stdout[-4000:]}")
        return proc


@dataclass(frozen=True)
class Scores:
    """One submission's points: total, maximum, ``grades`` {grade_id: [score, max_score]}, the grade ids that still
    need a manual grade."""
    score: float
    max_score: float
    grades: dict
    manual: list


def new_course(folder: Path, assignments: tuple[str, ...], template: Path = REPO_ROOT) -> Course:
    """A scratch course made from ``template``'s config and sources (``make demo``, the tests, release checks)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(template) / "nbgrader_config.py", folder / "nbgrader_config.py")
    for a in assignments:
        dest = folder / "source" / a
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(Path(template) / "source" / a, dest,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc"))
    return Course(folder)
