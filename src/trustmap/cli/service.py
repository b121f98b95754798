"""``trustmap service transfer | accept | withdraw | transfers``: moving a service between teams.

A service belongs to the team that first declared it; only an owner of that team can offer it,
and only an owner of the receiving team can accept, so no team can take another's service.
"""

from __future__ import annotations

from typing import Any

import click

from trustmap.cli.client import call, refuse, server_options, token_option
from trustmap.cli.common import echo_json, fail, out

__all__ = ["service"]

_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@click.group(
    epilog="""\b
Examples:
  trustmap service transfer default/cartservice --to checkout-team   # an owner of cart-team
  trustmap service transfers --state pending
  trustmap service accept 3                                          # an owner of checkout-team
"""
)
def service() -> None:
    """Move a service between teams (offered by its owners, accepted by the receivers')."""


@service.command(epilog="Exit status: 0 offered, 2 refused or unreachable.")
@click.argument("ref", metavar="NAMESPACE/NAME")
@click.option("--to", "to_team", required=True, help="The team that should own the service.")
@server_options
@token_option(required=True)
@_FORMAT
def transfer(ref: str, to_team: str, server: str, token: str, fmt: str) -> None:
    """Offer a service your team owns to another team."""
    namespace, _, name = ref.partition("/")
    if not namespace or not name or "/" in name:
        fail(f"'{ref}' is not namespace/name", "e.g. default/cartservice")
    response = call(
        server, token, "POST", f"/api/v1/services/{namespace}/{name}/transfer", json={"to": to_team}
    )
    _show(response, fmt, "offered")


@service.command(epilog="Exit status: 0 accepted, 2 refused or unreachable.")
@click.argument("transfer_id", type=click.IntRange(min=1))
@server_options
@token_option(required=True)
@_FORMAT
def accept(transfer_id: int, server: str, token: str, fmt: str) -> None:
    """Accept a service offered to your team."""
    response = call(server, token, "POST", f"/api/v1/transfers/{transfer_id}/accept")
    _show(response, fmt, "accepted")


@service.command(epilog="Exit status: 0 withdrawn, 2 refused or unreachable.")
@click.argument("transfer_id", type=click.IntRange(min=1))
@server_options
@token_option(required=True)
@_FORMAT
def withdraw(transfer_id: int, server: str, token: str, fmt: str) -> None:
    """Withdraw a waiting transfer (an owner of either team)."""
    response = call(server, token, "POST", f"/api/v1/transfers/{transfer_id}/withdraw")
    _show(response, fmt, "withdrawn")


@service.command(epilog="Example: trustmap service transfers --state pending --format json")
@click.option("--state", type=click.Choice(["pending", "accepted", "withdrawn"]))
@server_options
@token_option(required=False)
@_FORMAT
def transfers(state: str | None, server: str, token: str | None, fmt: str) -> None:
    """List service transfers."""
    params = {"state": state} if state else {}
    response = call(server, token, "GET", "/api/v1/transfers", params=params)
    if response.status_code != 200:
        refuse(response)
    rows = response.json()["transfers"]
    if fmt == "json":
        echo_json(rows)
        return
    for row in rows:
        out.print(_line(row), highlight=False)
    if not rows:
        out.print("no transfers", highlight=False)


def _show(response: Any, fmt: str, done: str) -> None:
    if response.status_code not in (200, 201):
        refuse(response)
    row = response.json()
    if fmt == "json":
        echo_json(row)
    else:
        out.print(f"{done}: {_line(row)}", highlight=False)


def _line(row: dict[str, Any]) -> str:
    return (
        f"#{row['id']} {row['service']}: {row['fromTeam']} -> {row['toTeam']} ({row['state']}, "
        f"asked by {row['requestedBy']})"
    )
