"""What the registry client commands share: ``--server``/``--token``, HTTP calls, error output.

The client talks to a registry only over its HTTP API (httpx, from the ``server`` extra), so it
never needs the server's code or database.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from trustmap.cli.common import fail, stderr
from trustmap.diagnostics import Diagnostic, Severity, Span
from trustmap.report import render_diagnostics

if TYPE_CHECKING:
    import httpx

__all__ = ["call", "refuse", "server_options", "token_option"]

F = TypeVar("F", bound=Callable[..., Any])


def server_options(func: F) -> F:
    """``--server URL`` (env ``TRUSTMAP_SERVER``)."""
    return click.option(
        "--server",
        envvar="TRUSTMAP_SERVER",
        required=True,
        metavar="URL",
        help="Registry URL, e.g. http://127.0.0.1:8420 (env TRUSTMAP_SERVER).",
    )(func)


def token_option(*, required: bool) -> Callable[[F], F]:
    """``--token T`` (env ``TRUSTMAP_TOKEN``)."""

    def decorate(func: F) -> F:
        return click.option(
            "--token",
            envvar="TRUSTMAP_TOKEN",
            required=required,
            metavar="TOKEN",
            help="API token (env TRUSTMAP_TOKEN).",
        )(func)

    return decorate


def call(server: str, token: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to the registry; exits 2 when it cannot be reached."""
    try:
        import httpx
    except ImportError:  # pragma: no cover - depends on the installed extras
        fail("the registry client needs httpx", "pip install 'trustmap[server]'")
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with httpx.Client(base_url=server.rstrip("/"), timeout=120) as client:
            return client.request(method, path, headers=headers, **kwargs)
    except httpx.HTTPError as error:
        fail(
            f"cannot reach the registry at {server}: {error}",
            "check --server and that the registry runs",
        )


def refuse(response: httpx.Response) -> NoReturn:
    """Print the registry's error (with its diagnostics) and exit: 1 for findings, else 2."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    message = error.get("message") or response.text[:300] or response.reason_phrase
    found = [_diagnostic(d) for d in error.get("diagnostics", [])]
    if found:
        sys.stdout.write(render_diagnostics(found))
    stderr.print(f"[red]error:[/] {response.status_code} {message}", highlight=False)
    sys.exit(1 if found and response.status_code in (403, 422) else 2)


def _diagnostic(data: dict[str, Any]) -> Diagnostic:
    span = (
        Span(data.get("file") or "", data.get("line") or 0, data.get("column") or 0)
        if data.get("file")
        else None
    )
    severity = data.get("severity", "error")
    level = Severity(severity) if severity in ("error", "warning", "info") else Severity.ERROR
    return Diagnostic(
        str(data.get("code", "")), level, span, str(data.get("message", "")), data.get("hint")
    )


def diagnostics_of(items: list[dict[str, Any]]) -> list[Diagnostic]:
    """Diagnostics sent by the registry as JSON."""
    return [_diagnostic(d) for d in items]
