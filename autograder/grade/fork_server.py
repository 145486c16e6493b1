"""A LocalCluster's grading workers forked from one process that has already imported what grading imports.

Before its first result every grading worker imports Dask, nbgrader's converters, the pipeline, the judge and the
judge's TensorFlow (~5 CPU-s). Spawned workers each paid it: N workers, N times. Inside ``worker_fork_server()``
Dask starts its worker processes with multiprocessing's ``forkserver`` method, and the server imports
``PRELOAD`` once; every worker is a fork of it and starts with those modules in memory (pages shared until
written). Forking there is safe: importing TensorFlow starts no thread and no runtime (its thread pools and
devices are made at the first operation, in the worker), and each worker's environment (its thread counts) is
the one Dask's nanny hands it. Not used with GPUs: a CUDA runtime must never be forked. The server takes requests
on a Unix socket that multiprocessing makes in a 0700 folder of the grader's, mode 0600: a sandboxed kernel (its own
/tmp; an unprivileged uid when the grader is root) cannot reach it.

The server is shared by the clusters open at once in this process, and stopped when the last one closes: each
new cluster forks from a server that imported the code as it is then (and each measured run pays the import).
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from multiprocessing import forkserver

# what a grading worker imports before its first result (nbgrader's Autograde, the pipeline, the judge); first
# ``autograder``, whose import keeps jsonschema's IRI grammars out (``autograder/__init__.py``: ~0.8 CPU-s here)
PRELOAD = ("autograder", "distributed", "nbgrader.converters", "sqlite3",
           "ipykernel.kernelspec", "autograder.grade.worker", "autograder.grade.pipeline", "autograder.grade.sandbox",
           "autograder.grade.kernel_client", "autograder.student_output", "autograder.nbgrader_intake",
           "autograder.judge", "autograder.judge.figures", "matplotlib.backends.backend_agg", "PIL.Image", "vae_lib")

_lock = threading.Lock()
_open = 0  # clusters in this process using the server now


@contextlib.contextmanager
def worker_fork_server():
    """Dask's worker processes started from the shared server while inside (Dask's config set for the duration)."""
    global _open
    import dask
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        with _lock:
            get_mp_context()  # Dask sets its own preload list once per process, here: ours replaces it
            forkserver.set_forkserver_preload(list(PRELOAD))
            # started now, not at the first nanny's request: its import (one core, ~4 s) overlaps the scheduler's
            # and the nannies' start-up in this process
            forkserver.ensure_running()
            _open += 1
        try:
            yield
        finally:
            with _lock:
                _open -= 1
                if _open == 0:
                    _stop_server()


def _stop_server() -> None:
    """End the server (its workers are gone with their cluster); the next cluster starts a new one. multiprocessing
    offers only ``_stop``, which waits for every process forked from it: a straggler must not hang vaekit."""
    server = forkserver._forkserver
    pid = server._forkserver_pid
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    server._stop()


__all__ = ["worker_fork_server", "PRELOAD"]
