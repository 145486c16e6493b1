"""Progress of a grading run, drawn with rich: a bar, and one line per submission as its result arrives."""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class GradingProgress:
    def __init__(self, total: int, skipped: int = 0, console: Console | None = None):
        self.console = console or Console(highlight=False)
        self.start = time.monotonic()
        self.done = 0
        note = f" ({skipped} ya calificadas; --force para repetirlas)" if skipped else ""
        self.console.print(f"Calificando {total} entregas{note}…")
        self.progress = Progress(TextColumn("[bold]calificando"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=True)
        self.task = self.progress.add_task("", total=max(total, 1))
        self.progress.start()

    def update(self, result) -> None:
        self.done += 1
        mark = "✔" if result.score >= result.max_score - 1e-9 else ("◐" if result.score > 0 else "✘")
        flags = f"  [yellow]revisar a mano: {len(result.flags)}[/yellow]" if result.flags else ""
        sandbox = "" if result.sandbox else "  [red]SIN sandbox[/red]"
        self.console.print(f"{mark} {result.student:<34} {result.score:6.2f}/{result.max_score:<6.2f} "
                           f"{result.status.text:<32} {result.seconds:6.1f} s{flags}{sandbox}", markup=True)
        self.progress.advance(self.task)

    def close(self) -> None:
        self.progress.stop()
        self.console.print(f"Listo: {self.done} entregas en {time.monotonic() - self.start:.1f} s")
