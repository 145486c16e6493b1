"""Progress of a grading run: one row per submission as its result arrives, and (on a terminal) a bar.

A row never wraps: on a terminal it is cut to the terminal's width (with …), the essentials first (mark, points,
seconds, student; then status and flags); when the output is not a terminal (a pipe, a log file, CI) each row is
one plain line, whole, and there is no bar.
"""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text


def row(result) -> Text:
    """One submission's row: ``✔  12.00/16    33.9 s  alu01  calificada  revisar a mano: 1``."""
    mark = "✔" if result.score >= result.max_score - 1e-9 else ("◐" if result.score > 0 else "✘")
    text = Text(f"{mark} {result.score:6.2f}/{result.max_score:<3g} {result.seconds:6.1f} s  {result.student}  "
                f"{result.status.text}")
    if result.flags:
        text.append(f"  revisar a mano: {len(result.flags)}", style="yellow")
    if not result.sandbox:
        text.append("  SIN sandbox", style="red")
    return text


class GradingProgress:
    def __init__(self, total: int, skipped: int = 0, console: Console | None = None):
        self.console = console or Console(highlight=False)
        self.start = time.monotonic()
        self.done = 0
        note = f" ({skipped} ya calificadas; --force para repetirlas)" if skipped else ""
        self.say(f"Calificando {total} entregas{note}…")
        self.progress = None
        if self.console.is_terminal:  # a bar only where it can be redrawn in place
            self.progress = Progress(TextColumn("[bold]calificando"), BarColumn(bar_width=None),
                                     MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                                     transient=True, expand=False)
            self.task = self.progress.add_task("", total=max(total, 1))
            self.progress.start()

    def say(self, text) -> None:
        """Print one row: cut to the width on a terminal, whole elsewhere; never wrapped."""
        if self.console.is_terminal:
            self.console.print(text, no_wrap=True, overflow="ellipsis", crop=True)
        else:
            self.console.print(text, soft_wrap=True)

    def update(self, result) -> None:
        self.done += 1
        self.say(row(result))
        if self.progress is not None:
            self.progress.advance(self.task)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.say(f"Listo: {self.done} entregas en {time.monotonic() - self.start:.1f} s")
