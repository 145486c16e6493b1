"""Shared machinery of the judge: evidence in, verdict out.

A part (``Part``) has a probe (seeded inputs the judge sends to the kernel), a collector in ``kernel_side`` that
runs the student's objects on them, and ``subchecks(evidence, probe, config)``: weighted sub-checks over the raw
evidence. Each sub-check returns ``None``/``True`` when it passes or a Spanish diagnosis (a ``str``) naming the
likely mistake; ``False`` or an exception means its default hint. Every number is recomputed here from the
evidence with ``vae_lib``; nothing the student's process says about itself (a loss, a flag) is trusted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
from vae_runtime.testing import quiet


@dataclass
class SubCheck:
    label: str  # what is checked, in Spanish
    weight: float
    run: Callable[[], object]  # None/True = pass; str = diagnosis; False/exception = `hint`
    hint: str  # default Spanish diagnosis naming the likely mistake


@dataclass
class Outcome:
    label: str
    weight: float
    passed: bool
    message: str = ""


@dataclass
class Verdict:
    """The judge's decision on one grade cell."""
    grade_id: str
    title: str
    points: float
    score: float
    outcomes: list[Outcome]
    device: str
    notes: list[str] = field(default_factory=list)  # informative lines (e.g. the trained model), never scored

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def report(self) -> str:
        lines = [f"Comprobación: {self.title} (juez de vaekit, fuera de tu cuaderno; dispositivo: {self.device})"]
        lines += [f"  nota: {n}" for n in self.notes]
        for o in self.outcomes:
            lines.append(f"  ✔ {o.label}" if o.passed else f"  ✘ {o.label} — {o.message}")
        lines.append(f"Puntuación: {self.score:g} / {self.points:g}")
        return "\n".join(lines)

    def diagnosis(self) -> str:
        return "; ".join(o.message for o in self.failures)

    def as_dict(self) -> dict:
        return asdict(self)


class EvidenceMissing(AssertionError):
    pass


class Evidence:
    """The arrays a collector saved; ``ev["name"]`` raises EvidenceMissing with the student's error when absent."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, failure: str | None = None):
        self.arrays = dict(arrays or {})
        self.failure = failure  # why there is no evidence at all (collection timed out, was neutralised, …)

    def error(self, name: str) -> str | None:
        for key in (f"error:{name}", "error:_collector"):
            if key in self.arrays:
                return str(self.arrays[key])
        return self.failure

    def __contains__(self, name: str) -> bool:
        return name in self.arrays

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.arrays:
            return self.arrays[name]
        raise EvidenceMissing(f"tu código falló: {self.error(name) or 'no devolvió nada'}")

    def get(self, name: str, default=None):
        return self.arrays.get(name, default)


_DEVICE: str | None = None


def device() -> str:
    """The device the judge computes on ("GPU: …" when TensorFlow sees one, with memory growth on; else "CPU")."""
    global _DEVICE
    if _DEVICE is None:
        with quiet():
            import vae_lib

            vae_lib.configure_devices()
            _DEVICE = vae_lib.device_summary()
    return _DEVICE


def run_subchecks(subchecks: list[SubCheck]) -> list[Outcome]:
    outcomes = []
    for sub in subchecks:
        try:
            with quiet():
                result = sub.run()
        except AssertionError as err:
            result = f"{sub.hint} ({err})" if isinstance(err, EvidenceMissing) else (str(err) or False)
        except Exception as err:  # malformed evidence (wrong dtype, ragged…) fails the sub-check, not the batch
            detail = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            result = f"{sub.hint} (resultado no válido: {detail[:200]})"
        if result is None or result is True:
            outcomes.append(Outcome(sub.label, sub.weight, True))
        else:
            outcomes.append(Outcome(sub.label, sub.weight, False, sub.hint if result is False else str(result)))
    return outcomes


def verdict(grade_id: str, title: str, subchecks: list[SubCheck], points: float, notes=()) -> Verdict:
    """Run the sub-checks; the score is ``points`` times the passed weight share, rounded to 3 decimals."""
    outcomes = run_subchecks(subchecks)
    total = sum(o.weight for o in outcomes)
    fraction = sum(o.weight for o in outcomes if o.passed) / total if total else 0.0
    score = min(round(float(points) * fraction, 3), float(points))
    return Verdict(grade_id, title, float(points), score, outcomes, device(), list(notes))


def close(a, b, rtol=0.05, atol=1e-6) -> bool:
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def floats(a) -> np.ndarray:
    """Evidence as a float64 array (raises on non-numeric evidence)."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"se esperaba un array numérico, no {a.dtype}")
    return a.astype("float64")


@dataclass(frozen=True)
class Part:
    """A graded part: ``key`` (the collector in ``kernel_side.COLLECTORS``), its grade cell and how to judge it."""
    key: str
    title: str
    make_probe: Callable[[dict], dict[str, np.ndarray]]  # config -> arrays sent to the kernel
    subchecks: Callable[[Evidence, dict, dict], list[SubCheck]]  # (evidence, probe, config) -> sub-checks
    notes: Callable[[Evidence, dict, dict], list[str]] = lambda ev, probe, config: []

    def judge(self, grade_id: str, evidence: Evidence, probe: dict, config: dict, points: float) -> Verdict:
        return verdict(grade_id, self.title, self.subchecks(evidence, probe, config), points,
                       self.notes(evidence, probe, config))
