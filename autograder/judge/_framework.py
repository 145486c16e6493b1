"""Shared machinery of the judge: evidence in, verdict out.

A part (``Part``) has a probe (seeded inputs the judge sends to the kernel), a collector in ``kernel_side`` that
runs the student's objects on them, and ``subchecks(evidence, probe, config)``: weighted sub-checks over the raw
evidence. Each sub-check returns ``None``/``True`` when it passes or a Spanish diagnosis (a ``str``) naming the
likely mistake; ``False`` or an exception means its default hint. Every number is recomputed here from the
evidence with ``vae_lib``; nothing the student's process says about itself (a loss, a flag) is trusted.

The student's process can write ANY arrays: a part declares its evidence (``Part.evidence``: dtype kinds, at most
so many values, text of at most so many characters), ``load_checked_npz`` checks each ``.npy`` header against it
before loading anything, and a sub-check tests the property it names on what the judge recomputes (independent
draws, not merely different ones; outputs that behave as a function of the judge's inputs), so that made-up
arrays pass only where they are the answer. Text from that process is cut with ``clip_text`` before it reaches a
diagnosis (``Outcome.message`` is capped as well).
"""
from __future__ import annotations

import fnmatch
import io
import math
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

import numpy as np
from vae_runtime.testing import quiet

TEXT_CHARS = 300  # any text that came from the student's process is cut to this many characters
MESSAGE_CHARS = 1000  # a sub-check's diagnosis (which may quote such text), at most


def clip_text(s, n: int = TEXT_CHARS) -> str:
    """``s`` as one printable line of at most ``n`` characters (control characters become spaces; "…" marks a cut).
    Every string from the student's process (error texts, class names, dict keys) passes here before it can reach a
    diagnosis, a note, a result or a page."""
    text = str(s)
    if len(text) > 4 * n:  # never scan a huge string whole
        text = text[: 4 * n]
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= n else text[: max(n - 1, 0)] + "…"


@dataclass
class SubCheck:
    label: str  # what is checked, in Spanish
    weight: float
    run: Callable[[], object]  # None/True = pass; str = diagnosis; False/exception = `hint`
    hint: str  # default Spanish diagnosis naming the likely mistake


@dataclass
class Outcome:
    label: str
    weight: float
    passed: bool
    message: str = ""

    def __post_init__(self):  # the last line of defence: a diagnosis never grows with what the student sent
        self.message = clip_text(self.message, MESSAGE_CHARS)


@dataclass
class Verdict:
    """The judge's decision on one grade cell."""
    grade_id: str
    title: str
    points: float
    score: float
    outcomes: list[Outcome]
    device: str
    notes: list[str] = field(default_factory=list)  # informative lines (e.g. the trained model), never scored
    figures: list[dict] = field(default_factory=list)  # small PNGs for the feedback page (judge/figures.py)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def report(self) -> str:
        lines = [f"Comprobación: {self.title} (juez de vaekit, fuera de tu cuaderno; dispositivo: {self.device})"]
        lines += [f"  nota: {n}" for n in self.notes]
        for o in self.outcomes:
            lines.append(f"  ✔ {o.label}" if o.passed else f"  ✘ {o.label} — {o.message}")
        lines.append(f"Puntuación: {self.score:g} / {self.points:g}")
        return "\n".join(lines)

    def diagnosis(self) -> str:
        return "; ".join(o.message for o in self.failures)

    def as_dict(self) -> dict:
        return asdict(self)


class EvidenceMissing(AssertionError):
    pass


class Evidence:
    """The arrays a collector saved; ``ev["name"]`` raises EvidenceMissing with the student's error when absent.

    ``refused``: the arrays the judge would not load (``load_checked_npz``'s reasons, or name -> reason); a refused
    array is absent and its reason is its error. Every text here is cut with ``clip_text``."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, failure: str | None = None,
                 refused: Mapping[str, str] | list | None = None):
        self.arrays = dict(arrays or {})
        self.failure = None if failure is None else clip_text(failure)  # why there is no evidence at all
        if isinstance(refused, Mapping):
            pairs = refused.items()
        else:
            pairs = [(getattr(r, "name", None), r) for r in (refused or [])]
        self.refused = {name: clip_text(reason) for name, reason in pairs if name is not None}
        self.refusals = [clip_text(reason) for _, reason in pairs]  # every reason, also those of no one array

    def error(self, name: str) -> str | None:
        if name in self.refused:
            return self.refused[name]
        for key in (f"error:{name}", "error:_collector"):
            if key in self.arrays:
                value = np.asarray(self.arrays[key])
                return clip_text(value.reshape(-1)[0] if value.size == 1 else value)
        return self.failure

    def text(self, name: str, n: int = 80) -> str:
        """A text evidence (a type name…) to quote in a diagnosis, cut to ``n`` characters."""
        value = np.asarray(self[name])
        return clip_text(value.reshape(-1)[0] if value.size == 1 else value, n)

    def __contains__(self, name: str) -> bool:
        return name in self.arrays

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.arrays:
            return self.arrays[name]
        if name in self.refused:
            raise EvidenceMissing(f"el juez rechazó el resultado: {self.refused[name]}")
        raise EvidenceMissing(f"tu código falló: {self.error(name) or 'no devolvió nada'}")

    def get(self, name: str, default=None):
        return self.arrays.get(name, default)


_DEVICE: str | None = None


def device() -> str:
    """The device the judge computes on ("GPU: …" when TensorFlow sees one, with memory growth on; else "CPU")."""
    global _DEVICE
    if _DEVICE is None:
        with quiet():
            import vae_lib

            vae_lib.configure_devices()
            _DEVICE = vae_lib.device_summary()
    return _DEVICE


def run_subchecks(subchecks: list[SubCheck]) -> list[Outcome]:
    outcomes = []
    for sub in subchecks:
        try:
            with quiet():
                result = sub.run()
        except AssertionError as err:
            result = f"{sub.hint} ({err})" if isinstance(err, EvidenceMissing) else (str(err) or False)
        except Exception as err:  # malformed evidence (wrong dtype, ragged…) fails the sub-check, not the batch
            detail = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            result = f"{sub.hint} (resultado no válido: {detail[:200]})"
        if result is None or result is True:
            outcomes.append(Outcome(sub.label, sub.weight, True))
        else:
            outcomes.append(Outcome(sub.label, sub.weight, False, sub.hint if result is False else str(result)))
    return outcomes


NOT_MEASURED = ("modelo entrenado (informativo, no puntúa): no se mide, porque al calificar no se entrena y la "
                "entrega no trae los pesos del entrenamiento completo")


def measures_trained(config: dict) -> np.ndarray:
    """The probe flag that asks a collector for the student's trained model: only with the full run's weights."""
    return np.array(config.get("trained") == "full")


def model_problem(ev, builder: str, output: str, called_with: str) -> str | None:
    """None when ``builder`` returned a keras.Model (evidence ``is_model``) that also ran on the judge's inputs
    (evidence ``output`` present: a flag alone is not evidence); else a diagnosis. Shared by the model parts."""
    if not bool(ev["is_model"]):
        return f"{builder} no devuelve un keras.Model"
    if output not in ev:
        return f"el modelo de {builder} no se pudo llamar con {called_with} ({ev.error(output)})"
    return None


def verdict(grade_id: str, title: str, subchecks: list[SubCheck], points: float, notes=()) -> Verdict:
    """Run the sub-checks; the score is ``points`` times the passed weight share, rounded to 3 decimals."""
    outcomes = run_subchecks(subchecks)
    total = sum(o.weight for o in outcomes)
    fraction = sum(o.weight for o in outcomes if o.passed) / total if total else 0.0
    score = min(round(float(points) * fraction, 3), float(points))
    return Verdict(grade_id, title, float(points), score, outcomes, device(),
                   [clip_text(n, MESSAGE_CHARS) for n in notes])


def close(a, b, rtol=0.05, atol=1e-6) -> bool:
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def floats(a) -> np.ndarray:
    """Evidence as a float64 array (raises on non-numeric evidence)."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"se esperaba un array numérico, no {a.dtype}")
    return a.astype("float64")


# ----------------------------------------------------------------------------------------------------------------
# declared evidence: what each collector may send back, checked on the .npy header before anything is loaded
NUMERIC, FLAG, TEXT = "biuf", "b", "U"  # numpy dtype kinds (bool, int, uint, float; bool; unicode text)
LATENT_MAX = 16  # the largest latent size any probe uses (an assignment's latent_dim + 3, see judge.ASSIGNMENTS)
NUMERIC_ITEMSIZE = 8  # float64 / int64 at most (no float128, no complex)
HEADER_BYTES = 1024  # per array: its .npy header and its zip entries, at most (np.savez writes ~200 bytes)


@dataclass(frozen=True)
class Spec:
    """One evidence array: dtype kinds allowed, at most ``max_elements`` values in at most ``max_ndim``
    dimensions; text at most ``max_chars`` characters per item. ``shape`` is what a correct function gives on the
    probe (quoted in the reason when an array is refused). ``optional``: a collector may leave it out."""
    kinds: str
    shape: tuple
    max_elements: int
    max_ndim: int
    max_chars: int = 0
    optional: bool = False

    @property
    def max_bytes(self) -> int:
        itemsize = 4 * self.max_chars if self.kinds == TEXT else NUMERIC_ITEMSIZE
        return self.max_elements * itemsize


def array(*shape: int, headroom: int = 4, at_most: int | None = None, kinds: str = NUMERIC,
          optional: bool = False) -> Spec:
    """A numeric array whose correct shape on the probe is ``shape``; a plausibly wrong function may return up to
    ``headroom`` times as many values (a stacked output, an extra axis), or ``at_most`` values when given, in up to
    two more dimensions."""
    count = at_most if at_most is not None else headroom * max(math.prod(shape), 1)
    return Spec(kinds, tuple(shape), count, len(shape) + 2, optional=optional)


def scalar(kinds: str = NUMERIC) -> Spec:
    """One value (a flag, a count, a mean): shape (), a few values tolerated."""
    return Spec(kinds, (), 4, 2)


def text(count: int = 1, chars: int = 2000) -> Spec:
    """Text from the student's process (a type name, layer classes, dict keys): ``count`` items at most."""
    return Spec(TEXT, () if count == 1 else (count,), count, 1, chars)


ERROR = text(1, 2000)  # ``error:<name>``: the failing call's one-line message (the collector cuts it to 300)
COMMON = {"_collector": scalar(FLAG)}  # every collector records that it ran to the end (or ``error:_collector``)


def _declared(part: "Part", name: str) -> Spec | None:
    specs = {**COMMON, **part.evidence}
    if name in specs:
        return specs[name]
    if name.startswith("error:") and name[len("error:"):] in specs:
        return ERROR
    for pattern, spec in specs.items():  # generated names, declared as a small pattern ("log_*")
        if "*" in pattern and fnmatch.fnmatchcase(name, pattern):
            return spec
    return None


def check_header(part: "Part", name: str, dtype, shape: tuple) -> str | None:
    """None when ``part`` declares an array ``name`` that may have this dtype and shape; else a short Spanish reason
    (from the ``.npy`` header alone: nothing of the array needs to be loaded)."""
    spec = _declared(part, name)
    problem = "no es un resultado que el juez espere de esta parte" if spec is None else _problem(spec, dtype, shape)
    return None if problem is None else f"«{clip_text(name, 60)}» {problem}"


def _problem(spec: Spec, dtype, shape) -> str | None:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return "no tiene un tipo de NumPy"
    if dtype.kind not in spec.kinds or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        return f"es de tipo {clip_text(dtype, 40)} y se esperaba {_KIND_NAMES.get(spec.kinds, spec.kinds)}"
    if dtype.kind == "U" and dtype.itemsize // 4 > spec.max_chars:
        return f"tiene textos de {dtype.itemsize // 4} caracteres y se esperaban como mucho {spec.max_chars}"
    if dtype.kind != "U" and dtype.itemsize > NUMERIC_ITEMSIZE:
        return f"es de tipo {dtype} ({dtype.itemsize} bytes por valor) y se esperaban como mucho {NUMERIC_ITEMSIZE}"
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        return "declara una forma no válida"
    count = math.prod(shape)
    if len(shape) > spec.max_ndim or count > spec.max_elements:
        expected = "un valor" if spec.shape == () else f"forma {spec.shape}"
        return (f"tiene forma {clip_text(shape, 80)} ({count} valores) y se esperaba como mucho "
                f"{spec.max_elements} valores en {spec.max_ndim} dimensiones (un resultado correcto: {expected})")
    return None


_KIND_NAMES = {NUMERIC: "numérico", FLAG: "booleano", TEXT: "texto"}


class Refusal(str):
    """A refused array's reason (a ``str``), with the array's ``name`` (None for the archive as a whole)."""

    def __new__(cls, reason: str, name: str | None = None):
        self = super().__new__(cls, reason)
        self.name = name
        return self


def load_checked_npz(data: bytes, part: "Part") -> tuple[dict[str, np.ndarray], list[Refusal]]:
    """(accepted arrays, refusals) of an ``.npz`` file's bytes. Each member's ``.npy`` header is read and checked
    with ``check_header`` before its data; the data is then read as exactly the bytes the header announces (the
    member's size must match), never unpickled; at most ``part.max_evidence_bytes`` in all. A member refused is
    skipped (its refusal names it); a file that is not an archive, or has too many members, is one refusal of no
    name."""
    arrays: dict[str, np.ndarray] = {}
    refused: list[Refusal] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        return {}, [Refusal(f"el archivo de resultados no es un .npz ({type(error).__name__})")]
    with archive:
        members = archive.infolist()
        limit = 2 * (len(part.evidence) + len(COMMON)) + 8  # every array and its error, and a few more
        if len(members) > limit:
            return {}, [Refusal(f"el archivo de resultados tiene {len(members)} entradas (como mucho {limit})")]
        budget = part.max_evidence_bytes
        for info in members:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            try:
                value = _read_member(archive, info, part, name, budget, duplicate=name in arrays or any(
                    r.name == name for r in refused))
            except _Refuse as why:
                refused.append(Refusal(f"«{clip_text(name, 60)}» {why}", name))
            except Exception as error:  # noqa: BLE001 (a malformed member is the student's process's doing)
                refused.append(Refusal(f"«{clip_text(name, 60)}» es ilegible ({type(error).__name__})", name))
            else:
                arrays[name] = value
                budget -= value.nbytes
    return arrays, refused


class _Refuse(Exception):
    pass


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, part: "Part", name: str, budget: int,
                 duplicate: bool) -> np.ndarray:
    """One member's array, checked on its header first; raises ``_Refuse`` with the reason (after the name)."""
    from numpy.lib import format as npy

    if not info.filename.endswith(".npy") or info.is_dir():
        raise _Refuse("no es un array .npy")
    if duplicate:
        raise _Refuse("está repetido")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refuse("usa una compresión no admitida")
    spec = _declared(part, name)
    if spec is None:
        raise _Refuse("no es un resultado que el juez espere de esta parte")
    if info.file_size > spec.max_bytes + HEADER_BYTES:
        raise _Refuse(f"ocupa {info.file_size} bytes y se esperaban como mucho {spec.max_bytes}")
    with archive.open(info) as member:  # reads at most info.file_size bytes, also of a deflated member
        version = npy.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise _Refuse(f"tiene una versión .npy desconocida {version}")
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, fortran_order, dtype = read_header(member, max_header_size=HEADER_BYTES)
        problem = _problem(spec, dtype, shape)
        if problem is not None:
            raise _Refuse(problem)
        nbytes = math.prod(shape) * dtype.itemsize
        if info.file_size != member.tell() + nbytes:
            raise _Refuse(f"no tiene los datos que anuncia su cabecera ({info.file_size - member.tell()} bytes "
                          f"para {nbytes})")
        if nbytes > budget:
            raise _Refuse("supera lo que el juez acepta de esta parte en total")
        raw = member.read(nbytes)
    if len(raw) != nbytes:
        raise _Refuse("tiene los datos incompletos")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran_order else "C").copy()


@dataclass(frozen=True)
class Part:
    """A graded part, declared once: its nbgrader ``grade_id`` (also the key of its collector in
    ``kernel_side.COLLECTORS``, of its figure in ``figures.MAKERS`` and the name of its judge module, without
    ``test_``), its Spanish ``title``, how to make its probe and judge its evidence.

    ``evidence``: every array its collector emits (name -> ``Spec``; ``error:<name>`` is implied for each, and
    ``_collector`` for every part); anything else is refused before it is loaded."""
    grade_id: str
    title: str
    make_probe: Callable[[dict], dict[str, np.ndarray]]  # config -> arrays sent to the kernel
    subchecks: Callable[[Evidence, dict, dict], list[SubCheck]]  # (evidence, probe, config) -> sub-checks
    notes: Callable[[Evidence, dict, dict], list[str]] = lambda ev, probe, config: []
    evidence: Mapping[str, Spec] = field(default_factory=dict, compare=False)

    @property
    def max_evidence_bytes(self) -> int:
        """The evidence file's size at most: every declared array and its error at their largest, with headers."""
        names = {**COMMON, **self.evidence}
        return sum(spec.max_bytes + ERROR.max_bytes + 2 * HEADER_BYTES for spec in names.values())

    def judge(self, grade_id: str, evidence: Evidence, probe: dict, config: dict, points: float) -> Verdict:
        from autograder.judge import figures

        result = verdict(grade_id, self.title, self.subchecks(evidence, probe, config), points,
                         self.notes(evidence, probe, config))
        result.figures = figures.for_part(self.grade_id, evidence, probe, config)  # never changes the score
        return result
