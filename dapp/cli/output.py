"""How the CLI talks: rich for people, `--json` for scripts, errors as one line on stderr."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)

# `--json` on every command, declared once.
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    view = Table(title=title)
    for column in columns:
        view.add_column(column)
    for row in rows:
        view.add_row(*[str(cell) for cell in row])
    console.print(view)


def error_line(message: str) -> None:
    errors.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False, markup=True)
