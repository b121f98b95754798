"""``trustmap push | pull | pending | approve | reject``: a team's side of the registry."""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

import click
from rich.table import Table

from trustmap.api import declaration_files
from trustmap.cli.client import call, diagnostics_of, refuse, server_options, token_option
from trustmap.cli.common import echo_json, fail, out, stderr
from trustmap.report import render_diagnostics

__all__ = ["approve", "pending", "pull", "push", "reject"]

_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def _relative(file: str) -> str:
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            fail(f"{file} is outside the current directory", "run push from the repository root")
    text = PurePosixPath(*path.parts).as_posix()
    if text.startswith("../"):
        fail(f"{file} is outside the current directory", "run push from the repository root")
    return text


@click.command(
    epilog="""\b
Examples:
  trustmap push teams/payments --team payments --server http://registry:8420 --token $T
  trustmap push services/ --team payments --message "checkout calls fraud-check"
  trustmap push services/ --team payments --if-match '"payments@41"'  # unless pushed since

\b
The files replace the team's whole set, atomically. Exit status: 0 accepted, 1 findings
(errors in the files, or declarations the team does not own), 2 usage, refused or unreachable.
"""
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--team", required=True, help="The team (push scope) the files belong to.")
@click.option("--message", "-m", default="", help="Why; shown in the version history.")
@click.option(
    "--if-match", "if_match", metavar="ETAG", help="Only apply on top of this version (from pull)."
)
@server_options
@token_option(required=True)
@_FORMAT
def push(
    paths: tuple[str, ...],
    team: str,
    message: str,
    if_match: str | None,
    server: str,
    token: str,
    fmt: str,
) -> None:
    """Push a team's declaration files to the registry (all or nothing)."""
    files, problems = declaration_files(paths)
    if problems:
        sys.stderr.write(render_diagnostics(problems))
        sys.exit(2)
    body = {
        "files": [
            {"path": _relative(f), "content": Path(f).read_text(encoding="utf-8")} for f in files
        ],
        "message": message,
    }
    if if_match is None:
        current = call(server, token, "GET", f"/api/v1/teams/{team}/declarations")
        if current.status_code != 200:
            refuse(current)
        if_match = current.headers.get("ETag", "*")
    response = call(
        server,
        token,
        "PUT",
        f"/api/v1/teams/{team}/declarations",
        json=body,
        headers={"If-Match": if_match},
    )
    if response.status_code != 200:
        refuse(response)
    result = response.json()
    if fmt == "json":
        echo_json(result)
        return
    sys.stdout.write(render_diagnostics(diagnostics_of(result["diagnostics"])))
    if result["unchanged"]:
        out.print(f"team {team}: unchanged (version {result['version']})", highlight=False)
        return
    out.print(
        f"team {team}: version {result['version']} (ETag {result['etag']}), "
        f"{len(result['opened'])} flows opened, {len(result['closed'])} closed",
        highlight=False,
    )
    for flow in result["opened"]:
        out.print(f"  [green]+ {flow}[/]", highlight=False)
    for flow in result["closed"]:
        out.print(f"  [red]- {flow}[/]", highlight=False)
    for waiting in result["pending"]:
        out.print(
            f"  [yellow]pending[/] #{waiting['id']} {waiting['edge']} (owners of {waiting['providerTeam']} decide)",
            highlight=False,
        )
    if result["introduced"]:
        stderr.print(
            "[yellow]note:[/] this push breaks declarations of other teams:", highlight=False
        )
        sys.stderr.write(render_diagnostics(diagnostics_of(result["introduced"])))


@click.command(
    epilog="""\b
Examples:
  trustmap pull --team payments --server http://registry:8420 --out teams/payments
  trustmap pull --team payments --version 40 --out /tmp/as-of-40
"""
)
@click.option("--team", required=True, help="The team whose files to fetch.")
@click.option(
    "--out",
    "out_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
)
@click.option(
    "--version", "at", type=click.IntRange(min=0), help="As of this version (default: latest)."
)
@server_options
@token_option(required=False)
def pull(team: str, out_dir: str, at: int | None, server: str, token: str | None) -> None:
    """Fetch a team's declaration files from the registry and write them under --out."""
    params = {"version": at} if at is not None else {}
    response = call(server, token, "GET", f"/api/v1/teams/{team}/declarations", params=params)
    if response.status_code != 200:
        refuse(response)
    result = response.json()
    root = Path(out_dir).resolve()
    for item in result["files"]:
        target = (root / item["path"]).resolve()
        if root not in target.parents:
            fail(f"the registry sent an unsafe path: {item['path']}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item["content"], encoding="utf-8")
    out.print(
        f"team {team}: {len(result['files'])} files of version {result['version']} written to "
        f"{out_dir} (ETag {result['etag']}; push with --if-match '{result['etag']}')",
        highlight=False,
    )


@click.command(
    epilog="""\b
Examples:
  trustmap pending --server http://registry:8420
  trustmap pending --team payments --format json
"""
)
@click.option("--team", help="Only requests where this team calls or provides.")
@server_options
@token_option(required=False)
@_FORMAT
def pending(team: str | None, server: str, token: str | None, fmt: str) -> None:
    """List dependencies waiting for their provider's approval."""
    params = {"state": "pending", **({"team": team} if team else {})}
    response = call(server, token, "GET", "/api/v1/approvals", params=params)
    if response.status_code != 200:
        refuse(response)
    rows = response.json()["approvals"]
    if fmt == "json":
        echo_json(rows)
        return
    table = Table(
        "id",
        "caller",
        "provider interface",
        "reason",
        "decided by owners of",
        title=f"{len(rows)} pending",
    )
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["caller"],
            f"{row['target']}:{row['interface']}",
            row["reason"],
            row["providerTeam"],
        )
    out.print(table)


def _decide(edge: str, comment: str, server: str, token: str, action: str) -> None:
    approval_id = edge if edge.isdigit() else _find(edge, server, token)
    response = call(
        server,
        token,
        "POST",
        f"/api/v1/approvals/{approval_id}/{action}",
        json={"comment": comment},
    )
    if response.status_code != 200:
        refuse(response)
    row = response.json()
    out.print(f"#{row['id']} {row['edge']}: {row['state']} by {row['decidedBy']}", highlight=False)


def _find(edge: str, server: str, token: str) -> str:
    wanted = edge.replace(" ", "")
    rows = []
    for state in ("pending", "approved", "rejected"):
        found = call(server, token, "GET", "/api/v1/approvals", params={"state": state})
        if found.status_code != 200:
            refuse(found)
        rows += found.json()["approvals"]
    for row in rows:
        if row["edge"].replace(" ", "") == wanted:
            return str(row["id"])
    fail(
        f"no approval request for '{edge}'",
        "write it as caller->namespace/name:interface, or give its id (trustmap pending)",
    )


_DECIDE_EPILOG = """\b
Examples:
  trustmap {name} 12 --comment "ok for the fraud check" --server http://registry:8420 --token $T
  trustmap {name} 'shop/checkout->shop/fraud:grpc' --server http://registry:8420 --token $T

\b
Only an owner of the provider's team may decide (a token of that team issued to a person or
group listed in its Team owners).
"""


@click.command(epilog=_DECIDE_EPILOG.format(name="approve"))
@click.argument("edge")
@click.option("--comment", default="", help="Why (kept in the audit log).")
@server_options
@token_option(required=True)
def approve(edge: str, comment: str, server: str, token: str) -> None:
    """Approve a pending dependency on your team's interface (EDGE: id or caller->target:interface)."""
    _decide(edge, comment, server, token, "approve")


@click.command(epilog=_DECIDE_EPILOG.format(name="reject"))
@click.argument("edge")
@click.option("--comment", default="", help="Why (kept in the audit log).")
@server_options
@token_option(required=True)
def reject(edge: str, comment: str, server: str, token: str) -> None:
    """Reject a pending dependency, or revoke an approved one."""
    _decide(edge, comment, server, token, "reject")
