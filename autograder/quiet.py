"""A quiet console for the TA: the library warnings vaekit knows to be noise are filtered precisely, here and in
every process the ``vaekit`` command starts (Dask workers, ``nbgrader`` subcommands), by message and module.

- nbgrader 0.9.6's ``Gradebook.add_submission`` builds the submission's rows while SQLAlchemy ≥ 2 autoflushes:
  "SAWarning: Object of type <SubmittedAssignment> not in session, add operation along 'Assignment.submissions'
  will not proceed" (three per graded submission, attributed to ``nbgrader.api``). The rows are added right after;
  nothing is lost. nbgrader's bug, so it is filtered where it is raised, not silenced wholesale.
- nbgrader's ``OverwriteCells`` (``add_missing_cells``) puts a deleted grade cell back as a dict without an ``id``;
  nbformat then warns "MissingIDFieldWarning: Cell is missing an id field" (attributed to ``nbformat.validator``)
  when the autograded notebook is read, and adds the id itself.

``install()`` adds the filters to this process and to ``PYTHONWARNINGS`` (inherited by child processes; the
entries name no category, so a Python without SQLAlchemy reads them without complaint).
"""
from __future__ import annotations

import os
import re
import warnings

# (message prefix, module the warning is attributed to)
NOISE = [
    ("Object of type <", "nbgrader.api"),  # SQLAlchemy autoflush inside nbgrader's add_submission
    ("Cell is missing an id field", "nbformat.validator"),  # a grade cell nbgrader restored without an id
]


def install() -> None:
    for message, module in NOISE:
        warnings.filterwarnings("ignore", message=re.escape(message), module=re.escape(module) + r"\Z")
    entries = [f"ignore:{message}::{module}" for message, module in NOISE]
    current = [e for e in os.environ.get("PYTHONWARNINGS", "").split(",") if e]
    os.environ["PYTHONWARNINGS"] = ",".join(current + [e for e in entries if e not in current])
