"""``vaekit watch A``: grade on submit. Collects new submissions from nbgrader's exchange as they arrive, grades
each on the Dask cluster (``engine.grade``: the same sandbox, judge and limits as ``vaekit grade``), writes its
feedback and releases it to that student alone, and keeps going.

One round: ``exchange.collect`` (``nbgrader collect --update``: a newer submission replaces the older one and its
stale result is dropped) → ``engine.grade`` of every submission without a result → as each result arrives,
``feedback.generate_feedback`` for that student and ``exchange.release_feedback`` to that student → one summary
line. Then every graded submission whose feedback is not in the exchange yet is released (a watcher stopped
between grading and releasing). Sleep ``interval`` seconds, repeat.

State lives only in the course and the exchange: a submission is graded when ``.vaekit/results/A/<student>.json``
exists (``collect`` removes it when a newer submission arrives), and its feedback is released when the exchange
holds ``feedback/<hash>.html`` for the submission's secret (nbgrader's own naming). So the watcher can be stopped
(Ctrl-C, SIGTERM) and restarted at any moment: a submission in flight is graded again on restart, nothing finished
is graded twice, nothing submitted is lost. One Dask cluster serves every round (``--workers N`` starts a
LocalCluster once; ``--scheduler`` uses a running one). Late submissions get nbgrader's late penalty
(``AssignLatePenalties`` with ``c.LateSubmissionPlugin`` from the course's config) from the assignment's due date
in the gradebook (Formgrader → Manage Assignments, or ``nbgrader db assignment add A --duedate=...``).
"""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder import exchange as ex
from autograder.course import Course
from autograder.errors import VaekitError


def released_feedback(course: Course, assignment: str, student: str, exchange: Path) -> Path | None:
    """The exchange's copy of this student's feedback for their current submission, or None (nbgrader names it
    by the submission's secret: ``<exchange>/<course>/feedback/<notebook_hash(secret, A)>.html``)."""
    from nbgrader.utils import notebook_hash

    secret = course.submitted / student / assignment / "submission_secret.txt"
    if not secret.exists():
        return None
    page = Path(exchange) / course.course_id / "feedback" / f"{notebook_hash(secret=secret.read_text(), notebook_id=assignment)}.html"
    return page if page.exists() else None


def submitted_at(course: Course, assignment: str, student: str) -> datetime | None:
    """When the student submitted (``timestamp.txt`` written by ``nbgrader submit``), as an aware datetime."""
    from nbgrader.utils import parse_utc

    stamp = course.submitted / student / assignment / "timestamp.txt"
    if not stamp.exists():
        return None
    return parse_utc(stamp.read_text().strip()).replace(tzinfo=timezone.utc)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or f"{secs} s"


@dataclass
class Handled:
    """What the watcher did with one graded submission (one summary line)."""

    student: str
    score: float
    max_score: float
    penalty: float
    seconds_late: float
    status: str
    flags: int
    released: bool
    why_not: str = ""
    submit_to_feedback: float | None = None  # seconds from the submission's timestamp to its released feedback

    def line(self) -> str:
        now = datetime.now().strftime("%H:%M:%S")
        text = f"{now} {self.student}: {self.score:g}/{self.max_score:g} ({self.status})"
        if self.seconds_late > 0:
            text += f", fuera de plazo ({_duration(self.seconds_late)})"
            if self.penalty:
                text += f": −{self.penalty:g} de penalización"
        if self.flags:
            text += f", revisar a mano: {self.flags}"
        if self.released:
            text += " · retroalimentación devuelta"
            if self.submit_to_feedback is not None:
                text += f" {self.submit_to_feedback:.0f} s después de la entrega"
        else:
            text += f" · retroalimentación NO devuelta: {self.why_not}"
        return text


@dataclass
class WatchLog:
    handled: list[Handled] = field(default_factory=list)
    rounds: int = 0


class Watcher:
    """Grade on submit for one assignment; ``run`` loops, ``round`` does one pass."""

    def __init__(self, course: Course, assignment: str, exchange: Path | None = None, limits=None,
                 check_owner: bool = True, gpu: bool = False, say=None):
        self.course, self.assignment = course, assignment
        self.exchange = ex.require_root(course, exchange)
        self.limits = limits or course.limits()
        self.check_owner, self.gpu, self.say = check_owner, gpu, say or _say
        self.log = WatchLog()
        self.unreleasable: set[str] = set()  # release failed in this run: not retried every round (restart retries)
        self.said: set[str] = set()  # owner warnings already printed

    # one graded submission ---------------------------------------------------------------------------------------
    def handle(self, student: str, result=None) -> Handled:
        """Feedback for ``student``'s graded submission, released to them alone; the summary line is printed."""
        from nbgrader.api import MissingEntry

        from autograder.feedback import generate_feedback

        a = self.assignment
        with self.course.gradebook() as gb:
            try:
                sub = gb.find_submission(a, student)
            except MissingEntry:
                raise VaekitError(f"{student}: calificada pero sin fila en el libro de notas") from None
            penalty, late = float(sub.late_submission_penalty or 0), float(sub.total_seconds_late or 0)
            score, max_score = max(0.0, float(sub.score) - penalty), float(sub.max_score)
        status = result.status.text if result is not None else "calificada"
        done = Handled(student, score, max_score, penalty, late, status, len(result.flags) if result else 0, False)
        try:
            generate_feedback(self.course, a, [student])
            released = ex.release_feedback(self.course, a, self.exchange, [student])
            done.released = student in released.released
            done.why_not = released.skipped.get(student, "")
        except (RuntimeError, OSError) as error:  # a refused page never stops the loop
            done.why_not = str(error).splitlines()[0]
        if not done.released:
            self.unreleasable.add(student)
        if done.released:
            stamp = submitted_at(self.course, a, student)
            if stamp is not None:
                done.submit_to_feedback = (datetime.now(timezone.utc) - stamp).total_seconds()
        self.log.handled.append(done)
        self.say(done.line())
        return done

    class _Progress:
        """``engine.grade``'s progress hook: each result, as it arrives, goes straight to feedback and release."""

        def __init__(self, watcher: "Watcher"):
            self.watcher = watcher

        def update(self, result) -> None:
            self.watcher.handle(result.student, result)

        def close(self) -> None:
            pass

    # one round ------------------------------------------------------------------------------------------------------
    def round(self, scheduler: str) -> list[Handled]:
        from autograder.grade.coordinator import grade
        from autograder.results import load_results

        a = self.assignment
        before = len(self.log.handled)
        got = ex.collect(self.course, a, self.exchange, check_owner=self.check_owner)
        for warning in got.owner_warnings:  # nbgrader repeats them at every collect: said once, for what came in
            if any(f"submitted by {s} " in warning for s in got.to_grade) and warning not in self.said:
                self.said.add(warning)
                self.say(f"  ⚠ revisar: {warning}")
        for student in got.updated:
            self.say(f"  ↻ {student}: entrega más reciente, se califica de nuevo")
        graded = load_results(self.course.results, a)
        pending = [s for s in self.course.students(a) if s not in graded]
        if pending:
            self.say(f"Calificando {len(pending)}: {', '.join(pending)}")
            grade(self.course, a, limits=self.limits, scheduler=scheduler, students=pending, gpu=self.gpu,
                  progress=self._Progress(self))
        handled_now = {h.student for h in self.log.handled[before:]}
        for student, result in sorted(load_results(self.course.results, a).items()):
            secret = self.course.submitted / student / a / "submission_secret.txt"
            if student in handled_now or student in self.unreleasable or not secret.exists():
                continue
            if released_feedback(self.course, a, student, self.exchange) is None:  # graded, never released
                self.handle(student, result)
        self.log.rounds += 1
        return self.log.handled[before:]

    def run(self, workers: int | None = None, scheduler: str | None = None, interval: float = 30.0,
            max_rounds: int | None = None) -> WatchLog:
        """Rounds every ``interval`` seconds until stopped (SIGINT/SIGTERM) or after ``max_rounds``."""
        from autograder.grade.coordinator import dask_client

        workers = int(workers or self.course.grading.workers)
        where = scheduler or f"un LocalCluster de {workers} trabajadores"
        self.say(f"Vigilando {self.assignment} en {self.exchange} (cada {interval:g} s; califica en {where}). "
                 "Ctrl-C para parar: se puede volver a arrancar cuando se quiera.")
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            with dask_client(workers, scheduler, gpus=1 if self.gpu else 0) as client:
                address = scheduler or client.scheduler.address
                while max_rounds is None or self.log.rounds < max_rounds:
                    try:
                        self.round(address)
                    except RuntimeError as error:  # nbgrader or the exchange failed once: say it, try again
                        if self.log.rounds == 0:
                            raise
                        self.say(f"  ⚠ ronda fallida, se reintenta: {str(error).splitlines()[0]}")
                        self.log.rounds += 1
                    if max_rounds is not None and self.log.rounds >= max_rounds:
                        break
                    time.sleep(interval)
        except KeyboardInterrupt:
            self.say(f"Vigilancia detenida tras {self.log.rounds} rondas y {len(self.log.handled)} entregas; lo que "
                     "estaba a medias se califica al volver a arrancar `vaekit watch`.")
        finally:
            signal.signal(signal.SIGTERM, previous)
        return self.log


def _say(text: str) -> None:
    print(text, flush=True)  # one line as it happens, also into a pipe or a log file


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
