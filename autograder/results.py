"""One graded submission's result (``GradeResult``), saved as ``.vaekit/results/<A>/<student>.json``, and the TA's
summary table. The gradebook holds the points; the result adds what nbgrader has no column for: how the grading
went (status, attempts, neutralised cells, time), the judge's verdict per part, the tampering flags and whether
it ran in the sandbox.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path


class Status(str, Enum):
    OK = "ok"
    NEUTRALISED = "neutralised"
    ZERO = "zero"

    @property
    def text(self) -> str:
        return {"ok": "calificada", "neutralised": "calificada (celda neutralizada)", "zero": "sin calificar: 0"}[self.value]


@dataclass
class GradeResult:
    student: str
    assignment: str
    score: float
    max_score: float
    status: Status
    message: str = ""  # Spanish, for the student and the TA
    seconds: float = 0.0
    runs: int = 0
    grades: dict[str, list[float]] = field(default_factory=dict)  # grade_id -> [score, max_score]
    manual: list[str] = field(default_factory=list)  # grade_ids that still need a manual grade
    verdicts: dict[str, dict] = field(default_factory=dict)  # grade_id -> the judge's Verdict as a dict
    flags: list[str] = field(default_factory=list)  # "revisar a mano": what the student's code reached for
    sandbox: bool = True
    worker: str = ""  # where it was graded (the worker's host name)
    timing: dict[str, float] = field(default_factory=dict)  # seconds: kernel start, cells, evidence, judge;
    # worker_cpu_s: the grading process's CPU-s for it (the first submission on a worker includes its start-up)
    limits: dict = field(default_factory=dict)  # the limits in force (memory cgroup, tmpfs size, file size…)

    def __post_init__(self):
        self.status = Status(self.status)

    def to_json(self) -> str:
        data = asdict(self)
        data["status"] = self.status.value
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "GradeResult":
        data = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, folder: Path) -> Path:
        path = Path(folder) / self.assignment / f"{self.student}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)
        return path


def load_results(folder: Path, assignment: str) -> dict[str, GradeResult]:
    """student -> GradeResult for every saved result of ``assignment`` under ``folder`` (``.vaekit/results``)."""
    path = Path(folder) / assignment
    out = {}
    for file in sorted(path.glob("*.json")) if path.exists() else []:
        result = GradeResult.from_json(file.read_text(encoding="utf-8"))
        out[result.student] = result
    return out


def summary_table(results: list[GradeResult]) -> str:
    """Markdown table: student, points, status, message, and what to review by hand."""
    rows = ["| estudiante | puntos | estado | mensaje | revisar a mano |", "| --- | ---: | --- | --- | --- |"]
    for r in sorted(results, key=lambda r: r.student):
        message = r.message.replace("|", "\\|").replace("\n", " ")
        if not r.sandbox:
            message = (message + " " if message else "") + "Calificada SIN sandbox."
        review = "; ".join(r.flags).replace("|", "\\|") or "—"
        rows.append(f"| {r.student} | {r.score:.2f} / {r.max_score:.2f} | {r.status.text} | {message} | {review} |")
    return "\n".join(rows)
