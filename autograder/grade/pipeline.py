"""vaekit's grading steps, as nbgrader autograde preprocessors (configured in the course's ``nbgrader_config.py``,
so plain ``nbgrader autograde`` and ``vaekit grade`` run the same pipeline):

1. ``SandboxedExecute`` (replaces nbgrader's ``Execute``): runs the notebook in a bubblewrap-sandboxed kernel
   (``grade.sandbox``); logs each cell as it starts and ends (nbclient hooks, written by this process, so a
   kernel cannot forge it) to find the cell that killed the kernel; runs a neutralised cell as a Spanish error;
   and after each judged grade cell sends the part's probe and collector into the kernel and reads back the raw
   evidence (``autograder.judge.kernel_side``).
2. ``JudgeGradeCells``: here, where no student code runs, the judge turns the evidence into each grade cell's
   outputs (the ✔/✘ report and the score as nbgrader's partial credit, or the Spanish error when it is 0),
   whatever the cell printed itself; it also scans the student's cells for code that reaches for the grader.
   nbgrader's SaveAutoGrades then records those scores as usual.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Enum, Integer, Unicode

from autograder import tampering  # the judge (and its TensorFlow) is imported where a notebook is graded, not here:
# reading these classes' settings (``Limits.from_config``, nbgrader_config.py) stays cheap
from autograder.grade.notebook_checks import normalise_grade_cells
from autograder.grade.runlog import CellLog, JudgeReport, NeutralisePlan, evidence_key, evidence_part

NO_SANDBOX_NOTE = "calificada SIN sandbox (--no-sandbox): el código del alumno pudo acceder a todo el equipo"


def cell_key(source: str) -> str:
    return hashlib.sha1(source.strip().encode("utf-8")).hexdigest()


def neutralised_source(reason: str) -> str:
    message = ("vaekit: esta celda no se ejecutó al calificar porque " + reason +
               ". El resto del cuaderno se calificó sin ella; corrígela y vuelve a entregar.")
    return f"raise RuntimeError({message!r})\n"


class SandboxedExecute(Execute):
    """nbgrader's Execute in a sandboxed kernel, with a cell log, neutralised cells and evidence collection.

    The kernel never touches nbgrader's folders: it runs in a private copy of the notebook's folder (regular files
    only, through ``autograder.gate``), which is thrown away afterwards, so nbgrader's writer and permission step
    act on a tree the kernel never had. The judge's probes go in through a folder the sandbox mounts read-only, the
    evidence comes back through another, and no evidence file is opened until the kernel's processes are gone.
    """

    sandbox = Bool(True, help="run grading kernels in the bubblewrap sandbox (False only with --no-sandbox)"
                   ).tag(config=True)
    max_processes = Integer(512, help="processes + threads of one grading kernel (RLIMIT_NPROC; TensorFlow uses ~60 "
                            "threads): fork bombs stop here, and vaekit grade's watchdog at 60% of it"
                            ).tag(config=True)
    timeout = Integer(180, allow_none=True, help="seconds per cell; a cell that runs longer is interrupted (vaekit "
                      "grade --cell-timeout; the course's nbgrader_config.py gives nbgrader validate the same)"
                      ).tag(config=True)
    startup_timeout = Integer(180, help="seconds a grading kernel may take to start (one that imports TensorFlow on "
                              "a loaded 2-core machine can take over nbclient's 60 s)").tag(config=True)
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate", help=(
        "how a finished grading kernel ends: killed at once (its evidence is already written; a graceful exit would "
        "spend ~1 CPU-s per submission tearing TensorFlow down) unless 'graceful'")).tag(config=True)
    cell_log = Unicode("", help="JSONL file: one line as each cell starts and ends (set by vaekit grade)"
                       ).tag(config=True)
    neutralise_file = Unicode("", help="JSON {cell key: Spanish reason} of cells to run as an error"
                              ).tag(config=True)

    def create_kernel_manager(self):
        from autograder.grade.sandbox import PrivateKernelManager, SandboxedKernelManager, check_available
        from autograder.settings import Grading

        if self.sandbox:
            check_available()
        self.kernel_manager_class = SandboxedKernelManager if self.sandbox else PrivateKernelManager
        km = super().create_kernel_manager()
        if self.sandbox:
            grading = Grading(config=self.config)
            km.max_processes = self.max_processes
            km.memory_bytes = int(grading.memory_gb * 1024**3)
            km.tmp_bytes = grading.tmp_mb * 1024**2
            km.file_bytes = grading.file_mb * 1024**2
            km.readable = [str(self._inbox)]
            km.writable = [str(self._outbox)]
        self._km = km
        return km

    # cell log (written here, outside the kernel) --------------------------------------------------------
    def _log(self, event: str, key: str = "", head: str = "", **extra) -> None:
        CellLog(self.cell_log).write(event, key, head, **extra)

    def _on_cell_start(self, cell, cell_index, **kwargs):
        if cell.cell_type == "code" and cell.source.strip():
            key = self._keys.get(cell_index, cell_key(cell.source))
            timing = self.resources["vaekit"]["timing"]
            timing.setdefault("kernel_start_s", round(time.monotonic() - self._started, 2))
            self._cell_started = time.monotonic()
            self._log("start", key, self._heads.get(cell_index, cell.source))

    def _on_cell_executed(self, cell, cell_index, execute_reply, **kwargs):
        if cell.cell_type == "code":
            key = self._keys.get(cell_index, cell_key(cell.source))
            is_evidence = evidence_part(key) is not None
            bucket = "evidence_s" if is_evidence else "cells_s"
            label = key if is_evidence else "cell:" + (
                cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"#{cell_index}")
            timing = self.resources["vaekit"]["timing"]
            elapsed = time.monotonic() - self._cell_started
            timing[bucket] = round(timing.get(bucket, 0.0) + elapsed, 2)
            timing[label] = round(timing.get(label, 0.0) + elapsed, 2)  # the breakdown `make bench` prints
            self._log("end", key, "")

    # the run --------------------------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        from autograder import gate, judge
        from autograder.settings import Grading

        resources = resources if resources is not None else {}
        plan = NeutralisePlan.load(self.neutralise_file)
        assignment = resources.get("nbgrader", {}).get("assignment")
        metadata = resources.setdefault("metadata", {})
        folder = metadata.get("path") or os.getcwd()
        vk = resources.setdefault("vaekit", {})
        vk.update(assignment=assignment, sandbox=bool(self.sandbox), evidence={}, probes={},
                  config=judge.config_for(assignment, folder), plan=plan, timing={}, limits={}, flags=[])
        self._started = self._cell_started = time.monotonic()
        self._plan, self._keys, self._heads, self._pending = plan, {}, {}, {}
        self._parts = judge.parts_for(assignment)
        self._km = None
        scratch = [Path(tempfile.mkdtemp(prefix=f"vaekit-{kind}-")) for kind in ("work", "probes", "evidence")]
        self._work, self._inbox, self._outbox = scratch
        self._inbox.chmod(0o755)
        copy = gate.read_tree(folder, Grading(config=self.config).caps())
        gate.write_tree(self._work, copy.files)
        vk["flags"] += copy.flags
        metadata["path"] = str(self._work)  # the kernel's cwd: its own copy
        try:
            return super().preprocess(nb, resources, km)
        finally:
            metadata["path"] = folder
            self._after_kernel(vk)
            for path in scratch:
                shutil.rmtree(path, ignore_errors=True)

    def _after_kernel(self, vk: dict) -> None:
        """Once the kernel is gone: the limits it ran under, whether its cgroup killed it, then its evidence."""
        from autograder import judge

        events = getattr(self._km, "events", None) or {}
        vk["limits"] = events.get("limits", {"sandbox": False})
        self._log("kernel_end", oom_killed=bool(events.get("oom_killed")), limits=vk["limits"])
        caps = judge.MAX_EVIDENCE_BYTES
        for grade_id, (out_path, failure) in self._pending.items():
            vk["evidence"][grade_id] = judge.read_evidence(out_path, failure, part=self._parts[grade_id],
                                                           max_bytes=caps)

    def setup_kernel(self, **kwargs):
        self.on_cell_start = self._on_cell_start
        self.on_cell_executed = self._chain_executed
        return super().setup_kernel(**kwargs)

    def _chain_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        self._on_cell_executed(**kwargs)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        key = cell_key(cell.source)
        self._keys[index] = key
        reason = self._plan.get(key)
        if reason is None:
            cell, resources = super().preprocess_cell(cell, resources, index)
        else:
            original, cell.source = cell.source, neutralised_source(reason)
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            finally:
                cell.source = original
        grade = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade in self._parts and grade not in self._pending and grade not in self.resources["vaekit"]["evidence"]:
            self.collect_evidence(grade, index)  # once per part: a duplicated grade cell is not judged twice
        return cell, self.resources

    def collect_evidence(self, grade_id: str, index: int) -> None:
        """Send ``grade_id``'s probe and collector into the kernel; its evidence is read after the kernel ends."""
        import numpy as np

        from autograder import judge

        vk = self.resources["vaekit"]
        part = self._parts[grade_id]
        started = time.monotonic()
        probe = part.make_probe(vk["config"])
        vk["timing"]["probes_s"] = round(vk["timing"].get("probes_s", 0.0) + time.monotonic() - started, 2)
        vk["probes"][grade_id] = probe
        reason = self._plan.get(evidence_key(grade_id))
        if reason is not None:
            vk["evidence"][grade_id] = judge.Evidence(failure=f"al llamar a tu código el kernel {reason}")
            return
        nonce = secrets.token_hex(8)
        probe_path, out_path = self._inbox / f"probe-{nonce}.npz", self._outbox / f"evidence-{nonce}.npz"
        with open(probe_path, "wb") as f:  # the inbox is read-only inside the sandbox: only the grader writes here
            np.savez(f, **probe)
        probe_path.chmod(0o644)
        request = nbformat.v4.new_code_cell(judge.request_code(grade_id, str(probe_path), str(out_path)))
        self._keys[index] = evidence_key(grade_id)
        self._heads[index] = f"(vaekit: el juez llama a tu código de «{grade_id}»)"
        graded_cell = self.nb.cells[index]
        try:
            self.execute_cell(request, index, store_history=False)
        finally:
            self.nb.cells[index] = graded_cell  # nbclient stores the executed cell at its index
            self._keys.pop(index, None)
            self._heads.pop(index, None)
        self._pending[grade_id] = (out_path, judge.request_failure(request))


def judge_with_deadline(part, grade_id: str, evidence, probe, config, points: float, timeout: float):
    """``part.judge`` in a thread of its own, waited for at most ``timeout`` seconds: a part whose evidence keeps
    the judge busy longer gets 0 points with its reason (the evidence is bounded in size before it is loaded, so
    the judge's memory is bounded with it)."""
    import concurrent.futures

    from autograder import judge

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vaekit-judge-{grade_id}")
    future = pool.submit(part.judge, grade_id, evidence, probe, config, points)
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        late = judge.Evidence(failure=f"el juez no terminó en {timeout:g} s con los resultados de tu código")
        return part.judge(grade_id, late, probe, config, points)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class NormaliseGradeCells(NbGraderPreprocessor):
    """First of nbgrader's sanitize steps (``c.Autograde.sanitize_preprocessors``): a cell that claims a grade id
    the release does not have, or a pasted copy of a grade cell, loses its nbgrader metadata (the first copy
    counts), so that one copy-paste costs at most that part, never the whole notebook (``normalise_grade_cells``;
    ``vaekit grade`` also applies it before nbgrader, with "revisar a mano" flags)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            known = {cell.name for cell in notebook.source_cells}
        for flag in normalise_grade_cells(nb, known):
            self.log.warning("vaekit: %s", flag)
        return nb, resources


class JudgeGradeCells(NbGraderPreprocessor):
    """The judge's verdict becomes each judged grade cell's outputs (nbgrader then records the score)."""

    enabled = Bool(True)
    report_file = Unicode("", help="JSON file for vaekit: verdicts, tampering flags, sandbox (set by vaekit grade)"
                          ).tag(config=True)
    part_timeout = Integer(120, help="seconds the judge may spend on one part's evidence (then 0 points)"
                           ).tag(config=True)

    def preprocess(self, nb, resources):
        from autograder import judge

        vk = resources.get("vaekit") or {}
        assignment = vk.get("assignment") or resources.get("nbgrader", {}).get("assignment")
        parts = judge.parts_for(assignment)
        config = vk.get("config") or judge.config_for(assignment, resources.get("metadata", {}).get("path") or ".")
        verdicts = {}
        started = time.monotonic()
        for cell in nb.cells:
            grade = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade not in parts:
                continue
            evidence = vk.get("evidence", {}).get(grade) or judge.Evidence(
                failure="no se recogieron pruebas de esta parte (¿falta autograder.grade.pipeline.SandboxedExecute "
                        "en c.Autograde.autograde_preprocessors?)")
            probe = vk.get("probes", {}).get(grade) or parts[grade].make_probe(config)
            points = float(cell.metadata["nbgrader"]["points"])
            result = judge_with_deadline(parts[grade], grade, evidence, probe, config, points, self.part_timeout)
            if not vk.get("sandbox", False):
                result.notes.append(NO_SANDBOX_NOTE)
            cell.outputs = judge.verdict_outputs(result)
            verdicts[grade] = result.as_dict()
        flags = [f.as_dict() for f in tampering.scan(nb)] + [{"text": text} for text in vk.get("flags", [])]
        timing = {**vk.get("timing", {}), "judge_s": round(time.monotonic() - started, 2)}
        if self.report_file:
            JudgeReport(assignment, bool(vk.get("sandbox", False)), verdicts, flags, timing,
                        vk.get("limits", {})).save(self.report_file)
        return nb, resources
