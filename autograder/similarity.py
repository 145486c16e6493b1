"""Similarity of the students' answers to one assignment, for the TA: ``vaekit similarity A`` →
``report/<A>/similitud.html``.

What is compared: per submission (``submitted/<student>/<A>/<A>.ipynb``), what the student wrote: the code of its
answer cells (nbgrader ``solution: true``) and of code cells it added, in notebook order. The release notebook's
code (the stubs, the given lines of the answer cells, every given cell) is boilerplate, removed before comparing.
No kernel runs and nothing is graded: the submitted notebooks are read as JSON.

How: `copydetect <https://pypi.org/project/copydetect/>`_ (winnowing, Schleimer et al. 2003): each answer is
tokenised with Pygments, names become ``V``/``F``, comments and strings are dropped, and k-grams of k = 25 tokens
are winnowed (window 6). A pair's score is the larger of copydetect's two shares (the share of one's tokens found
in the other), in [0, 1]; renaming variables and reordering functions or cells leaves it unchanged. Chosen over
Dolos (``@dodona/dolos-lib``) by measured separation on the example submissions (see docs/architecture.md).

The instructor's solution (``source/<A>/<A>.ipynb``) is shared by many students (copied from the slides), so the
submissions at or above the threshold against it are one *reference group*, shown once, not as N² pairs; two of
them are a pair only when they also share code that is not the solution's (compared with the solution as extra
boilerplate). Any other set of three or more submissions linked by pairs above the threshold is one group too,
each member shown against its most central member. Every other pair above the threshold is listed, highest
first, side by side with the matched regions highlighted. Student text is hostile: everything is escaped.
"""
from __future__ import annotations

import copy
import html
import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import gate
from autograder.course import Course
from autograder.errors import VaekitError
from autograder.notebooks import is_solution_cell, strip_solution_markers

THRESHOLD = 0.5  # a pair's score from which the TA should look (independent solutions scored ≤ 0.22 here)
K, WINDOW = 25, 6  # copydetect's defaults (noise threshold 25 tokens, guarantee threshold 30)
MIN_OWN_TOKENS = 2 * K  # less code of one's own than this (a few k-grams where stubs meet) is "no answer"
MIN_SHARED_TOKENS = 100  # two members of the reference group share this much code of their own (~3 lines): one
# identical wrong line (a common mistake) is not enough
REFERENCE = "solución de referencia"
MAX_NOTEBOOK_BYTES = 32 * 1024**2  # a submitted notebook larger than this is not read


@dataclass
class Answer:
    """What one student wrote: ``text`` (each cell under a ``# ── <cell> ──`` line) and each cell's span in it."""
    student: str
    text: str
    spans: list[tuple[str, int, int]]  # (cell id, start, end) in ``text``


@dataclass
class Pair:
    a: str
    b: str
    score: float  # max(share_a, share_b)
    share_a: float  # share of a's tokens found in b
    share_b: float
    tokens: int  # tokens of a in matched regions
    slices_a: list[tuple[int, int]]  # matched regions, character offsets in a's text
    slices_b: list[tuple[int, int]]
    own_code: bool = False  # a pair of the reference group: what they share beyond the solution


@dataclass
class Group:
    members: list[str]  # sorted by score, highest first
    centre: str  # REFERENCE for the reference group, else its most central member
    scores: dict[str, float]  # member -> score against the centre
    pairs: dict[str, Pair] = field(default_factory=dict)  # member -> its pair with the centre
    differing: dict[str, list[str]] = field(default_factory=dict)  # reference group: cells not as in the solution


@dataclass
class SimilarityReport:
    assignment: str
    threshold: float
    compared: list[str]
    empty: list[str]  # nothing of their own (the release as is)
    unreadable: dict[str, str]  # student -> why
    pairs: list[Pair]
    groups: list[Group]
    answers: dict[str, Answer]

    @property
    def reference_group(self) -> Group | None:
        return next((g for g in self.groups if g.centre == REFERENCE), None)

    def pair(self, a: str, b: str) -> Pair | None:
        """The listed pair of ``a`` and ``b`` (either order), or None."""
        return next((p for p in self.pairs if {p.a, p.b} == {a, b}), None)


# --------------------------------------------------------------------------------------------------------------
def _cell_id(cell, index: int) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"celda añadida {index + 1}"


def answer_of(nb, release, student: str) -> Answer:
    """The code ``student`` wrote: answer cells and added code cells (not identical to a release cell)."""
    given = {c.source.strip() for c in release.cells if c.cell_type == "code"}
    text, spans = "", []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if not (is_solution_cell(cell) or (not nbg and cell.source.strip() not in given)):
            continue
        name = _cell_id(cell, index)
        header = f"# ── {name} ──\n"
        start = len(text) + len(header)
        text += header + cell.source.rstrip() + "\n\n"
        spans.append((name, start, start + len(cell.source.rstrip())))
    return Answer(student, text, spans)


def boilerplate_texts(release) -> list[str]:
    """The release's code: each code cell alone, and its answer cells as ``answer_of`` lays out an untouched copy
    (so that k-grams across two stubs are boilerplate too)."""
    return [c.source for c in release.cells if c.cell_type == "code"] + \
        [answer_of(release, release, "release").text]


def reference_answer(source) -> Answer:
    """The instructor's solution as if a student had written it (solution markers stripped)."""
    nb = nbformat.from_dict(copy.deepcopy(dict(source)))
    for cell in nb.cells:
        if is_solution_cell(cell):
            cell.source = strip_solution_markers(cell.source)
    return answer_of(nb, nb, REFERENCE)  # its own cells are "given": only the solution cells count


def _fingerprint(name: str, text: str, boilerplate: set[int], window: int = WINDOW):
    """copydetect's fingerprint of ``text`` less the ``boilerplate`` hashes (removed here: copydetect's own removal
    assumes unique hashes, which repeated code breaks); boilerplate itself keeps every k-gram (window 1)."""
    from copydetect import CodeFingerprint
    from copydetect.utils import get_token_coverage

    fp = CodeFingerprint(f"{name}.py", K, window, fp=io.StringIO(text), language="python")
    if boilerplate:
        fp.hashes = {h for h in fp.hashes if int(h) not in boilerplate}
        fp.hash_idx = {h: i for h, i in fp.hash_idx.items() if int(h) not in boilerplate}
        fp.token_coverage = get_token_coverage(fp.hash_idx, K, len(fp.filtered_code))
    return fp


def _hashes(name: str, text: str) -> set[int]:
    return {int(h) for h in _fingerprint(name, text, set(), window=1).hashes}


def _compare(a, b, fa, fb, own_code: bool = False) -> Pair:
    from copydetect import compare_files

    tokens, (share_a, share_b), (slices_a, slices_b) = compare_files(fa, fb)
    as_list = lambda s: [(int(x), int(y)) for x, y in zip(*s)] if len(s) and len(s[0]) else []  # noqa: E731
    return Pair(a, b, float(max(share_a, share_b)), float(share_a), float(share_b), int(tokens),
                as_list(slices_a), as_list(slices_b), own_code)


def _components(nodes: list[str], edges: list[Pair]) -> list[list[str]]:
    parent = {n: n for n in nodes}

    def root(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for p in edges:
        parent[root(p.a)] = root(p.b)
    groups: dict[str, list[str]] = {}
    for n in nodes:
        groups.setdefault(root(n), []).append(n)
    return [sorted(g) for g in groups.values()]


def _normalised(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


def _cells(answer: Answer) -> dict[str, str]:
    return {name: answer.text[start:end] for name, start, end in answer.spans}


def compare(answers: dict[str, Answer], boilerplate: list[str], reference: Answer | None = None,
            threshold: float = THRESHOLD) -> tuple[list[Pair], list[Group], list[str]]:
    """(pairs to show, groups, students with no code of their own) for ``answers``; see the module doc."""
    base = set().union(*(_hashes("boilerplate", text) for text in boilerplate))
    prints = {s: _fingerprint(s, a.text, base) for s, a in answers.items()}
    empty = sorted(s for s, f in prints.items() if f.token_coverage < MIN_OWN_TOKENS)
    students = sorted(s for s in prints if s not in empty)
    all_pairs = {(a, b): _compare(a, b, prints[a], prints[b]) for a, b in itertools.combinations(students, 2)}
    above = [p for p in all_pairs.values() if p.score >= threshold]
    groups: list[Group] = []
    in_reference: set[str] = set()
    if reference is not None:
        ref_print = _fingerprint(REFERENCE, reference.text, base)
        versus = {s: _compare(s, REFERENCE, prints[s], ref_print) for s in students}
        in_reference = {s for s, p in versus.items() if p.score >= threshold}
        if in_reference:
            solution = _cells(reference)
            members = sorted(in_reference, key=lambda s: (-versus[s].score, s))
            differing = {s: [c for c, code in _cells(answers[s]).items()
                             if _normalised(code) != _normalised(solution.get(c, ""))] for s in members}
            groups.append(Group(members, REFERENCE, {s: versus[s].score for s in members},
                                {s: versus[s] for s in members}, differing))
    # pairs inside the reference group: only what they share beyond the solution counts
    pairs = [p for p in above if not (p.a in in_reference and p.b in in_reference)]
    if len(in_reference) > 1:
        extended = base | _hashes(REFERENCE, reference.text)
        own = {s: _fingerprint(s, answers[s].text, extended) for s in in_reference}
        for a, b in itertools.combinations(sorted(in_reference), 2):
            if own[a].hashes and own[b].hashes:
                p = _compare(a, b, own[a], own[b], own_code=True)
                if p.score >= threshold and p.tokens >= MIN_SHARED_TOKENS:
                    pairs.append(p)
    # other groups: three or more linked outside the reference group
    outside = [p for p in pairs if p.a not in in_reference and p.b not in in_reference]
    for members in _components(sorted({s for p in outside for s in (p.a, p.b)}), outside):
        if len(members) < 3:
            continue
        score = {m: sum(all_pairs[tuple(sorted((m, o)))].score for o in members if o != m) for m in members}
        centre = max(members, key=lambda m: (score[m], m))
        others = sorted((m for m in members if m != centre),
                        key=lambda m: (-all_pairs[tuple(sorted((m, centre)))].score, m))
        linked = {m: all_pairs[tuple(sorted((m, centre)))] for m in others}
        groups.append(Group(others, centre, {m: p.score for m, p in linked.items()}, linked))
        pairs = [p for p in pairs if not (p.a in members and p.b in members)]
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.a, p.b))
    return pairs, groups, empty


def analyse(course: Course, assignment: str, threshold: float = THRESHOLD) -> SimilarityReport:
    """Read every submission of ``assignment`` and compare what the students wrote."""
    release_path = course.release_notebook(assignment)
    if not release_path.exists():
        raise VaekitError(f"Falta {release_path.relative_to(course.root)} (el código de partida que se descuenta): "
                          f"ejecuta antes `vaekit release {assignment}`.")
    release = nbformat.read(str(release_path), as_version=4)
    answers, unreadable = {}, {}
    for student in course.students(assignment):
        path = course.submitted_notebook(student, assignment)
        try:  # through the intake gate: a regular file, never a link or a pipe, bounded
            nb = nbformat.reads(gate.read_file(path, MAX_NOTEBOOK_BYTES).decode("utf-8"), as_version=4)
        except gate.Refused as why:
            unreadable[student] = f"no se leyó: {why}"
            continue
        except Exception as error:  # noqa: BLE001 (a corrupt submission is listed, not fatal)
            unreadable[student] = f"no se pudo leer ({type(error).__name__})"
            continue
        answers[student] = answer_of(nb, release, student)
    if not answers and not unreadable:
        raise VaekitError(f"No hay entregas de {assignment} en {course.submitted.relative_to(course.root)}/: "
                          f"recógelas antes (`vaekit collect {assignment}`).")
    source_path = course.root / "source" / assignment / f"{assignment}.ipynb"
    reference = reference_answer(nbformat.read(str(source_path), as_version=4)) if source_path.exists() else None
    pairs, groups, empty = compare(answers, boilerplate_texts(release), reference, threshold)
    compared = sorted(s for s in answers if s not in empty)
    if reference is not None:
        answers[REFERENCE] = reference
    return SimilarityReport(assignment, threshold, compared, empty, unreadable, pairs, groups, answers)


# HTML -----------------------------------------------------------------------------------------------------------
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
PAGE_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; background: #fff;
       margin: 0 auto; max-width: 78rem; padding: 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 0.6rem; } h2 { font-size: 1.3rem; margin-top: 2rem; }
h3 { font-size: 1.1rem; margin: 1.2rem 0 0.4rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #8a8a8a; padding: 0.3rem 0.55rem; text-align: left; vertical-align: top; }
th { background: #eef1f5; } td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 0.75rem; }
@media (max-width: 50rem) { .side { grid-template-columns: 1fr; } }
.side h4 { margin: 0.2rem 0; font-size: 1rem; }
pre { background: #f6f7f9; border: 1px solid #c9ccd1; padding: 0.5rem; margin: 0; font-size: 0.82rem;
      white-space: pre-wrap; overflow-wrap: anywhere; }
mark { background: #ffd84d; color: #000; }
details { margin: 0.4rem 0 1rem; } summary { cursor: pointer; font-weight: 600; }
.note { color: #3d3d3d; } .score { font-weight: 700; }
@media print { details { display: block; } .side { grid-template-columns: 1fr 1fr; } pre { font-size: 0.7rem; } }
"""


def pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def highlighted(text: str, slices: list[tuple[int, int]]) -> str:
    """``text`` escaped, with ``slices`` (character ranges) inside ``<mark>``."""
    out, at = [], 0
    for start, end in sorted(slices):
        start, end = max(start, at), min(end, len(text))
        if end <= start:
            continue
        out += [html.escape(text[at:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def _cells_touched(answer: Answer, slices: list[tuple[int, int]]) -> list[str]:
    return [name for name, start, end in answer.spans if any(s < end and e > start for s, e in slices)]


def _side_by_side(report: SimilarityReport, pair: Pair) -> str:
    esc = html.escape
    columns = []
    for who, slices in ((pair.a, pair.slices_a), (pair.b, pair.slices_b)):
        answer = report.answers[who]
        columns.append(f"<div><h4>{esc(who)}</h4><pre>{highlighted(answer.text, slices)}</pre></div>")
    return f'<div class="side">{"".join(columns)}</div>'


def _pair_section(report: SimilarityReport, pair: Pair, number: int) -> str:
    esc = html.escape
    cells = _cells_touched(report.answers[pair.a], pair.slices_a)
    own = (" Los dos están en el grupo de la solución de referencia: esto es lo que comparten <em>además</em> "
           "de ella." if pair.own_code else "")
    return (f'<section aria-labelledby="pareja-{number}"><h3 id="pareja-{number}">{number}. {esc(pair.a)} y '
            f'{esc(pair.b)}: <span class="score">{pct(pair.score)}</span></h3>'
            f"<p>{pct(pair.share_a)} del código de {esc(pair.a)} aparece en el de {esc(pair.b)}; "
            f"{pct(pair.share_b)} del de {esc(pair.b)} en el de {esc(pair.a)}. Celdas con coincidencias: "
            f"{esc(', '.join(cells) or '—')}.{own}</p>"
            f"<details><summary>Ver el código lado a lado (coincidencias resaltadas)</summary>"
            f"{_side_by_side(report, pair)}</details></section>")


def _group_section(report: SimilarityReport, group: Group, number: int) -> str:
    esc = html.escape
    if group.centre == REFERENCE:
        title = f"Grupo {number}: la solución de referencia ({len(group.members)} entregas)"
        intro = (f"Estas entregas coinciden al menos en un {pct(report.threshold)} con la solución del profesor "
                 "(<code>source/</code>): es el código que muchos copian de las transparencias, así que se muestran "
                 "una vez, no como parejas. Dos de ellas aparecen como pareja solo si además comparten código propio.")
        head = "<tr><th scope='col'>entrega</th><th scope='col'>similitud con la solución</th>" \
               "<th scope='col'>celdas distintas de la solución</th></tr>"
        rows = "".join(f"<tr><td>{esc(m)}</td><td class='num'>{pct(group.scores[m])}</td>"
                       f"<td>{esc(', '.join(group.differing.get(m, [])) or 'ninguna')}</td></tr>"
                       for m in group.members)
        details = ""
    else:
        title = f"Grupo {number}: {len(group.members) + 1} entregas casi iguales"
        intro = (f"Estas entregas están enlazadas por parejas por encima del {pct(report.threshold)}; se muestran "
                 f"frente a la más central, <strong>{esc(group.centre)}</strong>.")
        head = f"<tr><th scope='col'>entrega</th><th scope='col'>similitud con {esc(group.centre)}</th></tr>"
        rows = "".join(f"<tr><td>{esc(m)}</td><td class='num'>{pct(group.scores[m])}</td></tr>" for m in group.members)
        details = "".join(f"<details><summary>{esc(m)} frente a {esc(group.centre)}</summary>"
                          f"{_side_by_side(report, group.pairs[m])}</details>" for m in group.members)
    return (f'<section aria-labelledby="grupo-{number}"><h3 id="grupo-{number}">{esc(title)}</h3><p>{intro}</p>'
            f"<table><caption class='note'>{esc(title)}</caption>{head}{rows}</table>{details}</section>")


def _everyone(report: SimilarityReport) -> str:
    """Every compared submission: its highest listed score and where it appears."""
    esc = html.escape
    best: dict[str, tuple[float, str]] = {}
    for p in report.pairs:
        for me, other in ((p.a, p.b), (p.b, p.a)):
            if p.score > best.get(me, (-1.0, ""))[0]:
                best[me] = (p.score, other)
    where = {}
    for i, g in enumerate(report.groups, 1):
        for m in g.members + ([g.centre] if g.centre != REFERENCE else []):
            where[m] = f"grupo {i}" + (" (solución de referencia)" if g.centre == REFERENCE else "")
    rows = "".join(f"<tr><td>{esc(s)}</td><td class='num'>{pct(best[s][0]) if s in best else '—'}</td>"
                   f"<td>{esc(best[s][1]) if s in best else '—'}</td><td>{esc(where.get(s, '—'))}</td></tr>"
                   for s in report.compared)
    return ("<h2>Todas las entregas comparadas</h2><details><summary>Ver la tabla "
            f"({len(report.compared)} entregas)</summary><table><tr><th scope='col'>entrega</th>"
            "<th scope='col'>pareja más parecida</th><th scope='col'>con</th><th scope='col'>grupo</th></tr>"
            f"{rows}</table></details>")


def render(report: SimilarityReport) -> str:
    """The self-contained page ``similitud.html`` (Spanish, no script, every student text escaped)."""
    esc = html.escape
    a = report.assignment
    parts = [f"<h1>Similitud entre entregas — {esc(a)}</h1>",
             f"<p>{len(report.compared)} entregas comparadas. Se compara solo lo que escribió cada estudiante "
             "(celdas de respuesta y celdas añadidas), descontando el código de partida de la versión publicada. "
             f"Método: winnowing (copydetect, k = {K} tokens, ventana {WINDOW}); los nombres de variables y el orden "
             "de funciones y celdas no cuentan. Una similitud alta es un indicio para revisar a mano, no una "
             "prueba.</p>"]
    ref = report.reference_group
    parts.append(f"<h2>Parejas por encima del {pct(report.threshold)} ({len(report.pairs)})</h2>")
    if report.pairs:
        parts.append("<table><caption class='note'>Ordenadas de mayor a menor similitud</caption><tr>"
                     "<th scope='col'>n.º</th><th scope='col'>entrega</th><th scope='col'>entrega</th>"
                     "<th scope='col'>similitud</th></tr>" + "".join(
                         f"<tr><td class='num'><a href='#pareja-{i}'>{i}</a></td><td>{esc(p.a)}</td>"
                         f"<td>{esc(p.b)}</td><td class='num'>{pct(p.score)}</td></tr>"
                         for i, p in enumerate(report.pairs, 1)) + "</table>")
        parts += [_pair_section(report, p, i) for i, p in enumerate(report.pairs, 1)]
    else:
        parts.append("<p>Ninguna pareja fuera de los grupos supera el umbral.</p>")
    parts.append(f"<h2>Grupos ({len(report.groups)})</h2>")
    if report.groups:
        parts += [_group_section(report, g, i) for i, g in enumerate(report.groups, 1)]
    else:
        parts.append("<p>Ningún grupo de tres o más entregas casi iguales"
                     + ("" if ref else " (sin solución de referencia en source/)") + ".</p>")
    parts.append(_everyone(report))
    parts.append("<h2>No comparadas</h2>")
    rows = [f"<li>{esc(s)}: sin código propio (la versión publicada tal cual)</li>" for s in report.empty]
    rows += [f"<li>{esc(s)}: {esc(why)}</li>" for s, why in sorted(report.unreadable.items())]
    parts.append(f"<ul>{''.join(rows)}</ul>" if rows else "<p>Ninguna.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>Similitud entre entregas — {esc(a)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{''.join(parts)}\n</main>\n</body>\n</html>\n")


def write_similarity(course: Course, assignment: str, threshold: float = THRESHOLD,
                     folder: Path | None = None) -> tuple[Path, SimilarityReport]:
    """Compare the submissions of ``assignment`` and write ``report/<A>/similitud.html``."""
    report = analyse(course, assignment, threshold)
    path = Path(folder or course.root / "report" / assignment) / "similitud.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path, report


def summary(report: SimilarityReport, path: Path) -> str:
    """A few lines for the console."""
    lines = [f"{len(report.compared)} entregas comparadas; {len(report.pairs)} parejas por encima del "
             f"{pct(report.threshold)}; {len(report.groups)} grupos."]
    ref = report.reference_group
    if ref:
        lines.append(f"  grupo de la solución de referencia: {len(ref.members)} entregas (se muestran una vez)")
    for p in report.pairs[:10]:
        lines.append(f"  {pct(p.score):>5}  {p.a} — {p.b}")
    lines.append(f"Informe: {path}")
    return "\n".join(lines)
