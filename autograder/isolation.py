"""Run one grading subprocess isolated: a wall-clock limit and a memory cap over its whole process tree.

Jupyter starts each kernel in a session of its own, so killing the grader's process group would leave the
kernel running: the watchdog walks the process tree with psutil and kills every process in it.
RLIMIT_AS is not used: TensorFlow reserves large virtual address ranges at import and fails under it.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

GIB = 1024**3


@dataclass
class RunResult:
    returncode: int | None
    seconds: float
    timed_out: bool = False
    memory_exceeded: bool = False
    peak_rss: int = 0  # bytes, summed over the process tree, as sampled by the watchdog
    log_path: Path | None = None

    @property
    def killed(self) -> bool:
        return self.timed_out or self.memory_exceeded

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


def process_tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def kill_tree(procs: list[psutil.Process]) -> None:
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_isolated(cmd: list[str], *, cwd: Path, env: dict[str, str], log_path: Path,
                 timeout: float, memory_cap: int, poll: float = 0.1) -> RunResult:
    """Run ``cmd`` with stdout+stderr to ``log_path``; kill its whole tree past ``timeout`` seconds or when the
    tree's resident memory exceeds ``memory_cap`` bytes. Children that outlive the command are killed too."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    result = RunResult(returncode=None, seconds=0.0, log_path=log_path)
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        root = psutil.Process(popen.pid)
        known: dict[int, psutil.Process] = {}
        while popen.poll() is None:
            procs = process_tree(root)
            known.update((p.pid, p) for p in procs)
            rss = tree_rss(procs)
            result.peak_rss = max(result.peak_rss, rss)
            if rss > memory_cap:
                result.memory_exceeded = True
            elif time.monotonic() - start > timeout:
                result.timed_out = True
            if result.killed:
                kill_tree(process_tree(root) or procs)
                break
            time.sleep(poll)
        popen.wait()
        result.returncode = popen.returncode
        # A kernel whose grader died may linger (it has its own session): leave nothing behind.
        leftovers = [p for p in known.values() if p.pid != popen.pid and _alive(p)]
        if leftovers:
            kill_tree(leftovers)
    result.seconds = time.monotonic() - start
    return result


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def thread_env(workers: int) -> dict[str, str]:
    """Thread counts so that ``workers`` TensorFlow kernels share the CPU cores without oversubscribing."""
    threads = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    return {
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1" if workers > 1 else threads,
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        # On a GPU grader the kernels share the device instead of the first one reserving all its memory.
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    }
