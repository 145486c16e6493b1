"""The grading sandbox on real processes: memory cap, wall-clock limit, no leftover kernels; the cell log."""
from __future__ import annotations

import json
import sys
import textwrap

import psutil

from autograder.grading import notebook_problem, unfinished_cell
from autograder.isolation import GIB, run_isolated, thread_env


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_memory_cap_kills_the_whole_tree(tmp_path):
    # The hog is a grandchild in a session of its own, like a Jupyter kernel under nbgrader.
    code = """
        import subprocess, sys, time
        hog = "r = []\\nwhile True:\\n    r.append(bytearray(64 * 1024**2))"
        subprocess.Popen([sys.executable, "-c", hog], start_new_session=True)
        time.sleep(60)
    """
    result = run_isolated(python(code), cwd=tmp_path, env={"PATH": ""}, log_path=tmp_path / "log",
                          timeout=60, memory_cap=int(0.5 * GIB))
    assert result.memory_exceeded and not result.timed_out
    assert 0.5 * GIB < result.peak_rss < 3 * GIB
    assert result.seconds < 30


def test_timeout_kills_a_detached_grandchild(tmp_path):
    code = """
        import subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
        print(p.pid, flush=True)
        time.sleep(120)
    """
    result = run_isolated(python(code), cwd=tmp_path, env={"PATH": ""}, log_path=tmp_path / "log",
                          timeout=3, memory_cap=4 * GIB)
    assert result.timed_out and result.seconds < 20
    grandchild = int(result.output().split()[0])
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE


def test_a_normal_run_is_left_alone(tmp_path):
    result = run_isolated(python("print('hola')"), cwd=tmp_path, env={"PATH": ""}, log_path=tmp_path / "log",
                          timeout=30, memory_cap=4 * GIB)
    assert result.returncode == 0 and not result.killed and result.output().strip() == "hola"


def test_unfinished_cell_is_the_last_started_and_never_ended(tmp_path):
    log = tmp_path / "cells.jsonl"
    entries = [("start", "a", "x = 1"), ("end", "a", "x = 1"), ("start", "b", "import os\nos._exit(1)")]
    log.write_text("".join(json.dumps({"event": e, "key": k, "head": h}) + "\n" for e, k, h in entries)
                   + '{"event": "sta')  # a line cut by the kill
    assert unfinished_cell(log)["key"] == "b"
    log.write_text("".join(json.dumps({"event": e, "key": k, "head": h}) + "\n" for e, k, h in entries[:2]))
    assert unfinished_cell(log) is None


def test_corrupt_notebook_is_detected_before_nbgrader(tmp_path):
    bad = tmp_path / "vae_tarea.ipynb"
    bad.write_text('{"cells": [')
    assert "no es un cuaderno de Jupyter válido" in notebook_problem(bad)
    assert "no se encontró" in notebook_problem(tmp_path / "otro.ipynb")


def test_thread_counts_split_the_cores():
    env = thread_env(2)
    assert env["TF_NUM_INTEROP_THREADS"] == "1"
    assert int(env["TF_NUM_INTRAOP_THREADS"]) == max(1, (psutil.cpu_count() or 1) // 2)
