"""A LocalCluster's workers are forks of one server that imported grading's modules once (``grade.fork_server``).

Real Dask clusters and real worker processes: the workers' parent is the server, not the coordinator; they hold
TensorFlow and the judge before any task (and neither jsonschema's IRI grammars nor JAX, which TensorFlow imports
where it is installed beside it: the Makefile keeps it apart); each cluster's workers get that cluster's thread
counts even when the server was started by another cluster; the server outlives an inner cluster and ends with the last one.
"""
from __future__ import annotations

import os
import sys
from multiprocessing import forkserver

import psutil
import pytest

from autograder.grade.coordinator import dask_client, thread_env

pytestmark = pytest.mark.slow


def _worker_state() -> dict:
    return {"parent": os.getppid(), "tensorflow": "tensorflow" in sys.modules,
            "judge": "autograder.judge" in sys.modules, "intra_op": os.environ.get("TF_NUM_INTRAOP_THREADS"),
            "unused_imports": sorted(m for m in ("lark", "rfc3987_syntax", "jax") if sys.modules.get(m) is not None)}


def test_workers_fork_from_one_preloaded_server_that_ends_with_the_last_cluster():
    with dask_client(2) as outer:
        server = forkserver._forkserver._forkserver_pid
        states = list(outer.run(_worker_state).values())
        assert len(states) == 2
        for state in states:
            assert state["parent"] == server != os.getpid()
            assert state["tensorflow"] and state["judge"], state  # imported by the server, before any task
            # the server imported autograder before nbformat; JAX is not in the venv's site-packages (Makefile)
            assert state["unused_imports"] == [], state
            assert state["intra_op"] == thread_env()["TF_NUM_INTRAOP_THREADS"] == "1"
        with dask_client(1) as inner:  # a second cluster forks from the same server
            [state] = inner.run(_worker_state).values()
            assert state["parent"] == server
            assert state["intra_op"] == "1"  # one thread per grading process, however many workers
        assert psutil.pid_exists(server)  # the inner cluster's end leaves the outer one's server alone
        assert outer.submit(sum, [1, 2]).result() == 3
    assert forkserver._forkserver._forkserver_pid is None and not psutil.pid_exists(server)
    with dask_client(1) as again:  # the next cluster starts a new server
        [state] = again.run(_worker_state).values()
        assert state["parent"] == forkserver._forkserver._forkserver_pid not in (None, server)
