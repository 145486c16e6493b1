"""``JudgeGradeCells`` without a kernel: evidence in (collected here from trusted solution code, as
``SandboxedExecute`` would hand it over), grade-cell outputs and the judge's report out."""
from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from autograder import judge, notebooks as nbs  # noqa: E402
from autograder.grade.pipeline import NO_SANDBOX_NOTE, JudgeGradeCells  # noqa: E402
from autograder.grade.runlog import JudgeReport  # noqa: E402

ASSIGNMENT = "vae_clase"
PRELUDE = "import numpy as np\nimport keras\nfrom keras import layers, ops\nimport tensorflow as tf\n"


@pytest.fixture(scope="module")
def kl_evidence():
    ns: dict = {}
    exec(PRELUDE, ns)
    exec(nbs.solutions_of(ASSIGNMENT)["kl_divergence"], ns)
    sink: dict = {}
    judge.judge_in_process("test_kl_divergence", ns, ASSIGNMENT, 1.0, folder="/nonexistent", evidence_sink=sink)
    return sink["evidence"]


def graded(tmp_path, evidence: dict, sandbox: bool = True):
    nb = nbs.read(nbs.release_path(ASSIGNMENT))
    resources = {"vaekit": {"assignment": ASSIGNMENT, "sandbox": sandbox, "evidence": evidence, "flags": ["raro"]},
                 "nbgrader": {"assignment": ASSIGNMENT}, "metadata": {"path": str(tmp_path)}}
    step = JudgeGradeCells(report_file=str(tmp_path / "report.json"))
    nb, _ = step.preprocess(nb, resources)
    return nbs.cells_by_grade_id(nb), JudgeReport.load(tmp_path / "report.json")


def test_evidence_becomes_the_score_and_missing_evidence_a_zero(tmp_path, kl_evidence):
    cells, report = graded(tmp_path, {"test_kl_divergence": kl_evidence})
    kl = cells["test_kl_divergence"]
    points = float(kl.metadata["nbgrader"]["points"])
    assert [o.output_type for o in kl.outputs] == ["stream", "execute_result"]
    assert float(kl.outputs[1].data["text/plain"]) == pytest.approx(points)
    assert report.verdicts["test_kl_divergence"]["score"] == pytest.approx(points)
    encoder = cells["test_encoder"]  # no evidence: 0 points, with the reason
    assert encoder.outputs[-1].output_type == "error" and "no se recogieron pruebas" in encoder.outputs[-1].evalue
    assert set(report.verdicts) == set(judge.parts_for(ASSIGNMENT)) & set(cells) and report.assignment == ASSIGNMENT
    assert {"text": "raro"} in report.flags and report.sandbox is True and "judge_s" in report.timing


def test_a_failure_is_the_zero_and_no_sandbox_is_said(tmp_path):
    failed = judge.Evidence(failure="tu código no terminó a tiempo al llamarlo el juez")
    cells, report = graded(tmp_path, {"test_kl_divergence": failed}, sandbox=False)
    error = cells["test_kl_divergence"].outputs[-1]
    assert error.output_type == "error" and "no terminó a tiempo" in error.evalue
    assert report.verdicts["test_kl_divergence"]["score"] == 0 and report.sandbox is False
    assert NO_SANDBOX_NOTE in report.verdicts["test_sampling"]["notes"]
