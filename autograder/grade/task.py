"""What the coordinator sends a grading worker (``SubmissionTask``: limits, the course's files, the submission's
files) and what comes back (``TaskOutput``): everything travels with the task, no shared filesystem is assumed."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grade.runlog import JudgeReport
from autograder.results import Status


@dataclass
class Limits:
    """Per-submission limits, from the course's ``nbgrader_config.py`` (``Limits.from_config``; the defaults live in
    the traitlets ``settings.Grading`` and ``pipeline.SandboxedExecute``), with the CLI's overrides."""
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
        """``overrides``: field -> value, None keeps the config's."""
        from autograder.grade.pipeline import SandboxedExecute
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

    def apply(self, config) -> None:
        """Write these limits into a traitlets ``config`` for the pipeline (``SandboxedExecute``, ``Grading``)."""
        config.SandboxedExecute.sandbox = self.sandbox
        config.SandboxedExecute.timeout = int(self.cell_timeout)
        config.SandboxedExecute.max_processes = int(self.max_processes)
        config.Grading.memory_gb = float(self.memory_gb)
        config.Grading.tmp_mb = int(self.tmp_mb)
        config.Grading.file_mb = int(self.file_mb)


@dataclass
class CourseBundle:
    """What a worker needs of the course: its config and the assignment's source folder (``files``: relative path
    -> bytes), and what ``nbgrader generate_assignment`` makes of them (``generated``: the release and a gradebook
    without students; ``scratch_course.generated``)."""
    assignment: str
    files: dict[str, bytes]
    generated: dict[str, bytes]

    @property
    def digest(self) -> str:
        """Of ``files``: the generated files follow from them."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + self.files[name] + b"\0")
        return h.hexdigest()[:16]

    @classmethod
    def of(cls, root: Path, assignment: str) -> "CourseBundle":
        from autograder.grade.scratch_course import generated

        root = Path(root)
        files = {"nbgrader_config.py": (root / "nbgrader_config.py").read_bytes()}
        for path in sorted((root / "source" / assignment).rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts and "__pycache__" not in path.parts:
                files[str(path.relative_to(root))] = path.read_bytes()
        bundle = cls(assignment, files, generated={})
        bundle.generated = generated(assignment, files, bundle.digest)
        return bundle


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
    status: Status
    message: str
    runs: int
    seconds: float
    notebook: bytes  # the autograded notebook (JSON), scores in its grade cells' outputs
    report: JudgeReport
    worker: str = ""
    log_tail: str = ""
