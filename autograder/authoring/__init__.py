"""The instructor's authoring tools: checked releases (``release``), example submissions (``examples``), the
catalogue of canonical mistakes (``mistakes``) and the executed solution notebooks (``solutions``)."""
