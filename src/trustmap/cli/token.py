"""``trustmap token create | list | revoke``: the admin issues and revokes team tokens.

The admin token is read from ``TRUSTMAP_ADMIN_TOKEN`` or a file (``--admin-token-file``), never
from the command line, where every user of the machine can read it (``ps``, shell history).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from trustmap.cli.client import call, refuse, server_options
from trustmap.cli.common import echo_json, fail, out

__all__ = ["token"]

_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
_FILE = click.option(
    "--admin-token-file",
    envvar="TRUSTMAP_ADMIN_TOKEN_FILE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File holding the admin token (default: env TRUSTMAP_ADMIN_TOKEN).",
)


@click.group(
    epilog="""\b
Examples:
  export TRUSTMAP_ADMIN_TOKEN_FILE=/run/secrets/trustmap-admin
  trustmap token create --team payments --principal alice@example.com --name laptop
  trustmap token list --format json
  trustmap token revoke 7
"""
)
def token() -> None:
    """Issue, list and revoke team tokens (admin)."""


def _admin(path: Path | None) -> str:
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        secret = lines[0].strip() if lines else ""
    else:
        secret = os.environ.get("TRUSTMAP_ADMIN_TOKEN", "")
    if not secret:
        fail(
            "no admin token",
            "set TRUSTMAP_ADMIN_TOKEN or give --admin-token-file (never the token itself)",
        )
    return secret


@token.command(epilog="The secret is printed once; the registry keeps only its SHA-256.")
@click.option("--team", required=True, help="The team the token acts for.")
@click.option("--principal", required=True, help="Who holds it (a Team owner to approve).")
@click.option("--name", default="", help="A label, e.g. 'ci' or 'laptop'.")
@server_options
@_FILE
@_FORMAT
def create(
    team: str, principal: str, name: str, server: str, admin_token_file: Path | None, fmt: str
) -> None:
    """Issue a token for a team."""
    body = {"team": team, "principal": principal, "name": name}
    answer = call(server, _admin(admin_token_file), "POST", "/api/v1/tokens", json=body)
    if answer.status_code != 201:
        refuse(answer)
    row = answer.json()
    if fmt == "json":
        echo_json(row)
        return
    out.print(f"token #{row['id']} for {team} held by {principal}:", highlight=False)
    out.print(row["token"], highlight=False, soft_wrap=True)


@token.command("list", epilog="Secrets are never shown; revoked tokens are listed too.")
@server_options
@_FILE
@_FORMAT
def list_tokens(server: str, admin_token_file: Path | None, fmt: str) -> None:
    """List every token (newest first)."""
    answer = call(server, _admin(admin_token_file), "GET", "/api/v1/tokens")
    if answer.status_code != 200:
        refuse(answer)
    rows: list[dict[str, Any]] = answer.json()["tokens"]
    if fmt == "json":
        echo_json(rows)
        return
    table = Table("id", "team", "principal", "name", "created", "revoked", title="tokens")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["team"],
            row["principal"],
            row["name"],
            row["created_at"],
            row["revoked_at"] or "",
        )
    out.print(table)


@token.command(epilog="Revoking is immediate and also ends the web sessions logged in with it.")
@click.argument("token_id", type=click.IntRange(min=1))
@server_options
@_FILE
@_FORMAT
def revoke(token_id: int, server: str, admin_token_file: Path | None, fmt: str) -> None:
    """Revoke a token."""
    answer = call(server, _admin(admin_token_file), "DELETE", f"/api/v1/tokens/{token_id}")
    if answer.status_code != 200:
        refuse(answer)
    row = answer.json()
    if fmt == "json":
        echo_json(row)
    else:
        out.print(
            f"token #{row['id']} ({row['team']}, {row['principal']}) revoked", highlight=False
        )
