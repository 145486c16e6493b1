"""What the worker does after one nbgrader attempt on a submission: ``decide(attempt) -> Done | Retry | Zero``.

Pure (no kernel, no file): the worker gathers an ``Attempt`` from the watchdog and the cell log, and this module
alone says whether the notebook is graded, whether one more cell is neutralised and the notebook graded again,
or whether it gets the blank release's zero, with the Spanish text the student reads.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from autograder.grade.runlog import OpenCell, evidence_part


@dataclass(frozen=True)
class Attempt:
    """One run of nbgrader's Autograde on a submission.

    ``succeeded``: nbgrader wrote the autograded notebook and no limit stopped the kernel; ``killed``: the watchdog
    stopped it; ``culprit``: the cell that started and never ended (cell log); ``reason``: what the kernel did, in
    Spanish (``worker.death_reason``); ``nbgrader_error``: the last error line of nbgrader's log; ``plan``: the
    cells already neutralised; ``max_neutralised``: how many may be."""
    succeeded: bool
    killed: bool = False
    culprit: OpenCell | None = None
    reason: str = ""
    nbgrader_error: str = "error desconocido"
    plan: Mapping[str, str] = field(default_factory=dict)
    max_neutralised: int = 3


@dataclass(frozen=True)
class Done:
    """The attempt graded the notebook."""


@dataclass(frozen=True)
class Retry:
    """Neutralise the cell ``key`` (it runs as ``reason``) and grade again; ``note`` tells the student."""
    key: str
    reason: str
    note: str


@dataclass(frozen=True)
class Zero:
    """Give the blank release's zero; ``problem`` says why (Spanish, lower case, no final stop)."""
    problem: str


def first_line(text: str, width: int = 60) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def decide(attempt: Attempt) -> Done | Retry | Zero:
    if attempt.succeeded:
        return Done()
    culprit = attempt.culprit
    if culprit is None and not attempt.killed:
        return Zero(f"nbgrader no pudo calificar el cuaderno ({attempt.nbgrader_error})")
    if culprit is None or culprit.key in attempt.plan or len(attempt.plan) >= attempt.max_neutralised:
        return Zero(f"la ejecución {attempt.reason} y no se pudo aislar la celda responsable")
    part = evidence_part(culprit.key)
    if part is not None:
        note = (f"Al llamar el juez a tu código de «{part}», el kernel {attempt.reason}: esa parte se calificó con 0 "
                "y el resto normalmente.")
    else:
        note = (f"La celda que empieza por «{first_line(culprit.head)}» {attempt.reason}: se neutralizó y se "
                "calificó el resto del cuaderno.")
    return Retry(culprit.key, attempt.reason, note)
