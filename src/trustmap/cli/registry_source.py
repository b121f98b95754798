"""``--server URL``: read the registry's merged graph instead of local files.

The commands that read declarations (compile, query, explain, graph, verify) take ``PATH...`` or
``--server URL``. With a server, every team's latest files are pulled (as ``trustmap pull``
writes them, approvals included) into a temporary folder laid out ``<team>/<path>`` — the names
the registry itself gives them — and the command runs on that folder, so its answer is the
registry's. A token for ``read_access=token`` registries comes from ``TRUSTMAP_TOKEN``.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import click

from trustmap.cli.client import call, refuse
from trustmap.cli.common import fail

__all__ = ["paths_or_server", "pull_all"]

F = TypeVar("F", bound=Callable[..., Any])

_OUTPUTS = ("out_dir", "output", "manifests", "policies")
"""Arguments naming local files, resolved before the command runs in the pulled folder."""


def pull_all(server: str, token: str | None, root: Path) -> int:
    """Write every team's latest files under ``root/<team>/``; the number of files."""
    answer = call(server, token, "GET", "/api/v1/teams")
    if answer.status_code != 200:
        refuse(answer)
    written = 0
    for team in answer.json()["teams"]:
        pulled = call(server, token, "GET", f"/api/v1/teams/{team['name']}/declarations")
        if pulled.status_code != 200:
            refuse(pulled)
        for item in pulled.json()["files"]:
            _write(root / team["name"], item["path"], item["content"])
            written += 1
    return written


def _write(folder: Path, path: str, content: str) -> None:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        fail(f"the registry sent an unsafe path: {path}")
    target = folder.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")


def paths_or_server(func: F) -> F:
    """``PATH...`` (default: the current directory) or ``--server URL``."""

    @functools.wraps(func)
    def run(*args: Any, server: str | None = None, **kwargs: Any) -> Any:
        if server is None:
            return func(*args, **kwargs)
        if kwargs.get("paths"):
            fail("give PATH... or --server, not both")
        for name in _OUTPUTS:
            if name in kwargs:
                kwargs[name] = _absolute(kwargs[name])
        here = Path.cwd()
        with tempfile.TemporaryDirectory(prefix="trustmap-registry-") as root:
            pull_all(server, os.environ.get("TRUSTMAP_TOKEN") or None, Path(root))
            os.chdir(root)
            try:
                return func(*args, **{**kwargs, "paths": (".",)})
            finally:
                os.chdir(here)

    option = click.option(
        "--server",
        metavar="URL",
        help="Read the registry's merged graph instead of PATH... (token: env TRUSTMAP_TOKEN).",
    )
    argument = click.argument("paths", nargs=-1, type=click.Path(path_type=str))
    return argument(option(run))  # type: ignore[return-value]


def _absolute(value: Any) -> Any:
    if isinstance(value, (str, Path)):
        return type(value)(Path(value).resolve())
    if isinstance(value, tuple):
        return tuple(_absolute(v) for v in value)
    return value
