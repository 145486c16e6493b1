"""The ``vaekit`` command line: every subcommand's ``--help``, the parsed values of representative argument lists, and
a clear one-line Spanish message (no traceback) for a wrong ``--course``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import Course
from autograder.errors import VaekitError
from autograder.notebooks import ASSIGNMENTS, REPO_ROOT

# Every subcommand and the options its help must name (a removed or renamed option fails here); "vae_clase" stands
# for the assignment positional (its choices are listed).
LIMITS = ["--workers", "--scheduler", "--cell-timeout", "--timeout", "--memory-gb", "--no-sandbox", "--gpu"]
SUBCOMMANDS = {
    "release": ["vae_clase", "--exchange", *LIMITS],
    "grade": ["vae_clase", "--student", "--force", *LIMITS],
    "feedback": ["vae_clase", "--student", "--release", "--exchange"],
    "collect": ["vae_clase", "--student", "--exchange"],
    "export": ["--to", "--format", "--roster", "--match", "--missing-as-zero"],
    "watch": ["vae_clase", "--interval", "--max-rounds", "--once", "--exchange", *LIMITS],
    "report": ["vae_clase"],
    "similarity": ["vae_clase", "--threshold"],
    "submit": ["vae_clase", "--from"],
    "examples": [],
    "demo": ["--folder", "--assignment", "--student", "--exchange", *LIMITS],
    "solutions": ["vae_clase", "--quick", "--reuse-weights", "--out"],
}


def vaekit(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


def test_every_subcommand_is_covered():
    sub = next(a for a in cli.parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(SUBCOMMANDS)


def test_top_level_help_lists_subcommands():
    proc = vaekit("--help")
    assert proc.returncode == 0, proc.stderr
    assert "--course" in proc.stdout
    for name in SUBCOMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_subcommand_help(command):
    proc = vaekit(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: vaekit {command}")
    for option in SUBCOMMANDS[command]:
        assert option in proc.stdout, f"`vaekit {command} --help` does not name {option}"
    # and every option the parser declares is named too (the expected lists above stay complete)
    sub = next(a for a in cli.parser()._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in proc.stdout


def parse(*args: str):
    return cli.parser().parse_args(list(args))


def test_parse_grade():
    a = parse("grade", "vae_tarea", "--workers", "3", "--student", "ana", "luis", "--cell-timeout", "60",
              "--timeout", "300", "--memory-gb", "2.5", "--no-sandbox", "--force")
    assert (a.command, a.assignment, a.workers, a.student) == ("grade", "vae_tarea", 3, ["ana", "luis"])
    assert (a.cell_timeout, a.timeout, a.memory_gb, a.no_sandbox, a.force) == (60, 300.0, 2.5, True, True)
    limits = cli.limits_of(Course(REPO_ROOT), a)
    assert (limits.cell_timeout, limits.submission_timeout, limits.memory_gb) == (60, 300.0, 2.5)
    assert limits.sandbox is False
    assert cli.grade_options(parse("grade", "vae_clase", "--scheduler", "tcp://10.0.0.5:8786", "--gpu")) == {
        "workers": None, "scheduler": "tcp://10.0.0.5:8786", "gpu": True}


def test_parse_grade_defaults_come_from_the_course_config():
    a = parse("grade", "vae_clase")
    assert (a.workers, a.student, a.cell_timeout, a.timeout, a.memory_gb, a.no_sandbox) == (
        None, None, None, None, None, False)
    assert a.course == Path.cwd()
    limits = cli.limits_of(Course(REPO_ROOT), a)  # nbgrader_config.py: the one place the settings live
    assert (limits.cell_timeout, limits.submission_timeout, limits.memory_gb, limits.sandbox) == (180, 900.0, 6.0, True)


def test_parse_course_and_release(tmp_path):
    a = parse("--course", str(tmp_path), "release", "vae_clase", "--workers", "1")
    assert (a.command, a.assignment, a.workers, a.course) == ("release", "vae_clase", 1, tmp_path)


def test_parse_feedback():
    a = parse("feedback", "vae_tarea", "--student", "ana")
    assert (a.command, a.assignment, a.student) == ("feedback", "vae_tarea", "ana")
    assert parse("feedback", "vae_tarea").student is None


def test_parse_export():
    assert parse("export", "--to", "notas.csv").to == Path("notas.csv")
    assert parse("export").to is None


def test_parse_export_moodle_and_watch():
    a = parse("export", "--format", "moodle", "--roster", "lista.csv", "--match", "email", "--missing-as-zero")
    assert (a.format, a.roster, a.match, a.missing_as_zero, a.to) == ("moodle", Path("lista.csv"), "email", True, None)
    assert (parse("export").format, parse("export").match) == ("nbgrader", "auto")
    w = parse("watch", "vae_tarea", "--workers", "3", "--interval", "5", "--max-rounds", "2")
    assert (w.assignment, w.workers, w.interval, w.max_rounds, w.once, w.scheduler) == ("vae_tarea", 3, 5.0, 2, False,
                                                                                         None)
    assert parse("watch", "vae_clase", "--once", "--scheduler", "tcp://h:8786").once


def test_moodle_export_without_roster_is_one_clear_line():
    proc = vaekit("export", "--format", "moodle")
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0 and "--roster" in proc.stderr


def test_parse_report():
    a = parse("report", "vae_clase")
    assert (a.command, a.assignment) == ("report", "vae_clase")


def test_parse_submit():
    a = parse("submit", "vae_tarea", "--from", "otras/entregas")
    assert (a.assignment, a.source) == ("vae_tarea", Path("otras/entregas"))
    assert parse("submit", "vae_tarea").source == REPO_ROOT / "examples" / "submitted"


def test_parse_demo():
    a = parse("demo", "--folder", "scratch", "--assignment", "vae_clase", "vae_tarea", "--student", "correcta",
              "--cell-timeout", "90")
    assert (a.folder, a.assignment, a.student, a.cell_timeout) == (Path("scratch"), ["vae_clase", "vae_tarea"],
                                                                   ["correcta"], 90)
    d = parse("demo")
    assert (d.folder, d.assignment, d.student) == (REPO_ROOT / "demo", ["vae_condicional", "vae_tarea"], None)


def test_parse_solutions():
    a = parse("solutions", "vae_clase", "--quick", "--reuse-weights", "--out", "otra")
    assert (a.assignments, a.quick, a.reuse_weights, a.out) == (["vae_clase"], True, True, Path("otra"))
    d = parse("solutions")
    # --out unset: run_args writes into the course's own solutions/ (the course is known only then).
    assert (d.assignments, d.quick, d.reuse_weights, d.out) == (list(ASSIGNMENTS), False, False, None)


def test_parse_rejects_unknown_assignment(capsys):
    for args in (["grade", "vae_x"], ["solutions", "vae_x"]):
        with pytest.raises(SystemExit) as exc:
            parse(*args)
        assert exc.value.code == 2
    assert "vae_x" in capsys.readouterr().err


def test_solutions_cli_passes_arguments(monkeypatch, tmp_path):
    """``vaekit solutions`` hands its parsed arguments to autograder.authoring.solutions (no re-parsing of sys.argv)."""
    calls = []
    monkeypatch.setattr(cli.solutions, "execute", lambda a, **kw: calls.append((a, kw)) or tmp_path / a)
    monkeypatch.setattr(sys, "argv", ["vaekit", "solutions", "--quick"])  # what broke it: sys.argv re-parsed
    assert cli.main(["solutions", "vae_tarea", "--quick", "--reuse-weights", "--out", str(tmp_path)]) == 0
    assert calls == [("vae_tarea", {"quick": True, "reuse_weights": True, "root": REPO_ROOT, "out": tmp_path})]


def test_course_error_is_vaekit_error(tmp_path):
    with pytest.raises(VaekitError, match="nbgrader_config.py"):
        Course(tmp_path)
    assert issubclass(VaekitError, RuntimeError)


@pytest.mark.parametrize("args", [["export"], ["grade", "vae_clase"]])
def test_wrong_course_is_one_clear_line(tmp_path, args):
    proc = vaekit("--course", str(tmp_path), *args)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no es un curso" in lines[0] and "nbgrader_config.py" in lines[0] and str(tmp_path) in lines[0]
