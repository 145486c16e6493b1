"""``VaekitError``: one clear message for every user-facing failure.

Raise it (or a subclass) with a one-line Spanish message saying what is wrong and what to do; ``vaekit`` prints the
message, without a traceback, and exits 1. Anything else that escapes is a bug and keeps its traceback.
"""
from __future__ import annotations


class VaekitError(RuntimeError):
    """A failure the user can fix (wrong folder, refused release, failed nbgrader command, …): its message is shown
    as is. It is a ``RuntimeError`` so existing ``except RuntimeError`` handlers keep catching it."""
