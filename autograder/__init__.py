"""vaekit's grading kit, laid out by who runs each part (docs/architecture.md has the picture).

- Inside the sandboxed grading kernel: only ``judge/kernel_side.py`` (sent as source text; the collectors).
- Grading, in vaekit's own processes: ``grade/`` (``coordinator`` on Dask and the only gradebook writer, ``worker``
  for one submission, ``pipeline`` with nbgrader's preprocessors, ``sandbox``, ``cgroup``, ``watchdog``, ``retry``,
  ``runlog``, ``task``, ``notebook_checks``) and ``judge/`` (evidence in, verdict out).
- The TA's and the student's workflow: ``cli`` (the ``vaekit`` command), ``course``, ``settings``, ``exchange``,
  ``watch``, ``feedback``, ``report``, ``moodle``, ``similarity``, ``results``, ``progress``, ``tampering``.
- The instructor's authoring tools: ``authoring/`` (release checks, example submissions, canonical mistakes,
  solution notebooks); ``notebooks`` is the notebook plumbing they share with the rest.
"""
import sys as _sys

# jsonschema (under nbformat) imports rfc3987_syntax when it is installed: an IRI checker that compiles ~35 Lark
# grammars at import, ~1.2 CPU-s in every process that reads a notebook (python-jsonschema/jsonschema#1428). No schema
# vaekit validates uses the "iri" formats, so vaekit's own processes (CLI, coordinator, Dask workers) go without it.
_sys.modules.setdefault("rfc3987_syntax", None)
