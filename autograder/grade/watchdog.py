"""The grading worker's watchdog: kills the grading kernel's process tree past a deadline, a memory cap or a
process count (what the sandbox's own limits do not see from inside: the wall clock of the whole submission, the
tree's resident memory, a fork bomb before it starves the machine)."""
from __future__ import annotations

import threading
import time

import psutil


class Watchdog:
    """Kills this process's new children (the grading kernel's tree) past a deadline or a memory cap."""

    def __init__(self, timeout: float, memory_cap: int, max_processes: int, poll: float = 0.2):
        """``timeout`` s of wall clock, ``memory_cap`` bytes of RSS summed over the tree, ``max_processes``: the
        kernel's process limit (``Limits.max_processes``); the tree is stopped at 60 % of it."""
        self.timeout, self.memory_cap, self.poll = timeout, memory_cap, poll
        self.max_processes = max(16, int(max_processes * 0.6))  # a fork bomb is stopped before it starves the rest
        self.me = psutil.Process()
        self.before = {p.pid for p in self.me.children(recursive=True)}
        self.timed_out = self.memory_exceeded = self.too_many_processes = False
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self.kill()  # nothing of a submission outlives its grading

    @property
    def killed(self) -> bool:
        return self.timed_out or self.memory_exceeded or self.too_many_processes

    def tree(self) -> list[psutil.Process]:
        try:
            return [p for p in self.me.children(recursive=True) if p.pid not in self.before]
        except psutil.Error:
            return []

    def kill(self) -> None:
        procs = self.tree()
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=10)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            rss = 0
            tree = self.tree()
            if len(tree) > self.max_processes:
                self.too_many_processes = True
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_rss = max(self.peak_rss, rss)
            if self.too_many_processes:
                pass
            elif rss > self.memory_cap:
                self.memory_exceeded = True
            elif time.monotonic() - self.start > self.timeout:
                self.timed_out = True
            if self.killed:
                self.kill()
                return
