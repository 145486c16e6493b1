"""The files that cross between the grading worker (``worker.py``) and the nbgrader pipeline it drives
(``pipeline.py``): one class per format, imported by both sides.

- ``CellLog``: JSONL, written by the pipeline (outside the kernel) as each cell starts and ends and when the
  kernel is gone; read by the worker to find the cell that killed the kernel and the limits it ran under.
- ``NeutralisePlan``: JSON ``{cell key: Spanish reason}``, written by the worker, read by the pipeline: those
  cells run as a Spanish error on the next attempt.
- ``JudgeReport``: JSON, written by the pipeline's ``JudgeGradeCells``: verdicts, flags, timing, limits; read by
  the worker and carried to the coordinator in ``TaskOutput.report``.
- The evidence key: a cell-log key that names the judge's call into the kernel for one graded part.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

EVIDENCE = "evidence:"  # cell-log key prefix of the judge's calls into the kernel (one per graded part)


def evidence_key(grade_id: str) -> str:
    """The cell-log key of the judge's call into the kernel for ``grade_id``."""
    return EVIDENCE + grade_id


def evidence_part(key: str) -> str | None:
    """The grade id of an evidence key; None for a notebook cell's key."""
    return key[len(EVIDENCE):] if key.startswith(EVIDENCE) else None


@dataclass(frozen=True)
class OpenCell:
    """A cell that started and never ended: its key (``cell_key`` or an evidence key) and its first line."""
    key: str
    head: str


@dataclass(frozen=True)
class KernelEnd:
    """The log's last ``kernel_end`` line: the limits in force and whether the cgroup's memory limit killed it."""
    oom_killed: bool = False
    limits: dict = field(default_factory=dict)


class CellLog:
    """One attempt's cell log: a JSONL file, one line per event, fsynced (the kernel can die at any moment)."""

    def __init__(self, path: str | os.PathLike | None):
        self.path = Path(path) if path else None

    def write(self, event: str, key: str = "", head: str = "", **extra) -> None:
        """Append one event: ``start`` / ``end`` of a cell (``key``, ``head``), or ``kernel_end`` (``extra``)."""
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": event, "key": key, "head": head.strip()[:300], "t": round(time.time(), 3),
                                **extra}, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def events(self) -> list[dict]:
        """Every complete line (a line cut by a kill is skipped)."""
        if self.path is None or not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found

    def unfinished_cell(self) -> OpenCell | None:
        """The last cell that started and never ended."""
        open_cells: list[dict] = []
        for entry in self.events():
            if entry.get("event") == "start":
                open_cells.append(entry)
            elif open_cells and open_cells[-1].get("key") == entry.get("key") and entry.get("event") == "end":
                open_cells.pop()
        if not open_cells:
            return None
        return OpenCell(str(open_cells[-1].get("key", "")), str(open_cells[-1].get("head", "")))

    def kernel_end(self) -> KernelEnd:
        ends = [e for e in self.events() if e.get("event") == "kernel_end"]
        if not ends:
            return KernelEnd()
        return KernelEnd(bool(ends[-1].get("oom_killed")), dict(ends[-1].get("limits") or {}))


class NeutralisePlan(dict):
    """``{cell key: Spanish reason}``: the cells (or evidence calls) to run as an error."""

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(dict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> "NeutralisePlan":
        if not path or not os.path.exists(path):
            return cls()
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass
class JudgeReport:
    """What the judge decided about one graded notebook: ``verdicts`` by grade id (``PartResult.as_dict``),
    ``flags`` (``{"text", ...}``: tampering and "revisar a mano"), the sandbox flag, per-phase ``timing`` (s) and
    the ``limits`` the kernel ran under."""
    assignment: str | None = None
    sandbox: bool = True
    verdicts: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    timing: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "JudgeReport | None":
        """The report at ``path``, or None when the pipeline never got to write it."""
        if not os.path.exists(path):
            return None
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def flag_texts(self, limit: int = 40, width: int = 400) -> list[str]:
        return [str(f.get("text", ""))[:width] for f in self.flags if isinstance(f, dict)][:limit]
