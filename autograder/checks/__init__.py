"""Grading checks called by the notebooks' grade cells; one module per student part.

Each ``check(...)`` prints a ✔/✘ report in Spanish and returns the score in points as a float (nbgrader
partial credit); a score of 0 raises ``AssertionError`` with the diagnosis. See ``_framework``.
"""
from autograder.checks import decoder, encoder, generation, interpolation, kl, sampling, train_loop
from autograder.checks._framework import device, quiet

__all__ = ["sampling", "encoder", "decoder", "kl", "train_loop", "generation", "interpolation", "device", "quiet"]
