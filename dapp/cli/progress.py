"""Progress bars on stderr: bytes moved, blocks waited for, and a line per stage."""

from __future__ import annotations

from types import TracebackType

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress

from dapp.cli.output import errors


class Progress:
    """Implements `PublishObserver` and the sender's confirmation callback; silent when
    disabled (`--json`)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bytes = RichProgress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=errors,
            disable=not enabled, transient=False)
        self._blocks = RichProgress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=errors, disable=not enabled, transient=True)
        self._upload: TaskID | None = None
        self._confirm: TaskID | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._bytes.stop()
        self._blocks.stop()

    def stage(self, text: str) -> None:
        if self.enabled:
            errors.print(f"[dim]{text}…[/dim]", highlight=False)

    def upload_progress(self, done: int, total: int) -> None:
        if self._upload is None:
            self._bytes.start()
            self._upload = self._bytes.add_task("upload", total=total)
        self._bytes.update(self._upload, completed=done, total=total)
        if done >= total:
            self._bytes.stop()

    def confirmations(self, seen: int, wanted: int) -> None:
        if self._confirm is None:
            self._blocks.start()
            self._confirm = self._blocks.add_task("confirmations", total=wanted)
        self._blocks.update(self._confirm, completed=seen, total=wanted)
        if seen >= wanted:
            self._blocks.stop()
            self._confirm = None
