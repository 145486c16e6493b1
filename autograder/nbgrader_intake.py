"""Plain ``nbgrader autograde`` reads a submission's other files through vaekit's intake gate too.

nbgrader's converters copy every non-notebook file of ``submitted/<student>/<A>/`` into ``autograded/`` with
``shutil.copy``, which follows links and blocks on a named pipe: a link to ``/proc/self/environ``, the gradebook or
a classmate's notebook would be copied (and handed to the kernel) with the TA's rights. The course's
``nbgrader_config.py`` imports this module, which gives ``nbgrader.converters.base`` a ``shutil`` whose ``copy``
reads through ``autograder.gate`` (regular files only, no link followed, size-capped) and skips, with a warning in
nbgrader's log, what the gate refuses. ``vaekit grade`` never needs it (it reads submissions through the gate
before nbgrader sees them); it is for nbgrader's own command line and Formgrader's autograde button.
"""
from __future__ import annotations

import logging
import os

from autograder import gate
from autograder.module_stand_in import replace_in

log = logging.getLogger("vaekit.intake")


def gated_copy(src, dst, *, follow_symlinks=True):
    """``shutil.copy`` for a submission's file: through the gate, never through a link at ``dst``."""
    if os.path.isdir(dst):
        dst = os.path.join(dst, os.path.basename(src))
    try:
        data = gate.read_file(src)
    except (gate.Refused, OSError) as why:
        log.warning("vaekit: archivo rechazado sin leerlo: %s (%s)", gate.shown(str(src)), why)
        return dst
    gate.write_tree(os.path.dirname(dst) or ".", {os.path.basename(dst): data})
    return dst


def install() -> None:
    from nbgrader.converters import base

    replace_in(base, "shutil", copy=gated_copy)


install()
