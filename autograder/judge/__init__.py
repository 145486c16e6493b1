"""The judge: evidence in, verdict out, in vaekit's own process (never in the student's kernel).

For each graded part (one module each, named after its grade id without ``test_``: ``sampling``,
``kl_divergence``, ``encoder``, ``decoder``, ``vae_model``, ``sample_images``, ``interpolate``; the conditional VAE's
``cond_encoder``, ``cond_decoder``, ``cvae_model``, ``sample_class``) the judge makes a seeded probe, ``SandboxedExecute`` runs the matching collector
of ``kernel_side`` inside the sandboxed kernel right after the part's grade cell, and the part's sub-checks judge
the returned arrays against ``vae_lib``. Grade cells are matched by their nbgrader ``grade_id`` (``GRADE_CELLS``);
what each assignment's notebook sets up (data set, latent size, convolutional encoder) and which grade cells it
has are in ``autograder.assignments.ASSIGNMENTS``, the one table of assignments.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import nbformat
import numpy as np

from autograder.assignments import ASSIGNMENTS
from autograder.judge import (
    cond_decoder,
    cond_encoder,
    cvae_model,
    decoder,
    encoder,
    interpolate,
    kl_divergence,
    sample_class,
    sample_images,
    sampling,
    vae_model,
)
from autograder.judge._framework import Evidence, Part, Verdict, clip_text, load_checked_npz

KERNEL_SIDE = Path(__file__).with_name("kernel_side.py")
SEED = 157
MAX_EVIDENCE_BYTES = 64 * 1024**2  # one part's evidence file, at most

_MODULES = (sampling, kl_divergence, encoder, decoder, vae_model, sample_images, interpolate, cond_encoder,
            cond_decoder, cvae_model, sample_class)
GRADE_CELLS: dict[str, Part] = {module.PART.grade_id: module.PART for module in _MODULES}
WEIGHTS_SUFFIX = ".weights.h5"

__all__ = ["GRADE_CELLS", "ASSIGNMENTS", "Evidence", "Verdict", "parts_for", "config_for", "request_code",
           "read_evidence", "request_failure", "verdict_outputs", "judge_in_process"]


def parts_for(assignment: str | None) -> dict[str, Part]:
    """The judged grade cells of ``assignment`` (its row's grade ids; a cell the notebook lacks is ignored)."""
    row = ASSIGNMENTS.get(assignment)
    return {gid: GRADE_CELLS[gid] for gid in (row.grade_ids if row else ())}


def config_for(assignment: str | None, folder) -> dict:
    """The assignment's settings, plus ``trained``: "full" when the submission holds saved weights, else "none"
    (grading never trains: the trained-model notes are measured only on the full run's weights)."""
    row = ASSIGNMENTS.get(assignment)
    config = row.probe_config() if row else {}
    config["trained"] = "full" if any(Path(folder).glob(f"*{WEIGHTS_SUFFIX}")) else "none"
    return config


def request_code(part_key: str, probe_path: str, out_path: str) -> str:
    """The code sent to the kernel: it compiles ``kernel_side`` in a namespace of its own and runs one collector."""
    source = KERNEL_SIDE.read_text(encoding="utf-8")
    return (
        "def __vaekit_evidence():\n"
        "    ns = {'__name__': 'vaekit_kernel_side'}\n"
        f"    exec(compile({source!r}, 'vaekit_kernel_side.py', 'exec'), ns)\n"
        f"    ns['run'](get_ipython().user_ns, {part_key!r}, {probe_path!r}, {out_path!r}, {SEED})\n"
        "try:\n"
        "    __vaekit_evidence()\n"
        "finally:\n"
        "    del __vaekit_evidence\n"
    )


def request_failure(cell) -> str | None:
    """Why the collector's execution failed (timeout, error), from its outputs; None when it finished."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            if out.get("ename") == "CellTimeoutError" or "timeout" in str(out.get("evalue", "")).lower():
                return "tu código no terminó a tiempo al llamarlo el juez"
            return f"{clip_text(out.get('ename'), 80)}: {clip_text(out.get('evalue', ''), 200)}"
    return None


def read_evidence(path, failure: str | None = None, part: Part | None = None,
                  max_bytes: int = MAX_EVIDENCE_BYTES) -> Evidence:
    """A collector's .npz, read once the kernel is gone, through ``autograder.gate`` (a regular file, no link, no
    pipe, at most ``max_bytes``); with ``part``, each array's ``.npy`` header is checked against the part's declared
    evidence before it is loaded (no pickles). Any problem is an Evidence with a Spanish failure."""
    from autograder import gate

    limit = min(max_bytes, part.max_evidence_bytes) if part is not None else max_bytes
    try:
        data = gate.read_file(path, limit)
    except FileNotFoundError:
        return Evidence(failure=failure or "el juez no recibió resultados de tu código")
    except gate.Refused as why:
        if "MiB" in str(why):
            return Evidence(failure="los resultados de tu código son demasiado grandes")
        return Evidence(failure=f"el juez rechazó el archivo de resultados ({why})")
    except OSError as error:
        return Evidence(failure=f"resultados ilegibles ({type(error).__name__})")
    from autograder.judge._framework import load_checked_npz

    refused = []
    try:
        if part is not None:
            arrays, refused = load_checked_npz(data, part)
        else:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if sum(i.file_size for i in archive.infolist()) > limit:
                    return Evidence(failure="los resultados de tu código son demasiado grandes")
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
    except Exception as error:  # noqa: BLE001 (a malformed file is the student's process's doing)
        return Evidence(failure=f"resultados ilegibles ({type(error).__name__})")
    return Evidence(arrays, failure, refused)


def verdict_outputs(verdict: Verdict) -> list:
    """The grade cell's outputs: the report on stdout, then the score (partial credit) or the 0-point error."""
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict.report() + "\n")]
    if verdict.score > 0:
        outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(verdict.score))},
                                              execution_count=None))
    else:
        message = f"{verdict.title}: 0 puntos. {verdict.diagnosis()}"
        outputs.append(nbformat.v4.new_output("error", ename="AssertionError", evalue=message,
                                              traceback=[f"\x1b[31mAssertionError\x1b[39m: {message}"]))
    return outputs


def judge_in_process(grade_id: str, namespace: dict, assignment: str = "vae_clase", points: float = 1.0,
                     folder=".", evidence_sink: dict | None = None) -> Verdict:
    """Collect and judge in THIS process, for the kit's own tests of the judge on trusted code (never for grading).
    The evidence goes through ``load_checked_npz`` as in grading; ``evidence_sink["evidence"]`` receives it."""
    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location("vaekit_kernel_side", KERNEL_SIDE)
    side = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(side)
    part = GRADE_CELLS[grade_id]
    config = config_for(assignment, folder)
    probe = part.make_probe(config)
    with tempfile.TemporaryDirectory() as tmp:
        probe_path, out_path = Path(tmp) / "probe.npz", Path(tmp) / "evidence.npz"
        np.savez(probe_path, **probe)
        side.run(namespace, grade_id, str(probe_path), str(out_path), SEED)
        arrays, refused = load_checked_npz(out_path.read_bytes(), part)
    evidence = Evidence(arrays, None, refused)
    if evidence_sink is not None:
        evidence_sink["evidence"] = evidence
    return part.judge(grade_id, evidence, probe, config, points)
