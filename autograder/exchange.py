"""nbgrader's exchange for a vaekit course: the instructor publishes, students fetch and submit, the TA collects and
returns feedback, all through one shared folder (``c.Exchange.root``), as on a shared JupyterHub/Unix server.

Course side (the course root; ``vaekit release`` / ``collect`` / ``feedback --release``):
- ``publish``: ``nbgrader release_assignment A`` (after ``vaekit release`` has checked and generated the release);
- ``collect``: nbgrader's ``collect A --update``; stale vaekit results of updated submissions are dropped, so that
  ``vaekit grade A`` re-grades exactly the new and updated ones; submissions whose files are owned by another Unix
  user than the student id they claim are reported;
- ``release_feedback``: nbgrader's ``release_feedback A`` for the pages ``vaekit feedback`` wrote.
These two run nbgrader's exchange classes in this process (``course_exchange``), with the course's config.

The exchange is ``--exchange DIR`` on the command line, else ``c.Exchange.root`` in the course's nbgrader_config.py.
An exchange folder that does not exist is created world-writable with the sticky bit (1777); one that students
cannot write into is refused (every student command would fail with "Unwritable directory").

Student side (``StudentFolder``): a working folder with the student's own ``nbgrader_config.py`` (``course_id`` and
``Exchange.root``, what a student on a shared server puts in ``~/.jupyter``); ``nbgrader(...)`` runs the real
``nbgrader`` command there (optionally as another Unix user), ``fetch`` / ``submit`` / ``fetch_feedback`` call
nbgrader's exchange classes in-process (no 3-5 s start-up per command; ``vaekit demo --exchange``).
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import NBGRADER, Course, run_in_process, stamp_if_new
from autograder.errors import VaekitError

EXCHANGE_MODE = 0o1777  # everyone writes, nobody deletes what others wrote (like /tmp)
SUBMISSION_FILES = ("timestamp.txt", "submission_secret.txt")  # written by `nbgrader submit`, needed for feedback


# course side -----------------------------------------------------------------------------------------------------
def configured_root(course: Course, override: str | os.PathLike | None = None) -> Path | None:
    """The exchange folder: ``override`` (``--exchange``), else ``c.Exchange.root`` of the course; None if neither."""
    if override:
        return Path(override).expanduser().resolve()
    section = course.config.get("Exchange", {})
    root = section.get("root") if "root" in section else None
    return Path(root).expanduser().resolve() if root else None


def require_root(course: Course, override=None) -> Path:
    root = configured_root(course, override)
    if root is None:
        raise VaekitError("no hay intercambio de nbgrader configurado: pon c.Exchange.root = \"/carpeta/compartida\" "
                          "en nbgrader_config.py o usa --exchange CARPETA")
    return root


def prepare_root(root: Path) -> Path:
    """Create the exchange folder (mode 1777) when missing; refuse one that other users cannot write into."""
    root = Path(root)
    if not root.exists():
        root.mkdir(parents=True)
        root.chmod(EXCHANGE_MODE)
        return root
    if not root.is_dir():
        raise VaekitError(f"el intercambio {root} no es una carpeta")
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o003 != 0o003:
        raise VaekitError(f"los alumnos no pueden escribir en el intercambio {root} (permisos {mode:o}); "
                          f"nbgrader necesita 1777: chmod 1777 {root}")
    return root


def _exchange_arg(root: Path) -> str:
    return f"--Exchange.root={root}"


def exchange_action(config, kind: str, assignment: str):
    """nbgrader's exchange action ``kind`` (``Collect``, ``Submit``…) for ``assignment``, of the class ``config``
    names (``ExchangeFactory``: a course's ``GatedExchangeCollect``), with its course directory and authenticator."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory

    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    return getattr(ExchangeFactory(config=config), kind)(
        coursedir=coursedir, authenticator=Authenticator(config=config), config=config)


def course_exchange(course: Course, kind: str, assignment: str, root: Path, **traits) -> str:
    """nbgrader's course-side exchange action ``kind`` (``Collect``, ``ReleaseFeedback``) run in this process, as its
    command runs it: the course's config, ``Exchange.root`` = ``root``, and ``traits`` ("Class__name": value). As
    commands, ``nbgrader collect`` and ``release_feedback`` each paid ~2.3 CPU-s of Python start-up, at every round
    of ``vaekit watch``. These actions only copy files (nothing of a submission is rendered or run here). Returns
    nbgrader's log; raises VaekitError with its end when the action fails."""
    import copy
    import logging

    stamp_if_new(course.db_url)  # nbgrader would run the `alembic` command for a new gradebook
    config = copy.deepcopy(course.config)
    config.CourseDirectory.root = str(course.root)
    config.Exchange.root = str(root)
    for key, value in traits.items():
        section, name = key.split("__")
        config[section][name] = value
    action = exchange_action(config, kind, assignment)
    # a logger outside logging's tree (no parent, no other handler): nbgrader's messages go into the returned log
    # only, whatever the process's logging configuration is
    action.log = logging.Logger(f"vaekit.nbgrader.{kind}", logging.INFO)
    log, error = run_in_process(action)
    if error:
        raise VaekitError(f"nbgrader {kind} {assignment} falló: {error}\n{log[-3000:]}")
    return log


def outbound(root: Path, course: Course, assignment: str) -> Path:
    return Path(root) / course.course_id / "outbound" / assignment


def publish(course: Course, assignment: str, exchange=None) -> Path:
    """``nbgrader release_assignment A --force`` into the exchange; returns the published folder."""
    root = prepare_root(require_root(course, exchange))
    if not course.release_notebook(assignment).exists():
        raise VaekitError(f"no existe {course.release_notebook(assignment)}: ejecuta antes `vaekit release {assignment}`")
    course.nbgrader("release_assignment", assignment, "--force", _exchange_arg(root))
    return outbound(root, course, assignment)


@dataclass
class Collected:
    """What ``collect`` brought into ``submitted/``."""

    new: list[str] = field(default_factory=list)  # students with no submission before
    updated: list[str] = field(default_factory=list)  # a newer submission replaced the previous one
    unchanged: list[str] = field(default_factory=list)  # nothing newer in the exchange
    owner_warnings: list[str] = field(default_factory=list)  # files owned by someone else than the claimed student

    @property
    def to_grade(self) -> list[str]:
        return sorted(self.new + self.updated)


def _timestamps(course: Course, assignment: str) -> dict[str, str | None]:
    out = {}
    for student in course.students(assignment):
        path = course.submitted / student / assignment / "timestamp.txt"
        out[student] = path.read_text().strip() if path.exists() else None
    return out


def collect(course: Course, assignment: str, exchange=None, students: list[str] | None = None,
            check_owner: bool = True) -> Collected:
    """``nbgrader collect A --update`` (each of ``students``, default all) into ``submitted/<student>/A/``.

    The vaekit result of every new or updated submission is removed, so ``vaekit grade A`` grades exactly those.
    ``check_owner=False`` when several example students share one Unix user (the demo)."""
    root = require_root(course, exchange)
    inbound = root / course.course_id / "inbound"
    if not inbound.is_dir():
        raise VaekitError(f"nada que recoger: no existe {inbound} (¿se publicó la tarea con `vaekit release "
                          f"{assignment} --exchange {root}`?)")
    before = _timestamps(course, assignment)
    outputs = []
    for student in students or [None]:
        outputs.append(course_exchange(course, "Collect", assignment, root, ExchangeCollect__update=True,
                                       ExchangeCollect__check_owner=check_owner,
                                       **({"CourseDirectory__student_id": student} if student else {})))
    after = _timestamps(course, assignment)
    result = Collected()
    for student, stamp in sorted(after.items()):
        if students and student not in students:
            continue
        if student not in before:
            result.new.append(student)
        elif stamp != before[student]:
            result.updated.append(student)
        else:
            result.unchanged.append(student)
    text = "\n".join(outputs)
    result.owner_warnings = [" ".join(line.split()) for line in text.splitlines() if "claims to be submitted by" in line]
    for student in result.to_grade:  # stale: `vaekit grade` only grades submissions without a result
        (course.results / assignment / f"{student}.json").unlink(missing_ok=True)
        for wheel in (course.submitted / student / assignment).glob("vae_runtime-*.whl"):
            wheel.unlink()  # the course's own bundle, fetched with the notebook and submitted back: not the student's
    return result


def _graded_timestamp(course: Course, assignment: str, student: str) -> str | None:
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return sub.timestamp


@dataclass
class FeedbackRelease:
    released: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # student -> why (Spanish)


def release_feedback(course: Course, assignment: str, exchange=None, students: list[str] | None = None
                     ) -> FeedbackRelease:
    """``nbgrader release_feedback A`` for the feedback pages of ``students`` (default: all that have one).

    nbgrader finds a student's page by the secret that ``nbgrader submit`` wrote into the submission; vaekit grades
    the notebook only, so the submission's ``timestamp.txt`` and ``submission_secret.txt`` are copied next to the
    page here. A student without them (not submitted through the exchange) or whose submission is newer than its
    grade (collected again, not re-graded) is skipped, with the reason."""
    from nbgrader.coursedir import CourseDirectory

    root = prepare_root(require_root(course, exchange))
    out = FeedbackRelease()
    coursedir = CourseDirectory(root=str(course.root))
    everyone = sorted(p.parent.name for p in course.feedback.glob(f"*/{assignment}") if p.is_dir())
    for student in everyone:
        if students and student not in students:
            out.skipped[student] = "no pedido"
            continue
        page = course.feedback_html(student, assignment)
        submitted = course.submitted / student / assignment
        if not page.exists():
            out.skipped[student] = "sin página de retroalimentación (`vaekit feedback`)"
            continue
        if not all((submitted / name).exists() for name in SUBMISSION_FILES):
            out.skipped[student] = "la entrega no llegó por el intercambio (sin submission_secret.txt)"
            continue
        graded = _graded_timestamp(course, assignment, student)
        stamp = coursedir.get_existing_timestamp(str(submitted))
        if graded is None or stamp is None or abs((graded - stamp).total_seconds()) > 1e-3:
            out.skipped[student] = "la entrega es más nueva que su calificación: `vaekit grade` otra vez"
            continue
        for name in SUBMISSION_FILES:
            dest = page.parent / name
            if dest.exists():
                dest.chmod(0o644)
            shutil.copyfile(submitted / name, dest)
        out.released.append(student)
    if out.released:
        excluded = sorted(set(everyone) - set(out.released))
        course_exchange(course, "ReleaseFeedback", assignment, root,
                        **({"CourseDirectory__student_id_exclude": ",".join(excluded)} if excluded else {}))
    return out


# student side ----------------------------------------------------------------------------------------------------
def student_config(exchange: Path, course_id: str, student_id: str | None = None, cache: Path | None = None) -> str:
    """A student's ``nbgrader_config.py`` (in ``~/.jupyter`` or the folder where they run JupyterLab/nbgrader); their
    Validate button gets the grading cell timeout (``SandboxedExecute.timeout``'s default)."""
    from autograder.grade.pipeline import SandboxedExecute
    from autograder.settings import trait_default

    lines = [
        f'"""nbgrader para un alumno del curso {course_id}: dónde está el intercambio del curso."""',
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {course_id!r}",
        f"c.Exchange.root = {str(exchange)!r}",
        "# Validate ejecuta el cuaderno entero; un núcleo con TensorFlow tarda en arrancar en una máquina cargada.",
        f"c.Execute.timeout = {trait_default(SandboxedExecute, 'timeout')}",
        "c.Execute.startup_timeout = 300",
    ]
    if student_id:  # several students under one Unix user (demo, tests): nbgrader would use the login name
        lines.append(f"c.CourseDirectory.student_id = {student_id!r}")
    if cache:  # nbgrader's default is ~/.local/share/jupyter/nbgrader_cache, one per Unix user
        lines.append(f"c.Exchange.cache = {str(cache)!r}")
    return "\n".join(lines) + "\n"


@dataclass
class StudentFolder:
    """Where one student works: ``<folder>/nbgrader_config.py`` and, once fetched, ``<folder>/<A>/``."""

    folder: Path
    exchange: Path
    course_id: str
    student_id: str | None = None  # None: nbgrader uses the Unix login name
    cache: Path | None = None  # None: nbgrader's per-user default

    def __post_init__(self):
        self.folder = Path(self.folder)

    @classmethod
    def create(cls, folder, exchange, course_id: str, student_id: str | None = None, private_cache: bool = True):
        """The folder with its config; ``private_cache`` keeps nbgrader's cache inside it (students sharing a user)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        made = cls(folder, Path(exchange), course_id, student_id, folder / ".nbgrader_cache" if private_cache else None)
        made.config_path.write_text(student_config(made.exchange, course_id, student_id, made.cache), encoding="utf-8")
        return made

    @property
    def config_path(self) -> Path:
        return self.folder / "nbgrader_config.py"

    def assignment(self, assignment: str) -> Path:
        return self.folder / assignment

    def feedback_pages(self, assignment: str) -> list[Path]:
        """``<A>/feedback/<timestamp>/<A>.html``, oldest submission first."""
        return sorted(self.assignment(assignment).glob(f"feedback/*/{assignment}.html"))

    # the real nbgrader command, as the student types it ------------------------------------------------------------
    def command(self, *args: str, user: str | None = None) -> list[str]:
        cmd = [*NBGRADER, *args]
        return ["runuser", "-u", user, "--", *cmd] if user else cmd

    def nbgrader(self, *args: str, user: str | None = None, python: str | None = None, env: dict | None = None,
                 check: bool = True) -> subprocess.CompletedProcess:
        """``nbgrader ARGS`` in the folder (as Unix ``user`` when given; ``python`` runs it instead of this one)."""
        cmd = self.command(*args, user=user)
        if python:
            cmd[cmd.index(NBGRADER[0])] = python
        full_env = dict(os.environ if env is None else env)
        full_env.setdefault("JUPYTER_CONFIG_DIR", str(self.folder / ".jupyter"))  # nothing from the machine's config
        full_env.pop("VAEKIT_COURSE_ROOT", None)
        proc = subprocess.run(cmd, cwd=self.folder, env=full_env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        if check and proc.returncode != 0:
            raise VaekitError(f"nbgrader {' '.join(args)} (alumno, {self.folder}) falló ({proc.returncode}):\n"
                               f"{proc.stdout[-4000:]}")
        return proc

    # in-process, for many example students (no start-up per command) --------------------------------------------------
    def _config(self):
        from traitlets.config import Config

        config = Config()
        config.CourseDirectory.course_id = self.course_id
        config.Exchange.root = str(self.exchange)
        config.Exchange.assignment_dir = str(self.folder)
        if self.student_id:
            config.CourseDirectory.student_id = self.student_id
        if self.cache:
            config.Exchange.cache = str(self.cache)
        return config

    def _exchange(self, kind: str, assignment: str):
        from nbgrader.exchange import ExchangeError

        action = exchange_action(self._config(), kind, assignment)
        try:
            return action.start()
        except ExchangeError as error:
            raise VaekitError(f"{self.student_id or 'alumno'}: {kind} {assignment} falló: {error}") from None

    def fetch(self, assignment: str) -> Path:
        self._exchange("FetchAssignment", assignment)
        return self.assignment(assignment)

    def submit(self, assignment: str) -> None:
        self._exchange("Submit", assignment)

    def fetch_feedback(self, assignment: str) -> list[Path]:
        self._exchange("FetchFeedback", assignment)
        return self.feedback_pages(assignment)


# the demo ---------------------------------------------------------------------------------------------------------
def demo_round(course: Course, assignment: str, submissions: Path, students: list[str] | None = None,
               exchange: Path | None = None) -> tuple[Path, Collected]:
    """``vaekit demo --exchange``: publish ``assignment`` to an exchange inside the demo folder, let each example
    student (``<submissions>/<student>/<A>/``) fetch it, put their work in place of the fetched files and submit,
    then collect into ``submitted/``. All example students share this Unix user (each has its own student id and
    nbgrader cache). Returns (the exchange, what was collected)."""
    exchange = Path(exchange or course.root / "exchange")
    publish(course, assignment, exchange)
    chosen = sorted(p.parent.name for p in Path(submissions).glob(f"*/{assignment}") if p.is_dir())
    for student in chosen:
        if students and student not in students:
            continue
        me = StudentFolder.create(course.root / "students" / student, exchange, course.course_id, student_id=student)
        fetched = me.fetch(assignment)
        for file in (Path(submissions) / student / assignment).iterdir():  # the student's work: regular files
            if file.is_file() and not file.is_symlink():  # (links and pipes of the "leaves" examples stay out:
                shutil.copyfile(file, fetched / file.name)  # `nbgrader submit` would follow them as the student)
        me.submit(assignment)
    return exchange, collect(course, assignment, exchange, check_owner=False)
