"""nbgrader's exchange collect with vaekit's intake gate: ``c.ExchangeFactory.collect`` in ``nbgrader_config.py``.

nbgrader copies a student's inbound submission with ``shutil.copytree``, which follows symbolic links: a link in
the exchange to a host file (``/etc/shadow``, the TA's ``/proc/self/environ``, the course's gradebook) would arrive
in ``submitted/`` as that file's content, read with the TA's rights. Here the copy goes through
``autograder.gate`` instead: regular files only, never a link, a pipe or a device, under the course's size caps
(``c.Grading.intake_*``). What was refused is written to ``.vaekit/intake/<A>/<student>.json`` and becomes a
"revisar a mano" flag on that submission's result.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from autograder import gate


class GatedExchangeCollect(ExchangeCollect):
    """``ExchangeCollect`` whose copy reads the inbound folder through ``autograder.gate``."""

    def do_copy(self, src, dest, log=None):
        from autograder.settings import Grading

        intake = gate.read_tree(src, Grading(config=self.config).caps())
        files = {rel: data for rel, data in intake.files.items()
                 if not any(part in self.coursedir.ignore for part in Path(rel).parts)}
        gate.write_tree(dest, files)
        dest = Path(dest)
        record = Path(self.coursedir.root) / ".vaekit" / "intake" / dest.name / f"{dest.parent.name}.json"
        if intake.refused:
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(intake.flags, ensure_ascii=False, indent=1), encoding="utf-8")
            for refusal in intake.refused:
                self.log.warning("vaekit: %s: %s", dest.parent.name, refusal.text)
        elif record.exists():
            os.unlink(record)  # a newer, clean submission


__all__ = ["GatedExchangeCollect"]
