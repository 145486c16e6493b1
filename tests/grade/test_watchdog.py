"""The grading worker's watchdog on real processes (memory cap, wall clock, fork bombs), the cell log, and the
corrupt-notebook check. The watchdog kills the new children of the grading process, as it kills a kernel."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import psutil

from autograder.grade.notebook_checks import notebook_problem
from autograder.grade.runlog import CellLog
from autograder.grade.watchdog import Watchdog

GIB = 1024**3
PROCESSES = 300  # the kernel's process limit these runs stay far below (the fork bomb's test sets its own)


def spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], start_new_session=True)


def wait_until(condition, timeout: float) -> float:
    start = time.monotonic()
    while not condition() and time.monotonic() - start < timeout:
        time.sleep(0.1)
    return time.monotonic() - start


def test_memory_cap_kills_the_whole_tree():
    with Watchdog(timeout=60, memory_cap=int(0.5 * GIB), max_processes=PROCESSES) as dog:
        hog = spawn("""
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", "r = []\\nwhile True:\\n    r.append(bytearray(64 * 1024**2))"])
            time.sleep(60)
        """)
        seconds = wait_until(lambda: hog.poll() is not None, 30)
    assert dog.memory_exceeded and not dog.timed_out and seconds < 30
    assert 0.5 * GIB < dog.peak_rss < 3 * GIB


def test_timeout_kills_a_detached_grandchild():
    with Watchdog(timeout=2, memory_cap=4 * GIB, max_processes=PROCESSES) as dog:
        parent = spawn("""
            import subprocess, sys, time
            p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
            time.sleep(120)
        """)
        time.sleep(0.5)
        grandchild = [c.pid for c in psutil.Process(parent.pid).children()]
        seconds = wait_until(lambda: parent.poll() is not None, 20)
    assert dog.timed_out and seconds < 20 and grandchild
    assert not psutil.pid_exists(grandchild[0]) or psutil.Process(grandchild[0]).status() == psutil.STATUS_ZOMBIE


def test_too_many_processes_is_a_fork_bomb():
    with Watchdog(timeout=60, memory_cap=8 * GIB, max_processes=40) as dog:
        bomb = spawn("""
            import subprocess, time
            ps = [subprocess.Popen(["sleep", "30"]) for _ in range(60)]
            time.sleep(30)
        """)
        wait_until(lambda: bomb.poll() is not None, 20)
    assert dog.too_many_processes and not dog.memory_exceeded


def test_a_normal_run_is_left_alone():
    with Watchdog(timeout=30, memory_cap=4 * GIB, max_processes=PROCESSES) as dog:
        out = subprocess.run([sys.executable, "-c", "print('hola')"], capture_output=True, text=True)
    assert out.returncode == 0 and not dog.killed and out.stdout.strip() == "hola"


def test_unfinished_cell_is_the_last_started_and_never_ended(tmp_path):
    log = tmp_path / "cells.jsonl"
    entries = [("start", "a", "x = 1"), ("end", "a", "x = 1"), ("start", "b", "import os\nos._exit(1)")]
    log.write_text("".join(json.dumps({"event": e, "key": k, "head": h}) + "\n" for e, k, h in entries)
                   + '{"event": "sta')  # a line cut by the kill
    assert CellLog(log).unfinished_cell().key == "b"
    log.write_text("".join(json.dumps({"event": e, "key": k, "head": h}) + "\n" for e, k, h in entries[:2]))
    assert CellLog(log).unfinished_cell() is None


def test_corrupt_notebook_is_detected_before_nbgrader():
    assert "no es un cuaderno de Jupyter válido" in notebook_problem(b'{"cells": [', "vae_tarea.ipynb")
    assert "no se encontró" in notebook_problem(None, "otro.ipynb")
