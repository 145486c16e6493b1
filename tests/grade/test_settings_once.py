"""Each setting once (issue 17, item 2), without a kernel: every dotted class path the course's nbgrader_config.py
wires resolves to a class; each grading limit's default literal is written once under ``autograder/`` and in
nbgrader_config.py, in its traitlets declaration; and the ``Limits`` the CLI builds for a course are the traits'
defaults overridden by that course's config, and nothing else."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import re
import shutil
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import Course
from autograder.grade.task import Limits
from autograder.grade.pipeline import JudgeGradeCells, SandboxedExecute
from autograder.settings import Grading, sqlite_url, trait_default

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "nbgrader_config.py"
SOURCES = sorted((REPO / "autograder").rglob("*.py")) + [CONFIG]

# Each limit: its trait, and the names a line that restates its default would use (the line must hold the default's
# literal and one of these words to count). The trait's declaration must be the only such line in the tree.
LIMITS = [
    (SandboxedExecute, "max_processes", r"max_processes|nproc|process(es)?"),
    (SandboxedExecute, "timeout", r"(?<!\w)timeout\b|cell_timeout"),
    (SandboxedExecute, "startup_timeout", r"startup_timeout"),
    (JudgeGradeCells, "part_timeout", r"part_timeout|(?<!\w)timeout\b"),
    (Grading, "submission_timeout", r"submission_timeout|(?<!\w)timeout\b"),
    (Grading, "memory_gb", r"memory"),
    (Grading, "tmp_mb", r"tmp_mb|tmp_bytes|tmpfs|/tmp"),
    (Grading, "file_mb", r"file_mb|file_bytes|fsize"),
    (Grading, "intake_file_mb", r"intake_file_mb|file_bytes"),
    (Grading, "intake_total_mb", r"intake_total_mb|total_bytes"),
    (Grading, "intake_files", r"intake_files|(?<!\w)files\b"),
    (Grading, "max_neutralised", r"max_neutralised|neutrali[sz]"),
    (Grading, "workers", r"workers"),
]

# Which trait each ``Limits`` field comes from.
LIMIT_TRAITS = {"cell_timeout": (SandboxedExecute, "timeout"), "max_processes": (SandboxedExecute, "max_processes"),
                "sandbox": (SandboxedExecute, "sandbox"), "submission_timeout": (Grading, "submission_timeout"),
                "memory_gb": (Grading, "memory_gb"), "max_neutralised": (Grading, "max_neutralised"),
                "tmp_mb": (Grading, "tmp_mb"), "file_mb": (Grading, "file_mb")}


def literal(value) -> str:
    """A regex for ``value`` written as a number in source (900.0 also as 900; 1024 not as the base of 1024**2)."""
    number = int(value) if float(value).is_integer() else value
    text = re.escape(str(number)) + (r"(?:\.0+)?" if isinstance(value, float) and float(value).is_integer() else "")
    return rf"(?<![\w.]){text}(?![\w.]|\s*\*\*)"


def restatements(cls, name: str, words: str) -> list[str]:
    pattern = re.compile(literal(trait_default(cls, name)))
    named = re.compile(words, re.IGNORECASE)
    return [f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{number}: {line.strip()}"
            for path in SOURCES
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line) and named.search(line)]


def dotted_paths(source: str) -> list[str]:
    """Every string constant of nbgrader_config.py that names a class by its dotted path."""
    return [node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and re.fullmatch(r"[a-z_]\w*(\.[a-z_]\w*)+\.[A-Z]\w*", node.value)]


# (a) -----------------------------------------------------------------------------------------------------------------
def test_every_dotted_class_path_in_the_course_config_resolves_to_a_class():
    paths = dotted_paths(CONFIG.read_text(encoding="utf-8"))
    assert len(paths) >= 20 and "autograder.feedback_page.FeedbackHTMLExporter" in paths, paths
    for path in paths:
        module, name = path.rsplit(".", 1)
        found = getattr(importlib.import_module(module), name, None)
        assert isinstance(found, type), f"nbgrader_config.py names {path}, which is not a class"


def test_the_dotted_path_check_would_see_a_missing_class():
    assert dotted_paths('c.X.y = ["autograder.grade.pipeline.SandboxedExecutee"]') == [
        "autograder.grade.pipeline.SandboxedExecutee"]
    assert not hasattr(importlib.import_module("autograder.grade.pipeline"), "SandboxedExecutee")


# (b) -----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,name,words", LIMITS, ids=[f"{c.__name__}.{n}" for c, n, _ in LIMITS])
def test_each_default_limit_is_written_once_in_its_trait_declaration(cls, name, words):
    trait = cls.class_traits()[name]
    assert trait.help and trait.metadata.get("config"), f"{cls.__name__}.{name}: a configurable trait with its help"
    found = restatements(cls, name, words)
    assert len(found) == 1, f"the default of {cls.__name__}.{name} is written {len(found)} times:\n" + "\n".join(found)
    declaration = rf"\b{name}\s*=\s*(Integer|Float)\(\s*{literal(trait_default(cls, name))}"
    assert re.search(declaration, found[0]), found[0]
    assert found[0].startswith(str(Path(importlib.import_module(cls.__module__).__file__).relative_to(REPO)))


def test_the_once_check_sees_a_default_written_again(tmp_path, monkeypatch):
    extra = tmp_path / "extra.py"
    extra.write_text("c.SandboxedExecute.max_processes = 512\nwatchdog = Watchdog(timeout=900.0, memory_cap=6 * GIB)\n"
                     "caps = Caps(file_bytes=256 * MIB)\nworkers = config.Grading.get('workers', 2)\n")
    monkeypatch.setattr(f"{__name__}.SOURCES", [*SOURCES, extra])
    for cls, name, words in LIMITS:
        if name in ("max_processes", "submission_timeout", "memory_gb", "intake_file_mb", "workers"):
            assert len(restatements(cls, name, words)) == 2, name


def test_one_default_gradebook_url_and_one_kernel_environment():
    def where(text: str) -> list[str]:
        return [str(p.relative_to(REPO)) for p in SOURCES if text in p.read_text(encoding="utf-8")]

    assert where("sqlite:///") == ["autograder/settings.py"]
    assert where("matplotlib_inline.backend_inline") == ["autograder/settings.py"]
    assert sqlite_url(Path("/c")) == "sqlite:////c/gradebook.db?timeout=60"


# (c) -----------------------------------------------------------------------------------------------------------------
def course_with(tmp_path: Path, extra: str = "") -> Course:
    root = tmp_path / "curso"
    root.mkdir()
    shutil.copy(CONFIG, root / "nbgrader_config.py")
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(extra)
    return Course(root)


def cli_limits(course: Course, *options: str) -> Limits:
    args = cli.parser().parse_args(["--course", str(course.root), "grade", "vae_tarea", *options])
    return cli.limits_of(course, args)


def defaults(**changed) -> dict:
    expected = {field: trait_default(*LIMIT_TRAITS[field]) for field in LIMIT_TRAITS}
    return {**expected, **changed}


def test_the_course_config_changes_no_limit_and_the_cli_builds_the_trait_defaults(tmp_path):
    course = course_with(tmp_path)
    assert {f.name for f in dataclasses.fields(Limits)} == set(LIMIT_TRAITS)
    assert dataclasses.asdict(cli_limits(course)) == defaults()
    assert course.grading.workers == trait_default(Grading, "workers")
    assert course.grading.caps() == Grading().caps()
    assert course.db_url == sqlite_url(course.root)


def test_the_cli_limits_are_the_defaults_overridden_by_the_course_then_by_the_command_line(tmp_path):
    course = course_with(tmp_path, "\nc.Grading.memory_gb = 3.5\nc.SandboxedExecute.max_processes = 300\n"
                                   "c.Grading.tmp_mb = 64\nc.Execute.timeout = 77\nc.Grading.workers = 5\n"
                                   "c.Grading.intake_files = 9\n")
    assert dataclasses.asdict(cli_limits(course)) == defaults(memory_gb=3.5, max_processes=300, tmp_mb=64,
                                                              cell_timeout=77)
    assert course.grading.workers == 5 and course.grading.caps().files == 9
    assert dataclasses.asdict(cli_limits(course, "--cell-timeout", "20", "--no-sandbox", "--timeout", "30")) == \
        defaults(memory_gb=3.5, max_processes=300, tmp_mb=64, cell_timeout=20, sandbox=False, submission_timeout=30.0)


def test_what_runs_outside_a_course_takes_the_same_defaults(tmp_path):
    from autograder import gate
    from autograder.exchange import student_config
    from autograder.grade.sandbox import SandboxedKernelManager, SandboxSpec

    processes = trait_default(SandboxedExecute, "max_processes")
    assert SandboxSpec(writable=[tmp_path]).max_processes == processes
    km = SandboxedKernelManager()
    try:
        assert km.max_processes == processes
    finally:
        shutil.rmtree(km.runtime_dir, ignore_errors=True)
    assert gate.Caps() == Grading().caps()
    assert f"c.Execute.timeout = {trait_default(SandboxedExecute, 'timeout')}\n" in student_config(tmp_path, "c")
