"""Grading worker processes end without Python's interpreter teardown.

A Dask worker that has imported TensorFlow (the judge does) spends ~1–2 s of CPU and wall-clock time in the
interpreter's final module cleanup and TensorFlow's C++ static destructors when it exits: every ``vaekit grade``
on a LocalCluster waited that long after its last result. ``QuickExit`` registers ``os._exit`` as the worker
process's first atexit handler; atexit runs handlers last-registered-first, so every handler registered after it
(TensorFlow's own, the scratch course's removal) still runs, and only the teardown after them is skipped. By then
the worker has sent its results and told the scheduler it is leaving; the exit status is 0.
"""
from __future__ import annotations

import atexit
import os

from distributed.diagnostics.plugin import WorkerPlugin


class QuickExit(WorkerPlugin):
    """Registered on vaekit's own LocalCluster workers (``coordinator.dask_client``), before any task runs."""

    name = "vaekit-quick-exit"

    def setup(self, worker):
        atexit.register(os._exit, 0)
