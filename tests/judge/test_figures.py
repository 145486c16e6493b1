"""The judge's figures (``autograder.judge.figures``), in-process on trusted code (``judge_in_process``: the real
collector and judge, no kernel): the solution's figures match the reference, each canonical mistake's differ from
it (decoded PNG, panel against panel), every figure is a small PNG with a Spanish alt text, the bytes are the same
on a second run (re-grading gives identical verdicts), and evidence that cannot be drawn gives no figure."""
from __future__ import annotations

import base64
import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder import judge  # noqa: E402
from autograder import notebooks as nbs  # noqa: E402
from autograder.authoring import mistakes as mk  # noqa: E402
from autograder.judge import data, figures  # noqa: E402
from autograder.judge._framework import Evidence  # noqa: E402

PRELUDE = "import numpy as np\nimport keras\nfrom keras import layers, ops\nimport tensorflow as tf\n"
CELLS = ("sampling", "kl_divergence", "encoder", "decoder", "vae_model", "sample_images", "interpolate",
         "cond_encoder", "cond_decoder", "cvae_model", "sample_class")
# part -> (grade cell, assignment, a canonical mistake of that part, whether the correct panels are pixel-identical)
PARTS = {
    "sample_images": ("test_sample_images", "vae_clase", "samples_from_encoded_data", True),
    "interpolate": ("test_interpolate", "vae_clase", "interpolation_pixel_blend", True),
    "kl": ("test_kl_divergence", "vae_clase", "kl_sign_flipped", True),
    "sampling": ("test_sampling", "vae_clase", "std_is_exp_logvar", False),  # sample statistics: close, not equal
    "decoder": ("test_decoder", "vae_tarea", "decoder_tanh_output", False),  # another sigmoid decoder: same range
    "sample_class": ("test_sample_class", "vae_condicional", "wrong_class_index", True),
}
GIVEN = ("given_sampling", "given_kl_divergence")  # the conditional notebook's given cells
_NS: dict = {}


def namespace(assignment: str, mistake: str | None = None) -> dict:
    """The solution cells executed like a filled notebook (``mistake`` planted), with ``x_test`` and an encoder."""
    key = (assignment, mistake)
    if key not in _NS:
        cells = dict(nbs.solutions_of(assignment))
        if mistake:
            m = mk.by_id(mistake)
            cells[m.grade_id] = cells[m.grade_id].replace(m.find, m.replace)
        source = nbs.cells_by_grade_id(nbs.read(nbs.source_path(assignment)))
        cells = {**{gid: source[gid].source for gid in GIVEN if gid in source}, **cells}
        ns: dict = {}
        exec(PRELUDE + f"LATENT_DIM = {judge.ASSIGNMENTS[assignment].latent_dim}\n", ns)
        ns["x_test"] = data.images("mnist" if assignment == "vae_clase" else "fashion_mnist", "test", 0, 2000)
        for gid in (*GIVEN, *CELLS):
            if gid in cells:
                exec(compile(cells[gid], f"<{assignment}:{gid}>", "exec"), ns)
        if "build_encoder" in ns:
            ns["encoder"] = ns["build_encoder"](10)
        _NS[key] = ns
    return _NS[key]


def figures_of(part: str, mistake: str | None = None) -> list[dict]:
    grade_id, assignment, _, _ = PARTS[part]
    verdict = judge.judge_in_process(grade_id, namespace(assignment, mistake), assignment, 2.0)
    return verdict.figures


def decoded(figure: dict) -> np.ndarray:
    from PIL import Image

    png = base64.b64decode(figure["png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def same_drawing(a, b) -> bool:
    """Two panels show the same drawing: under 3 % of pixels differ visibly at the best ±1 px alignment (the two
    axes sit at different sub-pixel offsets, so anti-aliased edges and resampled rows may move by a pixel)."""
    import numpy as np

    h, w = a.shape[0] - 2, a.shape[1] - 2
    best = min((np.abs(a[1:1 + h, 1:1 + w] - b[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]).max(axis=-1) > 40).mean()
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    return best < 0.03


def panels(figure: dict) -> tuple[np.ndarray, np.ndarray]:
    """The student's and the reference's panels, cropped from the decoded PNG (same size)."""
    image = decoded(figure)
    (a0, a1, a2, a3), (b0, b1, b2, b3) = figure["panels"]
    w, h = min(a2 - a0, b2 - b0) - 6, min(a3 - a1, b3 - b1) - 6  # inside the frame lines
    return (image[a1 + 3:a1 + 3 + h, a0 + 3:a0 + 3 + w].astype(int),
            image[b1 + 3:b1 + 3 + h, b0 + 3:b0 + 3 + w].astype(int))


@pytest.mark.parametrize("part", sorted(PARTS))
def test_the_solution_figures_match_the_reference(part):
    found = figures_of(part)
    assert found, part
    for figure in found:
        image = decoded(figure)
        assert 80 <= image.shape[0] <= 250 and 250 <= image.shape[1] <= 500, image.shape
        assert len(base64.b64decode(figure["png"])) < 16_000  # a few KB each
        assert figure["matches"] is True, (part, figure["alt"])
        assert len(figure["alt"]) > 80 and "referencia" in figure["alt"].lower() or "forma cerrada" in figure["alt"]
        mine, reference = panels(figure)
        assert mine.std() > 1 and reference.std() > 1  # both panels have something drawn
    if PARTS[part][3]:
        mine, reference = panels(found[0])
        assert same_drawing(mine, reference), part  # computed as the reference is


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_mistake_figure_differs_from_the_reference(part):
    _, _, mistake, _ = PARTS[part]
    found = figures_of(part, mistake)
    assert found
    for figure in found:
        assert figure["matches"] is False, (mistake, figure["alt"])
        assert "No coinciden" in figure["alt"] or "no siguen" in figure["alt"] or "no es" in figure["alt"]
        mine, reference = panels(figure)
        assert np.abs(mine - reference).mean() > 2.0, mistake  # visibly different panels


def test_figures_are_the_same_bytes_on_a_second_run():
    first = figures_of("kl", "kl_sign_flipped")
    _NS.clear()
    assert figures_of("kl", "kl_sign_flipped") == first


def test_no_figure_without_drawable_evidence():
    for part, (grade_id, assignment, _, _) in PARTS.items():
        config = judge.config_for(assignment, ".")
        probe = judge.GRADE_CELLS[grade_id].make_probe(config)
        assert figures.for_part(grade_id, Evidence(failure="tu código no terminó a tiempo"), probe, config) == []
        junk = Evidence({"kl": np.array(["x"]), "z": np.zeros((3,)), "frames": np.zeros((5, 3)),
                         "small": np.zeros(7), "prior": np.zeros((2, 2)), "images": np.zeros(3)})
        assert figures.for_part(grade_id, junk, probe, config) == []
    assert figures.for_part("test_encoder", Evidence({}), {}, {}) == []  # parts without a figure
