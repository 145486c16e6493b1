"""Shared machinery of the grading checks.

A check is a list of weighted sub-checks. Each sub-check returns ``None``/``True`` when it passes, or a
Spanish diagnosis (a ``str``) naming the likely mistake; returning ``False`` or raising uses its default
hint. ``grade`` runs them quietly (warnings, TensorFlow logs and anything written to stderr are swallowed,
because nbgrader scores a grade cell with stderr output as 0), prints one ✔/✘ line per sub-check and returns
the score in points as a float (nbgrader's partial credit). A score of 0 raises ``AssertionError`` with the
diagnosis, so ``nbgrader validate`` and the feedback show it.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np


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


@contextlib.contextmanager
def quiet():
    """Silence Python warnings, TensorFlow/absl logs and everything written to stderr (also at fd level)."""
    for name in ("tensorflow", "absl", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stderr.flush()
    saved_fd = None
    try:
        saved_fd = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no real fd 2 (rare embedded interpreters): Python-level silencing still applies
        saved_fd = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stderr.flush()
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


_DEVICE: str | None = None


def device() -> str:
    """The device TensorFlow computes on ("GPU: …" when one is visible, with memory growth on; else "CPU")."""
    global _DEVICE
    if _DEVICE is None:
        with quiet():
            try:
                import vae_lib

                vae_lib.configure_devices()
                _DEVICE = vae_lib.device_summary()
            except Exception:  # vae_lib without device helpers: ask TensorFlow directly
                import tensorflow as tf

                gpus = tf.config.list_physical_devices("GPU")
                _DEVICE = f"GPU ({len(gpus)})" if gpus else "CPU"
    return _DEVICE


def seed(value: int) -> None:
    """Seed Python, NumPy and Keras so a check draws the same hidden inputs every time."""
    import keras

    keras.utils.set_random_seed(int(value))


def to_numpy(value) -> np.ndarray:
    """A tensor / array / list as a float NumPy array."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    else:
        try:
            import keras

            value = keras.ops.convert_to_numpy(value)
        except Exception:
            pass
    return np.asarray(value, dtype="float64")


def run_subchecks(subchecks: list[SubCheck]) -> list[Outcome]:
    outcomes = []
    for sub in subchecks:
        try:
            with quiet():
                result = sub.run()
        except AssertionError as err:
            result = str(err) or False
        except Exception as err:  # a crash in student code is a failure of that sub-check, not of the batch
            detail = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            result = f"{sub.hint} (error: {detail[:300]})"
        if result is None or result is True:
            outcomes.append(Outcome(sub.label, sub.weight, True))
        else:
            message = sub.hint if result is False else str(result)
            outcomes.append(Outcome(sub.label, sub.weight, False, message))
    return outcomes


def grade(title: str, subchecks: list[SubCheck], points: float, note: str | None = None) -> float:
    """Run the sub-checks, print the report, return the score in points (a float in [0, points]).

    Raises AssertionError (Spanish diagnosis) when nothing passes.
    """
    dev = device()
    outcomes = run_subchecks(subchecks)
    total = sum(o.weight for o in outcomes)
    fraction = sum(o.weight for o in outcomes if o.passed) / total if total else 0.0
    score = round(float(points) * fraction, 3)
    lines = [f"Comprobación: {title} (dispositivo: {dev})"]
    if note:
        lines.append(f"  nota: {note}")
    for o in outcomes:
        lines.append(f"  ✔ {o.label}" if o.passed else f"  ✘ {o.label} — {o.message}")
    lines.append(f"Puntuación: {score:g} / {float(points):g}")
    print("\n".join(lines), flush=True)
    if score <= 0:
        failures = "; ".join(o.message for o in outcomes if not o.passed)
        raise AssertionError(f"{title}: 0 puntos. {failures}")
    return float(min(score, float(points)))


def close(a, b, rtol=0.05, atol=1e-6) -> bool:
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def built_once(build, *args):
    """A function returning `build(*args)`, built on the first call and reused after (one student model per check)."""
    cache = {}

    def get():
        if "value" not in cache:
            cache["value"] = build(*args)
        return cache["value"]

    return get


def returns_keras_model(get_model, builder_name: str):
    """Sub-check: the student's builder returns a `keras.Model`."""

    def run():
        import keras

        model = get_model()
        if not isinstance(model, keras.Model):
            return f"{builder_name} devuelve {type(model).__name__}; debe devolver un keras.Model"

    return run

