"""For the TA: the grades CSV (nbgrader's export), a grade histogram (PNG) and per-test pass rates (markdown)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Course
from autograder.errors import VaekitError

CSV_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
               "raw_score", "late_submission_penalty", "score", "max_score"]


def export_grades(course: Course, path: Path | None = None) -> Path:
    """``nbgrader export`` (nbgrader's CSV columns) to ``path`` (default ``<root>/grades.csv``)."""
    path = Path(path or course.root / "grades.csv").resolve()
    course.nbgrader("export", f"--to={path}")
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    if header != CSV_COLUMNS:
        raise VaekitError(f"Columnas inesperadas en {path}: {header}")
    return path


@dataclass
class TestStats:
    grade_id: str
    max_score: float
    full: int = 0  # submissions with full marks on this test
    partial: int = 0
    zero: int = 0
    manual: int = 0  # submissions still waiting for a manual grade on this cell
    total_score: float = 0.0

    @property
    def n(self) -> int:
        return self.full + self.partial + self.zero

    @property
    def pass_rate(self) -> float:
        return self.full / self.n if self.n else 0.0


def collect(course: Course, assignment: str) -> tuple[dict[str, float], float, list[TestStats]]:
    """Totals by student, the assignment's max score, and per-grade-cell statistics (notebook order)."""
    totals: dict[str, float] = {}
    stats: dict[str, TestStats] = {}
    with course.gradebook() as gb:
        assignment_row = gb.find_assignment(assignment)
        max_score = float(assignment_row.max_score)
        for nb in assignment_row.notebooks:
            for cell in nb.grade_cells:
                stats[cell.name] = TestStats(cell.name, float(cell.max_score))
        for sub in assignment_row.submissions:
            totals[sub.student.id] = float(sub.score)
            for sub_nb in sub.notebooks:
                for grade in sub_nb.grades:
                    s = stats[grade.name]
                    score = float(grade.score)
                    if grade.needs_manual_grade:
                        s.manual += 1
                        continue
                    if score >= s.max_score - 1e-9:
                        s.full += 1
                    elif score > 1e-9:
                        s.partial += 1
                    else:
                        s.zero += 1
                    s.total_score += score
    return dict(sorted(totals.items())), max_score, list(stats.values())


def histogram_png(totals: dict[str, float], max_score: float, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = [max_score * i / 10 for i in range(11)]
    ax.hist(list(totals.values()), bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlim(0, max_score)
    ax.set_xlabel(f"puntos (máximo {max_score:g})")
    ax.set_ylabel("entregas")
    ax.set_title(title)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def pass_rate_table(stats: list[TestStats]) -> str:
    rows = ["| test (grade_id) | puntos | completos | parciales | cero | % aprobado | media | por calificar a mano |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in stats:
        mean = s.total_score / s.n if s.n else 0.0
        rows.append(f"| {s.grade_id} | {s.max_score:g} | {s.full} | {s.partial} | {s.zero} | "
                    f"{100 * s.pass_rate:.0f} % | {mean:.2f} | {s.manual} |")
    return "\n".join(rows)


def write_report(course: Course, assignment: str, folder: Path | None = None) -> tuple[Path, Path]:
    """``report/<A>/notas.png``, ``informe.md`` and ``informe.html`` under the course root (or ``folder``); both
    link ``similitud.html`` when ``vaekit similarity`` wrote it."""
    from autograder.results import load_results, summary_table

    folder = Path(folder or course.root / "report" / assignment)
    totals, max_score, stats = collect(course, assignment)
    png = histogram_png(totals, max_score, folder / "notas.png", f"{assignment}: {len(totals)} entregas")
    mean = sum(totals.values()) / len(totals) if totals else 0.0
    lines = [f"# Informe de calificación — {assignment}", "",
             f"{len(totals)} entregas · media {mean:.2f} / {max_score:g}", "",
             "![histograma de notas](notas.png)", "", "## Tasa de aprobación por test", "", pass_rate_table(stats)]
    results = load_results(course.results, assignment)
    if results:
        for r in results.values():  # manual grades (Formgrader) came in after grading: the gradebook has the points
            s = course.scores(assignment, r.student)
            r.score, r.max_score, r.grades, r.manual = s.score, s.max_score, s.grades, s.manual
        lines += ["", "## Entregas", "", summary_table(list(results.values()))]
    lines += ["", "## Similitud entre entregas", "",
              "[similitud.html](similitud.html)" if (folder / "similitud.html").exists()
              else f"Sin informe de similitud: `vaekit similarity {assignment}` lo escribe en esta carpeta."]
    md = folder / "informe.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from autograder.report_page import write_report_page  # the same report as a web page: informe.html

    write_report_page(folder, assignment, totals, max_score, stats, list(results.values()), course.feedback)
    return png, md
