"""Grading on a real Dask cluster on 127.0.0.1: a `dask scheduler` and two `dask worker` processes.

Same scores as a local run (LocalCluster); a worker killed mid-batch loses nothing: every submission is graded
exactly once and the gradebook holds one row per student. No shared state is needed between the coordinator and
the workers beyond the scheduler (the tasks carry the course and the submissions).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import psutil
import pytest

from autograder.authoring.examples import load_manifest
from autograder.course import new_course
from autograder.grade.coordinator import grade, thread_env
from autograder.notebooks import REPO_ROOT
from autograder.results import Status, load_results

pytestmark = pytest.mark.slow

ASSIGNMENT = "vae_clase"
CASES = tuple(e.student for e in load_manifest(REPO_ROOT / "examples") if e.assignment == ASSIGNMENT
              and e.case in ("correcta", "kl_sign_flipped", "json_corrupto"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scores(results):
    return {r.student: (r.score, r.grades, r.status) for r in results}


@pytest.fixture()
def cluster(tmp_path):
    """A scheduler and two single-threaded workers, as a TA would start them (`--no-nanny`: a kill is final)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **thread_env(), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    bin_dir = os.path.dirname(sys.executable)
    procs = [subprocess.Popen([os.path.join(bin_dir, "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for name in ("w1", "w2"):
        procs.append(subprocess.Popen([os.path.join(bin_dir, "dask"), "worker", address, "--nthreads", "1",
                                       "--no-nanny", "--no-dashboard", "--memory-limit", "0", "--name", name,
                                       "--local-directory", str(tmp_path / name)],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        pids = client.run(os.getpid)
        workers = {info["name"]: pids[address_] for address_, info in client.scheduler_info()["workers"].items()}
    yield address, workers
    for p in procs:
        p.kill()
        p.wait(timeout=10)


def make_course(folder):
    course = new_course(folder, (ASSIGNMENT,))
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force")
    for student in CASES:
        shutil.copytree(REPO_ROOT / "examples" / "submitted" / student / ASSIGNMENT, course.submitted / student / ASSIGNMENT)
    return course


LIMITS = dict(cell_timeout=60, submission_timeout=420)


def test_cluster_gives_the_same_scores_as_a_local_run(cluster, tmp_path):
    address, _ = cluster
    remote = make_course(tmp_path / "remoto")
    on_cluster = grade(remote, ASSIGNMENT, limits=remote.limits(**LIMITS), scheduler=address)
    local = make_course(tmp_path / "local")
    on_laptop = grade(local, ASSIGNMENT, limits=local.limits(**LIMITS), workers=2)
    assert scores(on_cluster) == scores(on_laptop)
    assert {r.worker for r in on_cluster} and all(r.status in Status for r in on_cluster)
    assert scores(on_cluster)["alu01_correcta"][0] > scores(on_cluster)["alu03_kl_sign_flipped"][0] > 0
    # a re-run grades only what has no result yet
    again = grade(remote, ASSIGNMENT, limits=remote.limits(**LIMITS), scheduler=address)
    assert scores(again) == scores(on_cluster)


def test_a_worker_killed_mid_batch_loses_nothing(cluster, tmp_path):
    address, workers = cluster
    course = make_course(tmp_path / "curso")
    from distributed import Client

    killed = {}

    class KillOnFirstResult:
        """Progress hook: once the first result is in, kill w1 while it is grading its next submission."""

        def __init__(self):
            self.seen = []

        def update(self, result):
            self.seen.append(result.student)
            if not killed:
                with Client(address, timeout=30) as client:
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        busy = {w for w, tasks in client.processing().items() if tasks}
                        w1 = [a for a, i in client.scheduler_info()["workers"].items() if i["name"] == "w1"]
                        if w1 and w1[0] in busy:
                            break
                        time.sleep(0.5)
                time.sleep(3)
                psutil.Process(workers["w1"]).kill()
                killed["at"] = result.student

        def close(self):
            pass

    hook = KillOnFirstResult()
    results = grade(course, ASSIGNMENT, limits=course.limits(**LIMITS), scheduler=address, progress=hook)
    assert killed, "the test did not kill a worker"
    assert sorted(hook.seen) == sorted(CASES) and len(hook.seen) == len(set(hook.seen))  # each exactly once
    assert sorted(r.student for r in results) == sorted(CASES)
    assert set(load_results(course.results, ASSIGNMENT)) == set(CASES)
    with course.gradebook() as gb:
        assert sorted(s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions) == sorted(CASES)
    by_student = {r.student: r for r in results}
    assert by_student["alu01_correcta"].status == Status.OK
    assert by_student["alu01_correcta"].score == 12.0


def test_gpu_tasks_go_to_workers_that_declare_the_resource(tmp_path):
    """`--gpu` sends tasks only to workers with the GPU resource (here a CPU LocalCluster declaring it); the result
    records the device the judge computed on."""
    course = new_course(tmp_path / "gpu", (ASSIGNMENT,))
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force")
    shutil.copytree(REPO_ROOT / "examples" / "submitted" / "alu01_correcta" / ASSIGNMENT,
                    course.submitted / "alu01_correcta" / ASSIGNMENT)
    [result] = grade(course, ASSIGNMENT, limits=course.limits(**LIMITS), workers=1, gpu=True)
    assert result.score == 12.0
    devices = {v["device"] for v in result.verdicts.values()}
    assert len(devices) == 1 and "CPU" in devices.pop()


def test_two_local_clusters_on_one_machine_say_nothing(recwarn):
    """A second LocalCluster on the machine (two watchers, or a TA's dashboard on 8787) starts without a warning
    (Dask's "Port 8787 is already in use" reached the TA's console before its HTTP server took a free port)."""
    from autograder.grade.coordinator import dask_client

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("", 8787))
            taken.listen()
        except OSError:
            pass  # already taken by someone else: the same situation
        with dask_client(1) as first, dask_client(1) as second:
            assert first.submit(sum, [1, 2]).result() == 3 and second.submit(sum, [3, 4]).result() == 7
    assert not [str(w.message) for w in recwarn if "8787" in str(w.message) or "already in use" in str(w.message)]


def _housekeeping_ms(dask_worker=None, dask_scheduler=None) -> dict[str, float]:
    server = dask_worker or dask_scheduler
    return {name: server.periodic_callbacks[name].callback_time for name in ("tick", "monitor")}


def test_dask_housekeeping_is_slowed_in_the_workers_and_the_scheduler():
    """``QUIET_LOOPS`` reaches the LocalCluster's worker processes and its scheduler: the event-loop tick monitor
    runs every second (Dask's default: every 20 ms) and the system monitor every 5 s (0.5 s), and no worker runs
    the statistical profiler (what they cost idle: ``QUIET_LOOPS``'s comment; the effect on grading: ``make bench``)."""
    import dask

    from autograder.grade.coordinator import QUIET_LOOPS, dask_client

    with dask_client(2) as client:
        workers = client.run(_housekeeping_ms)
        scheduler = client.run_on_scheduler(_housekeeping_ms)
        profiling = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert len(workers) == 2
    for timings in (*workers.values(), scheduler):
        assert timings == {"tick": 1000, "monitor": 5000}, timings
    assert set(profiling.values()) == {False} and QUIET_LOOPS["distributed.worker.profile.enabled"] is False


class _TornDown:
    """Writes ``path`` when the interpreter's teardown collects it (a module global: never, after os._exit)."""

    def __init__(self, path):
        self.path, self.open = path, open  # the builtin kept: teardown may have removed the name by then

    def __del__(self):
        with self.open(self.path, "w") as f:
            f.write("teardown")


def _leave_marks(folder):
    import atexit
    import types

    module = sys.modules.setdefault("vaekit_test_marks", types.ModuleType("vaekit_test_marks"))
    module.torn_down = _TornDown(os.path.join(folder, "teardown"))  # collected when teardown clears the modules
    atexit.register(lambda: open(os.path.join(folder, "atexit"), "w").write(str(os.getpid())))
    return os.getpid()


def test_a_closing_worker_runs_its_exit_handlers_and_skips_the_teardown(tmp_path):
    """QuickExit: a LocalCluster worker's atexit handlers registered by its tasks (TensorFlow's, the scratch course's
    removal) run when it exits; the interpreter's teardown after them (seconds with TensorFlow loaded) does not."""
    from autograder.grade.coordinator import dask_client

    with dask_client(1) as client:
        pid = client.submit(_leave_marks, str(tmp_path), pure=False).result()
    assert psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=30)[1] == []
    assert (tmp_path / "atexit").read_text() == str(pid)
    assert not (tmp_path / "teardown").exists()


def _logged_by_worker() -> list[str]:
    import logging

    from autograder.grade.quick_exit import HEARTBEAT_RACE

    got: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: got.append(record.getMessage())
    logger = logging.getLogger("distributed.worker")
    logger.addHandler(handler)
    try:
        logger.error(HEARTBEAT_RACE)
        logger.error("Failed to communicate with scheduler during something else.")
    finally:
        logger.removeHandler(handler)
    return got


def test_a_local_worker_drops_only_the_closing_heartbeat_message():
    """The heartbeat that loses its scheduler as the LocalCluster closes is not printed on the TA's console; any other
    record of the worker's log still is."""
    from autograder.grade.coordinator import dask_client

    with dask_client(1) as client:
        [got] = client.run(_logged_by_worker).values()
    assert got == ["Failed to communicate with scheduler during something else."]
