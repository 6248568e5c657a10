"""A terminal progress bar that subscribes to runner events."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from promptwork.events import CellFinished, Event, Retrying, RunFinished, RunStarted


class ProgressBar:
    """Shows done/total, errors, tokens, cost so far and ETA."""

    def __init__(self, console: Console, enabled: bool = True):
        self.console = console
        self.enabled = enabled
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.errors = 0
        self.tokens = 0
        self.cost = 0.0
        self.retries = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, CellFinished):
            cell = event.result
            if cell.error is not None:
                self.errors += 1
            if cell.completion is not None:
                self.tokens += cell.completion.usage.total_tokens or 0
                self.cost += cell.completion.cost or 0.0
            self._advance()
        elif isinstance(event, Retrying):
            self.retries += 1
        elif isinstance(event, RunFinished) and self.progress is not None:
            self.progress.stop()

    def _start(self, event: RunStarted) -> None:
        self.console.print(
            f"run {event.run_id}: {event.total} cells"
            + (f" ({event.already_done} already done)" if event.already_done else ""),
            style="dim", markup=False,
        )
        if not self.enabled:
            return
        self.progress = Progress(
            TextColumn("eval"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
            console=self.console, transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("eval", total=event.total,
                                           completed=event.already_done, info="")

    def _advance(self) -> None:
        if self.progress is None or self.task is None:
            return
        info: list[Any] = [f"errors {self.errors}", f"tokens {self.tokens:,}",
                           f"${self.cost:.4f}"]
        if self.retries:
            info.append(f"retries {self.retries}")
        self.progress.update(self.task, advance=1, info="  ".join(map(str, info)))
