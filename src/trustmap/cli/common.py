"""What every command shares: path arguments, ``--now``, ``--format``, loading, exit codes, output."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trustmap.bulk import keep
from trustmap.diagnostics import Diagnostic, has_errors
from trustmap.model import Graph
from trustmap.report import render_diagnostics, summary_line

__all__ = [
    "UNREADABLE",
    "db_option",
    "echo_json",
    "exit_for",
    "fail",
    "load",
    "note_findings",
    "now_option",
    "out",
    "paths_argument",
    "spinner",
    "stderr",
]

F = TypeVar("F", bound=Callable[..., Any])

UNREADABLE = frozenset({"TM100", "TM104", "TM106", "TM116"})
"""Codes that mean the input could not be read at all: exit 2, not 1."""

out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200)


def print_table(table: Table) -> None:
    """Print ``table`` with rich, or as plain aligned text when it is too long for rich to lay
    out quickly (see :data:`trustmap.report.tables.LARGE_TABLE`)."""
    from trustmap.report.tables import LARGE_TABLE, plain_table

    if table.row_count < LARGE_TABLE:
        out.print(table)
    else:
        sys.stdout.write(plain_table(table))


def db_option(help_text: str) -> Callable[[F], F]:
    """``--db PATH``: the flow database (``db_path``), with ``help_text``. The default is
    :data:`trustmap.observe.DEFAULT_DB`, written out: the CLI imports the observe extra lazily."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=Path(".trustmap/flows.duckdb"),
        show_default=True,
        help=help_text,
    )


def paths_argument(func: F) -> F:
    """``PATH...``: declaration files or directories (default: the current directory)."""
    return click.argument("paths", nargs=-1, type=click.Path(path_type=str))(func)


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date of the form YYYY-MM-DD") from None


def now_option(func: F) -> F:
    """``--now DATE``: judge expiry as of this date (default: today)."""
    return click.option(
        "--now",
        "today",
        metavar="YYYY-MM-DD",
        callback=_parse_date,
        help="Judge expiry as of this date (default: today).",
    )(func)


def spinner(text: str) -> AbstractContextManager[object]:
    """A spinner with ``text`` on stderr while the block runs, when stderr is a terminal."""
    return stderr.status(text, spinner="dots") if stderr.is_terminal else nullcontext()


def load(paths: Sequence[str], today: dt.date, *, exit_unreadable: bool = True) -> Graph:
    """Load the graph, with a spinner on a terminal; exit 2 when nothing could be read
    (unless ``exit_unreadable`` is false: the caller reports it in its own format)."""
    from trustmap.api import load as load_graph  # commands that never load start faster

    with spinner("loading declarations…"):
        graph = load_graph(paths, today)
    if len(graph.services) >= _LARGE:
        # The command keeps the graph until it exits: spare the cyclic collector from rescanning
        # its hundreds of thousands of objects during the rest of the command (~1 s at 10,000).
        keep()
    unreadable = [d for d in graph.diagnostics if d.code in UNREADABLE]
    if exit_unreadable and unreadable and not graph.services and not graph.teams:
        sys.stderr.write(render_diagnostics(unreadable))
        sys.exit(2)
    return graph


_LARGE = 1000
"""Services from which freezing the loaded graph out of garbage collection pays."""


def exit_for(diagnostics: Sequence[Diagnostic], *, strict: bool) -> NoReturn:
    """Exit 2 for unreadable input, 1 for findings (warnings too with ``strict``), else 0."""
    if any(d.code in UNREADABLE for d in diagnostics):
        sys.exit(2)
    sys.exit(1 if has_errors(diagnostics, strict=strict) else 0)


def note_findings(graph: Graph) -> None:
    """On stderr, mention declaration errors that a query answer silently skips."""
    errors = [d for d in graph.diagnostics if d.severity.value == "error"]
    if errors:
        stderr.print(
            f"[yellow]note:[/] the declarations have {summary_line(errors)}; answers use the "
            "valid part only (run `trustmap validate` for details)",
            highlight=False,
        )


def echo_json(value: Any) -> None:
    """Print stable, indented JSON to stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Report a usage problem on stderr and exit 2."""
    stderr.print(f"[red]error:[/] {escape(message)}", highlight=False)
    if hint:
        stderr.print(f"  hint: {escape(hint)}", highlight=False)
    sys.exit(2)
