"""Grading worker processes run their exit handlers and end without Python's interpreter teardown.

A Dask worker that has imported TensorFlow (the judge does) spends ~1–2 s of CPU and wall-clock time in the
interpreter's final module cleanup and TensorFlow's C++ static destructors when it exits: every ``vaekit grade``
on a LocalCluster waited that long after its last result. ``QuickExit`` registers ``os._exit`` as the worker
process's first atexit handler; atexit runs handlers last-registered-first, so every handler registered after it
(TensorFlow's own, the scratch course's removal) still runs, and only the teardown after them is skipped. By then
the worker has sent its results and told the scheduler it is leaving; the exit status is 0.

A worker forked from the fork server (``grade.fork_server``) ends with ``os._exit`` after its last
multiprocessing finalizer and never reaches atexit: ``QuickExit`` also runs the atexit handlers from a
multiprocessing finalizer, which both a forked and a spawned worker run as they end, so that the scratch course
(solutions, a gradebook) is removed either way.

As a LocalCluster closes, a worker's heartbeat can be in flight when the scheduler drops its connection; Dask then
logs "Failed to communicate with scheduler during heartbeat." with a traceback on the TA's console. The scheduler
is in the coordinator's process, so that message says only that the coordinator is closing (or gone): the worker's
log drops exactly that record.
"""
from __future__ import annotations

import atexit
import logging
import os
from multiprocessing import util

from distributed.diagnostics.plugin import WorkerPlugin

HEARTBEAT_RACE = "Failed to communicate with scheduler during heartbeat."  # Dask's worker log, verbatim


class QuickExit(WorkerPlugin):
    """Registered on vaekit's own LocalCluster workers (``coordinator.dask_client``), before any task runs."""

    name = "vaekit-quick-exit"

    def setup(self, worker):
        logging.getLogger("distributed.worker").addFilter(_not_the_closing_heartbeat)
        atexit.register(os._exit, 0)
        # atexit offers no public "run now"; _run_exitfuncs is what the interpreter itself calls at exit
        util.Finalize(None, atexit._run_exitfuncs, exitpriority=0)


def _not_the_closing_heartbeat(record: logging.LogRecord) -> bool:
    return record.getMessage() != HEARTBEAT_RACE

