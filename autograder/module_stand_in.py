"""A module that a library imported, replaced in that library by a stand-in: the same module with some attributes
replaced, every other one the module's own (``nbgrader_intake``: nbgrader's converters get a ``shutil`` whose
``copy`` reads through the gate; ``nbgrader_metadata_check``: nbgrader's metadata validator gets a ``jsonschema``
whose ``validate`` checks each schema once).
"""
from __future__ import annotations

import types


class StandIn(types.ModuleType):
    """``module`` with ``replacements``; any other attribute is looked up on ``module``."""

    def __init__(self, module: types.ModuleType, **replacements):
        super().__init__(module.__name__)
        self._module = module
        self.__dict__.update(replacements)

    def __getattr__(self, name):
        return getattr(self._module, name)


def replace_in(owner: types.ModuleType, name: str, **replacements) -> None:
    """``owner.<name>`` (a module ``owner`` imported) becomes its ``StandIn`` with ``replacements``, once."""
    current = getattr(owner, name)
    if not isinstance(current, StandIn):
        setattr(owner, name, StandIn(current, **replacements))
