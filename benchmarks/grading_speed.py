"""Grading speed and cost, all measured in one run on the same submissions (example homework submissions: the
correct one and canonical mistakes; 16 by default, a small class: each run of ``vaekit grade`` pays its cluster's
start-up once, one TensorFlow import on one core, ~4 s, which 8 submissions on 2 workers do not amortise; the
speed-up at the first 8 results of the same runs is reported beside it):

1. plain serial ``nbgrader autograde`` in the course root (the course's pipeline: sandbox + judge): the baseline;
2. the same with nbgrader's own ``Execute`` and no judge (what executing the notebook alone costs, once);
3. ``vaekit grade`` on a Dask LocalCluster of 1 worker, with the sandbox and with ``--no-sandbox``;
4. ``vaekit grade`` with 2 workers: speed-up over the serial baseline (target >= 1.8x on 2 cores) and over 1 worker,
   and its ceiling: the serial wall over the 2-worker run's CPU-s (coordinator included) per core, what it would be
   with every core busy all the time (a shortfall from the ceiling is idle cores; the ceiling's own is extra work);
   1, 3 and 4 run in turn ``--repeats`` times (A B C D A B C D: these VMs' timings drift by up to 2x within
   minutes); each figure is the median over the repeats and each ratio the median of the repeats' ratios; and
   the throughput of 2 workers over 1 once started (result arrivals after each worker's first result); and the
   speed-up at the first 8 results (each run's time from its start to its 8th graded notebook: what a run of
   8 submissions takes);
5. CPU-seconds per submission against the CPU-seconds of ``import tensorflow, keras`` in a fresh process (the
   floor: every sandboxed kernel pays it once; ``between_tf_imports`` measures it just before and after each
   1-worker run, and every ratio to it is that run's against them, then the median of the repeats' ratios, as for
   the speed-ups; also the same process ended with ``os._exit``, as a graded kernel is killed, without the
   interpreter's ~1 CPU-s of cleanup). Every descendant process is sampled (workers and kernels); one
   submission's cost at steady state is its kernel's CPU-s plus the worker's CPU-s for it (``worker_cpu_s``), and
   the rest of the run is each worker's one-time start-up (process, imports, scratch course), reported apart and
   also spread over the run's submissions (``..._incl_startup``); and a PROJECTION of
   1,000 submissions on 1, 16 and 64 workers from the measured per-worker rate (linear: it ignores the scheduler
   and the gradebook writes, which are milliseconds per submission);
6. the same CPU-seconds for every other assignment (1 worker, its correct example and canonical mistakes), and
   their ratio to the TensorFlow import measured around that run;
7. the grade-on-submit latency of a warm ``vaekit watch`` against ``vaekit grade`` of the same submission
   (``submit_latency.py``).

    python benchmarks/grading_speed.py [--n 16] [--assignment vae_tarea] [--repeats 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import submit_latency  # noqa: E402,F401  (first: it quiets this process and its children, as vaekit does)
from autograder.course import new_course  # noqa: E402
from autograder.assignments import ASSIGNMENTS  # noqa: E402
from autograder.authoring.examples import load_manifest  # noqa: E402

PLAIN_EXECUTE = ("--Autograde.autograde_preprocessors=['nbgrader.preprocessors.Execute', "
                 "'nbgrader.preprocessors.LimitOutput', 'nbgrader.preprocessors.SaveAutoGrades']")
FIRST_RESULTS = 8  # the speed-up is also reported at this many results (the bench's whole size until stop 33)
PREVIOUS = {"vaekit_2_workers_s_per_submission": 10.7, "cpu_s_per_submission": 14.9,  # issue 21 (stop 22 note)
            "speedup_2_workers_over_serial_nbgrader": 1.35}


def pick_students(assignment: str, n: int) -> list[str]:
    """The correct submission and then canonical mistakes (no broken ones: they measure timeouts, not speed)."""
    examples = [e for e in load_manifest(REPO / "examples") if e.assignment == assignment]
    ordered = [e for e in examples if e.kind == "correct"] + [e for e in examples if e.kind == "mistake"]
    return [e.student for e in ordered[:n]]


KERNEL_MODULES = {"ipykernel_launcher", "ipykernel"}  # a grading kernel's command: python -m ipykernel_launcher -f …


class DescendantCPU:
    """CPU seconds (user + system) of every process below this one while it runs, sampled with psutil every 0.2 s
    (sandboxed kernels are reaped inside their PID namespace, so RUSAGE_CHILDREN misses them). A process that ends
    between two samples loses at most 0.2 s of its time: a slight under-count, the same for every mode."""

    def __init__(self):
        import threading

        self.seen: dict[tuple[int, float], float] = {}
        self.kernels: set[tuple[int, float]] = set()  # the grading kernels among them (ipykernel processes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            for p in me.children(recursive=True):
                try:
                    key = (p.pid, p.create_time())
                    # bwrap and its child, which execs the kernel; not the workers' fork server, whose command line
                    # (inherited by the workers forked from it) names ipykernel's modules among those it imports
                    if key not in self.kernels and KERNEL_MODULES & set(p.cmdline()):
                        self.kernels.add(key)
                    t = p.cpu_times()
                    self.seen[key] = t.user + t.system
                except psutil.Error:
                    pass

    def __enter__(self):
        self._own_start = time.process_time()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.own_seconds = time.process_time() - self._own_start  # this process: vaekit's coordinator runs here

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    @property
    def kernel_seconds(self) -> float:
        return sum(v for k, v in self.seen.items() if k in self.kernels)


def measure(fn) -> tuple[float, float, object]:
    wall, cpu, out = measure_cpu(fn)
    return wall, cpu.seconds, out


def measure_cpu(fn) -> tuple[float, DescendantCPU, object]:
    start = time.monotonic()
    with DescendantCPU() as cpu:
        out = fn()
    return time.monotonic() - start, cpu, out


def cpu_split(cpu: DescendantCPU, results, workers: int) -> dict:
    """CPU-s of one submission at steady state (its kernel's processes + the worker's CPU for it: the median of
    ``worker_cpu_s``, since a worker's first submission also pays its start-up) and each worker's one-time
    start-up (process, imports, scratch course: the rest of the run's CPU-s, per worker)."""
    k = len(results)
    worker = sorted(r.timing.get("worker_cpu_s", 0.0) for r in results)[k // 2]
    marginal = cpu.kernel_seconds / k + worker
    return {"kernel": round(cpu.kernel_seconds / k, 1), "worker": round(worker, 1), "marginal": round(marginal, 1),
            "startup_per_worker": round(max(0.0, cpu.seconds - k * marginal) / workers, 1)}


def tf_import_cpu_samples(repeats: int = 3, os_exit: bool = False) -> list[float]:
    """CPU-seconds (user + system) of ``python -c "import tensorflow, keras"`` in ``repeats`` fresh processes; with
    ``os_exit`` the process ends with ``os._exit``, as a graded kernel is killed, instead of the interpreter's
    normal exit (whose module cleanup with TensorFlow loaded costs ~1 CPU-s)."""
    import resource
    import subprocess

    code = "import tensorflow, keras" + ("; import os; os._exit(0)" if os_exit else "")
    samples = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True)  # TF_QUIET_ENV, as kernels
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return samples


def between_tf_imports(fn) -> tuple[object, dict[str, float]]:
    """``fn()`` between two samples of the baseline, taken just before and just after it (these VMs' speed drifts
    by up to 2x within minutes, so a ratio's denominator is measured in the same minutes as its numerator):
    (``fn``'s result, {"normal": mean CPU-s of ``import tensorflow, keras``, "os_exit": the same ended with
    ``os._exit``, "samples": the normal ones})."""
    before = tf_import_cpu_samples(1) + tf_import_cpu_samples(1, os_exit=True)
    out = fn()
    after = tf_import_cpu_samples(1) + tf_import_cpu_samples(1, os_exit=True)
    return out, {"normal": statistics.fmean([before[0], after[0]]), "os_exit": statistics.fmean([before[1], after[1]]),
                 "samples": [before[0], after[0]]}


def scores(course, assignment, students) -> dict[str, float]:
    with course.gradebook() as gb:
        return {s: round(float(gb.find_submission(assignment, s).score), 3) for s in students}


def fresh(course, assignment):
    shutil.rmtree(course.autograded, ignore_errors=True)
    shutil.rmtree(course.results / assignment, ignore_errors=True)


def vaekit(course, assignment, workers, sandbox=True, arrivals: list | None = None):
    """``vaekit grade`` of the course's submissions; ``arrivals`` gets the time.monotonic() of each result."""
    from autograder.grade.coordinator import grade

    return grade(course, assignment, limits=course.limits(sandbox=sandbox), workers=workers, force=True,
                 progress=_Quiet(arrivals if arrivals is not None else []))


class _Quiet:
    def __init__(self, arrivals: list):
        self.arrivals = arrivals

    def update(self, result):
        self.arrivals.append(time.monotonic())

    def close(self):
        pass


def steady_rate(arrivals: list[float], workers: int) -> float:
    """Submissions per second once every worker has delivered its first result (which also paid its start-up):
    the results after the first ``workers`` ones over the time they took (NaN with no result after those)."""
    times = sorted(arrivals)
    if len(times) <= workers or times[-1] <= times[workers - 1]:
        return float("nan")
    return (len(times) - workers) / (times[-1] - times[workers - 1])


def median_split(splits: list[dict]) -> dict:
    """Of several runs' ``cpu_split`` dicts, the one with the median steady-state CPU-s (``marginal``)."""
    return sorted(splits, key=lambda d: d["marginal"])[len(splits) // 2]


def one_worker_cpu(assignment: str, n: int) -> dict:
    """CPU-seconds and wall seconds per submission of ``vaekit grade`` on 1 worker, for another assignment."""
    with tempfile.TemporaryDirectory(prefix="vaekit-bench-") as tmp:
        course = new_course(Path(tmp), (assignment,))
        course.nbgrader("generate_assignment", assignment, "--force")
        students = pick_students(assignment, n)
        for s in students:
            shutil.copytree(REPO / "examples" / "submitted" / s / assignment, course.submitted / s / assignment)
        (wall, cpu, results), base = between_tf_imports(lambda: measure_cpu(lambda: vaekit(course, assignment, 1)))
        split = cpu_split(cpu, results, 1)
        return {"submissions": len(students), "s_per_submission": round(wall / len(students), 1),
                "cpu_s_per_submission_incl_startup": round(cpu.seconds / len(students), 1),
                **{f"cpu_s_{k}": v for k, v in split.items()},
                "cpu_s_over_tf_import": round(split["marginal"] / base["normal"], 2)}


def run(n: int, assignment: str, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="vaekit-bench-") as tmp:
        course = new_course(Path(tmp), (assignment,))
        course.nbgrader("generate_assignment", assignment, "--force")
        students = pick_students(assignment, n)
        for s in students:
            shutil.copytree(REPO / "examples" / "submitted" / s / assignment, course.submitted / s / assignment)
        k = len(students)
        out: dict = {"assignment": assignment, "submissions": k, "cpu_cores": os.cpu_count()}

        plain, plain_cpu, _ = measure(lambda: course.nbgrader("autograde", assignment, "--force", PLAIN_EXECUTE,
                                                              check=False))
        fresh(course, assignment)

        def serial_run():
            started.append(time.time())
            return course.nbgrader("autograde", assignment, "--force", check=False)

        def seconds_to_result(i: int) -> float:
            """The last serial run's time from its start to its ``i``-th autograded notebook (each is written as
            its submission ends)."""
            written = sorted(course.autograded_notebook(s, assignment).stat().st_mtime for s in students)
            return written[i - 1] - started[-1]

        serial, with_sandbox, without, two, tf_samples, started = [], [], [], [], [], []
        first = min(FIRST_RESULTS, k)
        for _ in range(repeats):  # A B C D A B C D…: these VMs' timings drift by up to 2x within minutes
            wall, cpu, proc = measure(serial_run)
            serial.append((wall, cpu, scores(course, assignment, students), proc.returncode, seconds_to_result(first)))
            fresh(course, assignment)
            for flag, bucket in ((True, with_sandbox), (False, without)):
                arrivals: list[float] = []
                one_worker = lambda: measure_cpu(  # noqa: E731
                    lambda: vaekit(course, assignment, 1, sandbox=flag, arrivals=arrivals))
                # the sandboxed run is the TF-import ratios' numerator: the baseline is sampled around it
                (wall, cpu, results), base = between_tf_imports(one_worker) if flag else (one_worker(), None)
                tf_samples += base["samples"] if base else []
                bucket.append((wall, cpu.seconds, {r.student: round(r.score, 3) for r in results},
                               cpu_split(cpu, results, 1), steady_rate(arrivals, 1), base))
                fresh(course, assignment)
            arrivals, started_two = [], []

            def two_workers():
                started_two.append(time.monotonic())  # the clock of ``arrivals``
                return vaekit(course, assignment, 2, arrivals=arrivals)

            wall, cpu, results = measure_cpu(two_workers)
            two.append((wall, cpu.seconds, {r.student: round(r.score, 3) for r in results}, results,
                        steady_rate(arrivals, 2), cpu_split(cpu, results, 2), cpu.seconds + cpu.own_seconds,
                        sorted(arrivals)[first - 1] - started_two[0]))
            fresh(course, assignment)
        median = statistics.median
        serial_wall = median([b[0] for b in serial])
        out["serial_nbgrader_s_per_submission"] = round(serial_wall / k, 1)
        out["serial_nbgrader_cpu_s_per_submission"] = round(median([b[1] for b in serial]) / k, 1)
        out["serial_exit_code"] = max(b[3] for b in serial)
        out["plain_execute_no_judge_s_per_submission"] = round(plain / k, 1)
        one_wall = median([b[0] for b in with_sandbox])
        out["vaekit_1_worker_s_per_submission"] = round(one_wall / k, 1)
        out["vaekit_1_worker_no_sandbox_s_per_submission"] = round(median([b[0] for b in without]) / k, 1)
        out["vaekit_1_worker_no_sandbox_cpu_s_per_submission"] = round(median([b[1] for b in without]) / k, 1)
        out["sandbox_overhead"] = round(median([a[0] / b[0] for a, b in zip(with_sandbox, without)]) - 1.0, 3)
        out["vaekit_1_worker_cpu_s_per_submission_incl_startup"] = round(median([b[1] for b in with_sandbox]) / k, 1)
        split = median_split([b[3] for b in with_sandbox])
        out["cpu_s_per_submission_split"] = split  # kernel + worker = marginal; start-up once per worker
        out["vaekit_1_worker_cpu_s_per_submission"] = split["marginal"]
        two_wall = median([b[0] for b in two])
        out["vaekit_2_workers_s_per_submission"] = round(two_wall / k, 1)
        out["vaekit_2_workers_cpu_s_per_submission"] = round(median([b[1] for b in two]) / k, 1)
        # the same split while 2 workers share the 2 cores: what one submission costs when two run at once
        out["cpu_s_per_submission_split_2_workers"] = median_split([b[5] for b in two])
        # each repeat's serial and 2-worker runs are minutes apart: the median of their ratios, and each ratio
        ratios = [a[0] / b[0] for a, b in zip(serial, two)]
        out["speedup_2_workers_over_serial_nbgrader"] = round(median(ratios), 2)
        out["speedup_2_workers_over_serial_nbgrader_each_repeat"] = [round(x, 2) for x in ratios]
        # the same runs at their first results: what a run of that many submissions takes, start-up included
        out["speedup_2_workers_over_serial_nbgrader_at_first_results"] = {
            "results": first, "speedup": round(median([a[4] / b[7] for a, b in zip(serial, two)]), 2)}
        # what 2 workers could reach with both cores busy all the time: the serial run's wall over the 2-worker run's
        # CPU-s (its processes and the coordinator) per core; and how busy the cores were
        cores = os.cpu_count() or 1
        out["speedup_ceiling_2_workers_busy_cores"] = round(
            median([a[0] / (b[6] / cores) for a, b in zip(serial, two)]), 2)
        out["cores_busy_2_workers"] = round(median([b[6] / (cores * b[0]) for b in two]), 3)
        out["speedup_2_workers_over_1_worker"] = round(median([a[0] / b[0] for a, b in zip(with_sandbox, two)]), 2)
        # throughput once started (each worker's first result, which paid its start-up, left out)
        out["steady_throughput_2_workers_over_1_worker"] = round(
            median([b[4] / a[4] for a, b in zip(with_sandbox, two)]), 2)
        out["steady_s_per_submission"] = {"1_worker": round(1 / median([a[4] for a in with_sandbox]), 1),
                                          "2_workers": round(1 / median([b[4] for b in two]), 1)}
        results = two[-1][3]
        keys = sorted({k for r in results for k in r.timing})
        out["seconds_breakdown_per_submission"] = {
            k: round(sum(r.timing.get(k, 0.0) for r in results) / k_, 1) for k_ in [len(results)] for k in keys}
        out["seconds_breakdown_per_submission"]["total (worker)"] = round(sum(r.seconds for r in results) / len(results), 1)
        runs = [b[2] for b in serial + with_sandbox + without + two]
        out["same_scores"] = all(scores_of == runs[0] for scores_of in runs)
        out["judge_cost_over_plain_execution"] = round(serial_wall / plain - 1.0, 3)
        rate = k / one_wall  # submissions per second of one worker
        out["projection_1000_submissions_minutes"] = {w: round(1000 / (rate * w) / 60, 1) for w in (1, 16, 64)}
        out["tf_import_cpu_s"] = round(median(tf_samples), 2)  # just before and after each 1-worker run
        out["tf_import_cpu_s_samples"] = [round(x, 2) for x in tf_samples]
        out["tf_import_os_exit_cpu_s"] = round(median([b[5]["os_exit"] for b in with_sandbox]), 2)
        # as every other ratio here: per repeat (a 1-worker run's CPU-s over the imports just before and after it),
        # then the median of the repeats
        per_run = [b[3]["marginal"] / b[5]["normal"] for b in with_sandbox]
        out["cpu_s_per_submission_over_tf_import"] = round(median(per_run), 2)
        out["cpu_s_per_submission_over_tf_import_each_repeat"] = [round(x, 2) for x in per_run]
        out["cpu_s_per_submission_over_tf_import_os_exit"] = round(
            median([b[3]["marginal"] / b[5]["os_exit"] for b in with_sandbox]), 2)
        out["cpu_s_per_submission_incl_startup_over_tf_import"] = round(
            median([b[1] / k / b[5]["normal"] for b in with_sandbox]), 2)
        out["previous_session"] = PREVIOUS
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--assignment", default="vae_tarea")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "grading_speed.json")
    args = p.parse_args(argv)
    from submit_latency import run as latency

    r = run(args.n, args.assignment, args.repeats)
    r["cpu_s_per_submission_by_assignment"] = {args.assignment: r["vaekit_1_worker_cpu_s_per_submission"]}
    r["cpu_s_per_submission_over_tf_import_by_assignment"] = {args.assignment: r["cpu_s_per_submission_over_tf_import"]}
    for other in ASSIGNMENTS:
        if other != args.assignment:
            measured = one_worker_cpu(other, min(args.n, 4))
            r["cpu_s_per_submission_by_assignment"][other] = measured["cpu_s_marginal"]
            r["cpu_s_per_submission_over_tf_import_by_assignment"][other] = measured["cpu_s_over_tf_import"]
    r["latency"] = latency(args.assignment, pick_students(args.assignment, 1)[0])
    r["submit_to_feedback_over_grading"] = r["latency"]["submit_to_feedback_over_grading"]
    print(f"Calificación de {r['submissions']} entregas de {r['assignment']} ({r['cpu_cores']} núcleos), s/entrega:")
    print(f"  nbgrader autograde en serie (sandbox + juez) : {r['serial_nbgrader_s_per_submission']:6.1f} s   "
          f"CPU {r['serial_nbgrader_cpu_s_per_submission']:.1f} s")
    print(f"  nbgrader con su Execute, sin juez           : {r['plain_execute_no_judge_s_per_submission']:6.1f} s   "
          f"(coste del juez: {100 * r['judge_cost_over_plain_execution']:+.0f} %)")
    print(f"  vaekit, 1 trabajador                        : {r['vaekit_1_worker_s_per_submission']:6.1f} s   "
          f"CPU {r['vaekit_1_worker_cpu_s_per_submission']:.1f} s (régimen estable)")
    split = r["cpu_s_per_submission_split"]
    print(f"    CPU de una entrega en régimen estable: kernel {split['kernel']:.1f} s + trabajador {split['worker']:.1f} s"
          f" = {split['marginal']:.1f} s; arranque (servidor de fork incluido): {split['startup_per_worker']:.1f} s "
          f"(repartido entre {r['submissions']} entregas: {r['vaekit_1_worker_cpu_s_per_submission_incl_startup']:.1f} s"
          " por entrega)")
    print(f"  vaekit, 1 trabajador, --no-sandbox          : {r['vaekit_1_worker_no_sandbox_s_per_submission']:6.1f} s   "
          f"CPU {r['vaekit_1_worker_no_sandbox_cpu_s_per_submission']:.1f} s "
          f"(coste del sandbox: {100 * r['sandbox_overhead']:+.1f} %; objetivo <= +15 %)")
    print(f"  vaekit, 2 trabajadores                      : {r['vaekit_2_workers_s_per_submission']:6.1f} s   "
          f"CPU {r['vaekit_2_workers_cpu_s_per_submission']:.1f} s (sesión anterior: "
          f"{PREVIOUS['cpu_s_per_submission']} s; objetivo: la mitad)")
    split2 = r["cpu_s_per_submission_split_2_workers"]
    print(f"    CPU de una entrega con 2 a la vez: kernel {split2['kernel']:.1f} s + trabajador {split2['worker']:.1f} s"
          f" = {split2['marginal']:.1f} s ({100 * (split2['marginal'] / split['marginal'] - 1):+.0f} % sobre 1 "
          f"trabajador); arranque por trabajador (un servidor de fork para los 2): {split2['startup_per_worker']:.1f} s")
    print(f"  aceleración de 2 trabajadores sobre nbgrader en serie: {r['speedup_2_workers_over_serial_nbgrader']:.2f}x "
          f"(antes {PREVIOUS['speedup_2_workers_over_serial_nbgrader']}x; objetivo >= 1.8x; en cada repetición: "
          f"{', '.join(f'{x:.2f}x' for x in r['speedup_2_workers_over_serial_nbgrader_each_repeat'])}); "
          f"sobre 1 trabajador de vaekit: {r['speedup_2_workers_over_1_worker']:.2f}x")
    at = r["speedup_2_workers_over_serial_nbgrader_at_first_results"]
    print(f"    a los {at['results']} primeros resultados de las mismas ejecuciones (lo que tarda una tanda de "
          f"{at['results']} entregas, arranque incluido): {at['speedup']:.2f}x")
    print(f"    techo con los {r['cpu_cores']} núcleos siempre ocupados (CPU de la ejecución de 2 trabajadores, "
          f"coordinador incluido, repartida entre los núcleos): {r['speedup_ceiling_2_workers_busy_cores']:.2f}x; "
          f"núcleos ocupados: {100 * r['cores_busy_2_workers']:.0f} %")
    steady = r["steady_s_per_submission"]
    print("  ya arrancados (sin el primer resultado de cada trabajador): 1 trabajador "
          f"{steady['1_worker']:.1f} s/entrega, 2 trabajadores {steady['2_workers']:.1f} s/entrega: "
          f"{r['steady_throughput_2_workers_over_1_worker']:.2f}x el ritmo de uno")
    samples = r["tf_import_cpu_s_samples"]
    print(f"  CPU de `import tensorflow, keras` en un proceso nuevo: {r['tf_import_cpu_s']:.1f} s (mediana de "
          f"{len(samples)}, antes y después de cada ejecución de 1 trabajador: {min(samples):.1f}–"
          f"{max(samples):.1f} s; sin la limpieza "
          f"final del intérprete, que un kernel calificado ya no hace: {r['tf_import_os_exit_cpu_s']:.1f} s, y una "
          f"entrega {r['cpu_s_per_submission_over_tf_import_os_exit']:.2f}x eso); una entrega "
          f"cuesta {r['cpu_s_per_submission_over_tf_import']:.2f}x eso en régimen estable (objetivo <= 2x; cada "
          "ejecución de 1 trabajador contra las importaciones medidas justo antes y después de ella: "
          f"{', '.join(f'{x:.2f}x' for x in r['cpu_s_per_submission_over_tf_import_each_repeat'])}); "
          f"{r['cpu_s_per_submission_incl_startup_over_tf_import']:.2f}x con el arranque repartido entre "
          f"{r['submissions']} entregas")
    print("  CPU por entrega y tarea (1 trabajador), y su razón con la importación de TensorFlow medida justo antes "
          "y después:")
    for a, cpu in r["cpu_s_per_submission_by_assignment"].items():
        print(f"    {a:18s} {cpu:5.1f} s   {r['cpu_s_per_submission_over_tf_import_by_assignment'][a]:.2f}x")
    lat = r["latency"]
    print(f"  calificar al entregar: vaekit watch caliente, entrega → retroalimentación devuelta {lat['submit_to_feedback_s']:.1f} s;"
          f" vaekit grade de la misma entrega {lat['vaekit_grade_s']:.1f} s ({r['submit_to_feedback_over_grading']:.2f}x; "
          "objetivo <= 1.5x); sin entregas, con una ronda por segundo, usa el "
          f"{100 * lat['idle_watch_cpu_share_1s_rounds']:.1f} % de un núcleo")
    print(f"  mismas notas en todos los modos: {r['same_scores']}")
    print("  dónde va el tiempo de una entrega (2 trabajadores, medias, s; de mayor a menor):")
    for k, v in sorted(r["seconds_breakdown_per_submission"].items(), key=lambda kv: -kv[1]):
        if v >= 0.1:
            print(f"    {k:34s} {v:5.1f}")
    print("  PROYECCIÓN (lineal, desde el ritmo medido de 1 trabajador) para 1000 entregas:")
    print("    | trabajadores | minutos |\n    | ---: | ---: |")
    for w, minutes in r["projection_1000_submissions_minutes"].items():
        print(f"    | {w} | {minutes} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return r


if __name__ == "__main__":
    main()
