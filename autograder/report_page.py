"""``report/<A>/informe.html``: the TA's report as an accessible web page (Spanish, ``lang="es"``, no script), next
to ``informe.md``: the grade histogram with its alt text, the pass rate per test, every submission with a link to
its feedback page, and the link to ``similitud.html`` (``vaekit similarity``). Every student text is escaped."""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from autograder.feedback_page import points
from autograder.similarity import CSP, PAGE_CSS


def _data_uri(png: Path) -> str:
    """The histogram inside the page (one self-contained file; the page's CSP allows data: images only)."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii") if png.exists() else ""


def _histogram_alt(totals: dict[str, float], max_score: float) -> str:
    if not totals:
        return "Histograma de notas: no hay entregas."
    values = sorted(totals.values())
    tenth = max_score / 10 or 1.0
    counts = [0] * 10
    for v in values:
        counts[min(int(v / tenth), 9)] += 1
    bins = "; ".join(f"{points(i * tenth)}–{points((i + 1) * tenth)}: {c}" for i, c in enumerate(counts) if c)
    return (f"Histograma de notas de {len(values)} entregas sobre {points(max_score)} puntos: mínimo "
            f"{points(values[0])}, mediana {points(values[len(values) // 2])}, máximo {points(values[-1])}. "
            f"Entregas por tramo: {bins}.")


def write_report_page(folder: Path, assignment: str, totals: dict[str, float], max_score: float, stats: list,
                      results: list, feedback_root: Path | None = None) -> Path:
    """Write ``folder/informe.html`` (see the module doc); ``results``: GradeResult with the gradebook's scores."""
    esc = html.escape
    folder = Path(folder)
    mean = sum(totals.values()) / len(totals) if totals else 0.0
    parts = [f"<h1>Informe de calificación — {esc(assignment)}</h1>",
             f"<p>{len(totals)} entregas · media {points(mean)} / {points(max_score)} puntos.</p>",
             f'<figure><img src="{_data_uri(folder / "notas.png")}" alt="{esc(_histogram_alt(totals, max_score))}" '
             'width="700" height="400"><figcaption>Distribución de las notas (también en notas.png).</figcaption>'
             "</figure>",
             "<h2>Tasa de aprobación por test</h2>",
             "<table><caption class='note'>Por celda de calificación, en el orden del cuaderno</caption><tr>"
             + "".join(f"<th scope='col'>{h}</th>" for h in ("test (grade_id)", "puntos", "completos", "parciales",
                                                             "cero", "% aprobado", "media", "por calificar a mano"))
             + "</tr>"]
    for s in stats:
        mean_s = s.total_score / s.n if s.n else 0.0
        parts.append(f"<tr><th scope='row'>{esc(s.grade_id)}</th><td class='num'>{points(s.max_score)}</td>"
                     f"<td class='num'>{s.full}</td><td class='num'>{s.partial}</td><td class='num'>{s.zero}</td>"
                     f"<td class='num'>{100 * s.pass_rate:.0f} %</td><td class='num'>{points(mean_s)}</td>"
                     f"<td class='num'>{s.manual}</td></tr>")
    parts.append("</table>")
    if results:
        parts += ["<h2>Entregas</h2>", "<table><caption class='note'>Cada entrega con su nota y su página de "
                  "retroalimentación</caption><tr>" + "".join(
                      f"<th scope='col'>{h}</th>" for h in ("estudiante", "puntos", "estado", "mensaje",
                                                            "revisar a mano", "retroalimentación")) + "</tr>"]
        for r in sorted(results, key=lambda r: r.student):
            page = Path(feedback_root or folder.parent.parent / "feedback") / r.student / assignment / f"{assignment}.html"
            link = (f"<a href='{esc(Path(os.path.relpath(page, folder)).as_posix())}'>página de {esc(r.student)}</a>"
                    if page.exists() else "—")
            message = r.message + ("" if r.sandbox else " Calificada SIN sandbox.")
            parts.append(f"<tr><th scope='row'>{esc(r.student)}</th><td class='num'>{points(r.score)} / "
                         f"{points(r.max_score)}</td><td>{esc(r.status.text)}</td><td>{esc(message) or '—'}</td>"
                         f"<td>{esc('; '.join(r.flags)) or '—'}</td><td>{link}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Similitud entre entregas</h2>")
    if (folder / "similitud.html").exists():
        parts.append("<p><a href='similitud.html'>Informe de similitud</a>: parejas de entregas con código muy "
                     "parecido, lado a lado, y el grupo de las que copian la solución de referencia.</p>")
    else:
        parts.append(f"<p>Aún no hay informe de similitud: <code>vaekit similarity {esc(assignment)}</code> lo "
                     "escribe junto a este.</p>")
    page = folder / "informe.html"
    page.write_text("<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n"
                    f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
                    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                    f"<title>Informe de calificación — {esc(assignment)}</title>\n<style>{PAGE_CSS}\n"
                    "img { max-width: 100%; height: auto; } figure { margin: 0.5rem 0; }</style>\n</head>\n"
                    f"<body>\n<main>\n{''.join(parts)}\n</main>\n</body>\n</html>\n", encoding="utf-8")
    return page
