"""``decide``: what the worker does after one nbgrader attempt, without a kernel (the cell log, the plan and the
watchdog's verdict are plain values)."""
from __future__ import annotations

import pytest

from autograder.grade.retry import Attempt, Done, Retry, Zero, decide, first_line
from autograder.grade.runlog import CellLog, JudgeReport, NeutralisePlan, OpenCell, evidence_key, evidence_part

DIED = "terminó el kernel de Python (os._exit, un fallo de memoria o un error fatal)"


def test_a_graded_attempt_is_done():
    assert decide(Attempt(succeeded=True)) == Done()


def test_the_cell_that_killed_the_kernel_is_neutralised_with_a_note():
    culprit = OpenCell("abc123", "import os\nos._exit(1)  # adiós")
    decision = decide(Attempt(False, killed=False, culprit=culprit, reason=DIED))
    assert decision == Retry("abc123", DIED, "La celda que empieza por «import os» " + DIED +
                             ": se neutralizó y se calificó el resto del cuaderno.")


def test_a_dead_evidence_call_costs_that_part_only():
    decision = decide(Attempt(False, culprit=OpenCell(evidence_key("test_decoder"), "(vaekit…)"), reason=DIED))
    assert isinstance(decision, Retry) and decision.key == "evidence:test_decoder"
    assert decision.note.startswith("Al llamar el juez a tu código de «test_decoder», el kernel " + DIED)
    assert "esa parte se calificó con 0" in decision.note


def test_nbgrader_failing_without_a_dead_kernel_is_a_zero_with_its_error():
    decision = decide(Attempt(False, killed=False, culprit=None, nbgrader_error="[ERROR] algo"))
    assert decision == Zero("nbgrader no pudo calificar el cuaderno ([ERROR] algo)")


@pytest.mark.parametrize("attempt", [
    Attempt(False, killed=True, culprit=None, reason="superó el límite de memoria (6 GiB)"),  # nothing to blame
    Attempt(False, culprit=OpenCell("k", "x"), reason="r", plan={"k": "r"}),  # the same cell again
    Attempt(False, culprit=OpenCell("k3", "x"), reason="r", plan={"k1": "r", "k2": "r"}, max_neutralised=2),
])
def test_what_cannot_be_isolated_gets_the_zero(attempt):
    decision = decide(attempt)
    assert decision == Zero(f"la ejecución {attempt.reason} y no se pudo aislar la celda responsable")


def test_first_line_skips_blank_lines_and_cuts_long_ones():
    assert first_line("\n\n  x = 1\ny = 2") == "x = 1"
    assert first_line("a" * 100, 10) == "a" * 9 + "…"


def test_the_cell_log_survives_a_cut_line_and_reports_the_kernel_end(tmp_path):
    log = CellLog(tmp_path / "cells.jsonl")
    log.write("start", "a", "x = 1")
    log.write("end", "a")
    log.write("start", "b", "while True: pass")
    log.write("kernel_end", oom_killed=True, limits={"memory_bytes": 10})
    with open(log.path, "a") as f:
        f.write('{"event": "sta')  # a line cut by the kill
    assert log.unfinished_cell() == OpenCell("b", "while True: pass")
    assert log.kernel_end().oom_killed and log.kernel_end().limits == {"memory_bytes": 10}
    assert CellLog(tmp_path / "missing.jsonl").unfinished_cell() is None
    assert evidence_part(evidence_key("test_kl_divergence")) == "test_kl_divergence" and evidence_part("abc") is None


def test_plan_and_report_round_trip(tmp_path):
    plan = NeutralisePlan({"k": "superó el tiempo"})
    plan.save(tmp_path / "plan.json")
    assert NeutralisePlan.load(tmp_path / "plan.json") == plan and NeutralisePlan.load(None) == {}
    report = JudgeReport("vae_clase", True, {"test_sampling": {"score": 1.0}}, [{"text": "x" * 500}, "raro"])
    report.save(tmp_path / "report.json")
    again = JudgeReport.load(tmp_path / "report.json")
    assert again == report and again.flag_texts() == ["x" * 400]
    assert JudgeReport.load(tmp_path / "none.json") is None
