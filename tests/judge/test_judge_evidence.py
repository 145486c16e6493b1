"""What the judge accepts back from a collector (issue 15, item 3): each part declares its evidence arrays (dtype
kinds, at most so many values, text of at most so many characters), and ``load_checked_npz`` checks every
``.npy`` header against that declaration BEFORE reading the array's data, never unpickling. Text from the
student's process is cut (``clip_text``) before it reaches a diagnosis.

Fast: crafted archives in memory, no kernel. That the solution's and every canonical mistake's
collectors emit exactly what is declared, and nothing of theirs is refused, is checked in ``test_judge.py`` (every
in-process judging there goes through ``load_checked_npz``).
"""
from __future__ import annotations

import io
import warnings
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy

from autograder import judge
from autograder.judge import _framework as fw
from autograder.judge._framework import (Evidence, EvidenceMissing, Outcome, check_header, clip_text,
                                         load_checked_npz)

SAMPLING = judge.GRADE_CELLS["test_sampling"]
ENCODER = judge.GRADE_CELLS["test_encoder"]
GENERATION = judge.GRADE_CELLS["test_sample_images"]


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def member(header: dict, data: bytes, version=(1, 0)) -> bytes:
    """An .npy file with the header we choose (it may lie about the data that follows)."""
    out = io.BytesIO()
    writer = npy.write_array_header_1_0 if version == (1, 0) else npy.write_array_header_2_0  # writes the magic
    writer(out, header)
    out.write(data)
    return out.getvalue()


def archive(entries: list[tuple[str, bytes]], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicated names we write on purpose
        with zipfile.ZipFile(out, "w", compression=compression) as zf:
            for name, content in entries:
                zf.writestr(name, content)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------------------------
# declarations
def test_every_part_declares_bounded_evidence():
    for gid, part in judge.GRADE_CELLS.items():
        assert part.evidence, gid
        assert part.max_evidence_bytes <= 32 * 1024**2, (gid, part.max_evidence_bytes)
        for name, spec in part.evidence.items():
            assert spec.max_elements >= max(1, int(np.prod(spec.shape))), (gid, name)
            assert spec.kinds != fw.TEXT or 0 < spec.max_chars <= 2000, (gid, name)


def test_latent_bound_covers_every_assignment():
    """The bounds use LATENT_MAX for the latent size: every assignment's, and the judge's other sizes (+2, +3)."""
    for config in judge.ASSIGNMENTS.values():
        assert config.latent_dim + 3 <= fw.LATENT_MAX


def test_check_header_accepts_what_a_collector_writes():
    assert check_header(SAMPLING, "z", np.dtype("float32"), (20_000, 4)) is None
    assert check_header(SAMPLING, "z", np.dtype("float64"), (20_000, 4, 1)) is None  # plausibly wrong, still small
    assert check_header(SAMPLING, "z", np.dtype("bool"), (3,)) is None  # numeric kinds: the sub-check judges it
    assert check_header(SAMPLING, "error:z", np.dtype("<U300"), ()) is None
    assert check_header(SAMPLING, "_collector", np.dtype("bool"), ()) is None
    assert check_header(ENCODER, "layers", np.dtype("<U120"), (14,)) is None


@pytest.mark.parametrize("name,dtype,shape,fragment", [
    ("z", "float32", (20_000, 20_000), "tiene forma (20000, 20000)"),
    ("z", "float32", (1,) * 9, "dimensiones"),
    ("z", "O", (4,), "tipo object"),
    ("z", "complex128", (4,), "tipo complex128"),
    ("z", "<U5", (4,), "se esperaba numérico"),
    ("z", [("a", "f8"), ("b", "O")], (4,), "tipo"),
    ("z", "V16", (4,), "tipo"),
    ("error:z", "<U10000000", (), "10000000 caracteres"),
    ("error:z", "<U300", (1000,), "tiene forma (1000,)"),
    ("error:z", "float64", (), "se esperaba texto"),
    ("error:nada", "<U10", (), "no es un resultado"),
    ("nada", "float32", (2,), "no es un resultado"),
    ("z" * 5000, "float32", (2,), "no es un resultado"),
])
def test_check_header_refuses_with_a_reason(name, dtype, shape, fragment):
    reason = check_header(SAMPLING, name, np.dtype(dtype), shape)
    assert reason is not None and fragment in reason, reason
    assert len(reason) < 400


def test_check_header_refuses_long_doubles():
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("long double is float64 here")
    assert "bytes por valor" in check_header(SAMPLING, "z", np.dtype(np.longdouble), (4,))


# ----------------------------------------------------------------------------------------------------------------
# load_checked_npz on crafted archives
def test_an_honest_archive_loads_whole():
    z = np.random.default_rng(0).normal(size=(20_000, 4)).astype("float32")
    fortran = np.asfortranarray(np.arange(256 * 4, dtype="float64").reshape(256, 4))
    arrays, refused = load_checked_npz(npz(z=z, fresh_1=fortran, _collector=np.array(True),
                                           **{"error:fresh_2": np.array("ValueError: algo")}), SAMPLING)
    assert refused == []
    assert np.array_equal(arrays["z"], z) and np.array_equal(arrays["fresh_1"], fortran)
    assert str(arrays["error:fresh_2"]) == "ValueError: algo" and bool(arrays["_collector"])


def test_a_header_claiming_a_huge_shape_is_refused_unread():
    """The header claims 4·10⁹ values (32 GB): refused from the header, never allocated."""
    fake = member({"descr": "<f8", "fortran_order": False, "shape": (10**9, 4)}, b"\0" * 64)
    good = np.zeros((64, 4))
    arrays, refused = load_checked_npz(archive([("z.npy", fake), ("grad_mu.npy", member(
        {"descr": "<f8", "fortran_order": False, "shape": (64, 4)}, good.tobytes(), version=(2, 0)))]), SAMPLING)
    assert list(arrays) == ["grad_mu"]
    assert [r.name for r in refused] == ["z"] and "tiene forma (1000000000, 4)" in refused[0]


def test_object_and_pickled_members_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    arrays, refused = load_checked_npz(archive([("z.npy", buffer.getvalue())]), SAMPLING)
    assert arrays == {} and "tipo object" in refused[0]


def test_a_huge_text_itemsize_is_refused():
    """A 10⁸-character class name claimed by the header (400 MB), with 8 bytes of data behind it."""
    fake = member({"descr": "<U100000000", "fortran_order": False, "shape": ()}, b"A\0\0\0B\0\0\0")
    arrays, refused = load_checked_npz(archive([("type_name.npy", fake)]), GENERATION)
    assert arrays == {} and "100000000 caracteres" in refused[0]


def test_unknown_and_duplicated_names_are_refused():
    data = archive([("nada.npy", member({"descr": "<f8", "fortran_order": False, "shape": (2,)}, bytes(16))),
                    ("z.npy", member({"descr": "<f8", "fortran_order": False, "shape": (2,)}, bytes(16))),
                    ("z.npy", member({"descr": "<f8", "fortran_order": False, "shape": (2,)}, b"\1" * 16)),
                    ("notas.txt", b"hola")])
    arrays, refused = load_checked_npz(data, SAMPLING)
    assert list(arrays) == ["z"] and not arrays["z"].any()
    reasons = {r.name: str(r) for r in refused}
    assert "no es un resultado" in reasons["nada"]
    assert "repetido" in reasons["z"]
    assert "no es un array .npy" in reasons["notas.txt"]


def test_data_larger_or_smaller_than_the_header_says_is_refused():
    """A header that claims 4 values with 20 kB behind it (a bomb's shape), or 256·4 values with 8 bytes."""
    long = member({"descr": "<f8", "fortran_order": False, "shape": (4,)}, bytes(20_000))
    short = member({"descr": "<f8", "fortran_order": False, "shape": (256, 4)}, bytes(8))
    arrays, refused = load_checked_npz(archive([("fresh_1.npy", long), ("fresh_2.npy", short)]), SAMPLING)
    assert arrays == {}
    assert all("no tiene los datos que anuncia" in r for r in refused), refused


def test_a_deflate_bomb_is_refused_before_decompressing():
    """100 MB of zeros deflate to ~100 kB: the member's declared size is checked before a byte is inflated."""
    bomb = member({"descr": "<f8", "fortran_order": False, "shape": (4,)}, bytes(100 * 1024**2))
    data = archive([("z.npy", bomb)], compression=zipfile.ZIP_DEFLATED)
    assert len(data) < 1024**2
    arrays, refused = load_checked_npz(data, SAMPLING)
    assert arrays == {} and "bytes y se esperaban como mucho" in refused[0]


def test_too_many_members_or_no_archive_is_one_refusal():
    entries = [(f"x{i}.npy", b"") for i in range(200)]
    arrays, refused = load_checked_npz(archive(entries), SAMPLING)
    assert arrays == {} and len(refused) == 1 and refused[0].name is None and "entradas" in refused[0]
    arrays, refused = load_checked_npz(b"no soy un zip" * 100, SAMPLING)
    assert arrays == {} and len(refused) == 1 and "no es un .npz" in refused[0]


def test_a_malformed_header_is_refused():
    data = archive([("z.npy", b"\x93NUMPY\x01\x00\xff\x00{'descr': <f8}" + bytes(300)),
                    ("grad_z.npy", b"no es npy")])
    arrays, refused = load_checked_npz(data, SAMPLING)
    assert arrays == {} and all("ilegible" in r for r in refused), refused


def test_the_refusal_is_the_arrays_error():
    arrays, refused = load_checked_npz(npz(z=np.zeros((20_000, 20), "float32")), SAMPLING)
    ev = Evidence(arrays, None, refused)
    assert "z" not in ev and "tiene forma (20000, 20)" in ev.error("z")
    with pytest.raises(EvidenceMissing, match="el juez rechazó el resultado"):
        ev["z"]
    assert ev.refusals == [str(refused[0])]


# ----------------------------------------------------------------------------------------------------------------
# text from the student's process
def test_clip_text_bounds_and_flattens():
    assert clip_text("abc") == "abc"
    cut = clip_text("x" * 10_000_000)
    assert len(cut) == fw.TEXT_CHARS and cut.endswith("…")
    assert clip_text("a\nb\x1b[31mc\r", 50) == "a b [31mc "
    assert clip_text(None) == "None"


def test_every_student_text_is_cut():
    huge = "E" * 1_000_000
    ev = Evidence({"error:z": np.array(huge), "type_name": np.array(huge)}, failure=huge,
                  refused={"w": huge})
    assert len(ev.error("z")) == fw.TEXT_CHARS and len(ev.failure) == fw.TEXT_CHARS
    assert len(ev.error("w")) == fw.TEXT_CHARS and len(ev.text("type_name")) == 80
    with pytest.raises(EvidenceMissing) as missing:
        ev["z"]
    assert len(str(missing.value)) < 400
    assert len(Outcome("x", 1, False, huge).message) == fw.MESSAGE_CHARS


def test_request_failure_cuts_the_kernels_error():
    cell = {"outputs": [{"output_type": "error", "ename": "N" * 100_000, "evalue": "v" * 100_000}]}
    assert len(judge.request_failure(cell)) < 300
