"""nbgrader's cell-metadata check with its JSON schema checked once per process instead of once per cell.

nbgrader's ``MetadataValidator.validate_cell`` calls ``jsonschema.validate(metadata, schema)`` for every nbgrader
cell, and ``jsonschema.validate`` first checks the schema itself against its meta-schema (~7 ms) each time:
~0.25 CPU-s of every graded homework notebook, as ``CheckCellMetadata`` runs twice in autograde (measured with
cProfile in a grading worker). The course's ``nbgrader_config.py`` imports this module, which gives
``nbgrader.nbgraderformat.common`` a ``jsonschema`` whose ``validate`` keeps one validator per schema (checked
once) and raises what ``jsonschema.validate`` raises (``best_match`` of the errors); everything else is
jsonschema's.
"""
from __future__ import annotations

import json
import threading

import jsonschema as _jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

from autograder.module_stand_in import replace_in

_lock = threading.Lock()
_validators: dict[str, object] = {}  # the schema as sorted JSON -> its checked validator


def validate(instance, schema, cls=None, *args, **kwargs) -> None:
    """``jsonschema.validate``, with the schema's check and validator made once per distinct schema."""
    if cls is not None or args or kwargs:
        return _jsonschema.validate(instance, schema, cls, *args, **kwargs)
    key = json.dumps(schema, sort_keys=True)
    with _lock:
        validator = _validators.get(key)
        if validator is None:
            checked = validator_for(schema)
            checked.check_schema(schema)  # a broken schema raises SchemaError here, every time, as jsonschema does
            validator = _validators[key] = checked(schema)
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


def install() -> None:
    from nbgrader.nbgraderformat import common

    replace_in(common, "jsonschema", validate=validate)


install()
