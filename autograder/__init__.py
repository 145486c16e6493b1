"""vaekit's grading kit, laid out by who runs each part.

- Inside the sandboxed grading kernel: only ``judge/kernel_side.py`` (sent as source text; the collectors).
- The judge and the TA's workflow (vaekit's own processes: the coordinator and the Dask workers): ``cli`` (the
  ``vaekit`` command), ``engine`` (Dask, the coordinator, the gradebook), ``grading`` (one submission on a worker),
  ``preprocessors`` (the nbgrader pipeline), ``sandbox`` (bubblewrap), ``judge/`` (evidence in, verdict out),
  ``tampering``, ``results``, ``progress``, ``feedback``, ``offline_math``, ``report``, ``exchange``, ``course``,
  ``settings``, ``errors``.
- The instructor's authoring tools: ``authoring/`` (release checks, example submissions, canonical mistakes,
  solution notebooks); ``notebooks`` is the notebook plumbing they share with the rest.
"""
