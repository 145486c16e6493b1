"""nbgrader's cell-metadata check (``CheckCellMetadata``) with its JSON schema checked once per process
(``autograder.nbgrader_metadata_check``, imported by the course's ``nbgrader_config.py``): the same verdicts and the
same errors as nbgrader's own ``jsonschema.validate``, on real nbgrader metadata, and the schema's own check done once
however many cells are checked.
"""
from __future__ import annotations

import copy

import jsonschema
import nbformat
import pytest
from jsonschema.validators import validator_for
from nbgrader.nbgraderformat import MetadataValidator, ValidationError, common
from nbgrader.preprocessors import CheckCellMetadata

from autograder import nbgrader_metadata_check
from autograder.notebooks import REPO_ROOT


def _release_notebook():
    return nbformat.read(str(REPO_ROOT / "release" / "vae_tarea" / "vae_tarea.ipynb"), as_version=4)


def _broken_metadata() -> list[dict]:
    good = next(c.metadata["nbgrader"] for c in _release_notebook().cells if c.metadata.get("nbgrader", {}).get("grade"))
    variants = []
    for change in ({"points": "dos"}, {"grade": "sí"}, {"grade_id": 7}, {"locked": None}, {"points": -1}, {"grade_id": "dos palabras"}):
        bad = copy.deepcopy(dict(good))
        bad.update(change)
        variants.append(bad)
    missing = copy.deepcopy(dict(good))
    del missing["solution"]  # required
    return variants + [missing]


def test_the_course_config_gives_nbgraders_check_the_cached_validate():
    from autograder.settings import load_config

    load_config(REPO_ROOT)  # runs nbgrader_config.py, as every nbgrader command and vaekit worker does
    assert common.jsonschema.validate is nbgrader_metadata_check.validate
    assert common.jsonschema.ValidationError is jsonschema.ValidationError  # the rest is jsonschema's


def test_verdicts_and_errors_are_jsonschemas_own():
    schema = MetadataValidator().schema
    checked = 0
    for metadata in _broken_metadata() + [c.metadata["nbgrader"] for c in _release_notebook().cells
                                          if "nbgrader" in c.metadata]:
        expected = None
        try:
            jsonschema.validate(metadata, schema)
        except jsonschema.ValidationError as error:
            expected = (error.message, list(error.absolute_path), error.validator)
        got = None
        try:
            nbgrader_metadata_check.validate(metadata, schema)
        except jsonschema.ValidationError as error:
            got = (error.message, list(error.absolute_path), error.validator)
        assert got == expected, metadata
        checked += expected is not None
    assert checked == len(_broken_metadata())  # every broken variant is refused, every release cell accepted
    with pytest.raises(jsonschema.SchemaError):  # a broken schema is refused as jsonschema refuses it
        nbgrader_metadata_check.validate({}, {"type": "no-such-type"})


def test_nbgraders_check_refuses_corrupted_metadata_and_checks_the_schema_once(monkeypatch):
    nbgrader_metadata_check.install()
    nb = _release_notebook()
    calls = []
    checker = validator_for(MetadataValidator().schema)  # nbgrader's schema names draft 4
    real = checker.check_schema.__func__
    monkeypatch.setattr(checker, "check_schema",
                        classmethod(lambda cls, schema, **kw: (calls.append(1), real(cls, schema, **kw))[1]))
    nbgrader_metadata_check._validators.clear()
    for _ in range(3):
        CheckCellMetadata().preprocess(nb, {})
    cells = sum("nbgrader" in c.metadata for c in nb.cells)
    assert cells > 10 and len(calls) == 1  # nbgrader's own jsonschema.validate: 3 * cells checks
    grade_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    grade_cell.metadata["nbgrader"]["points"] = "dos"
    with pytest.raises(ValidationError, match="nbgrader metadata may be corrupted"):
        CheckCellMetadata().preprocess(nb, {})
