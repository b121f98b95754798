"""``trustmap audit verify``: check a registry's audit log, trusting nothing the server computed.

The entries are fetched over the API and every hash and link is recomputed here with
:mod:`trustmap.auditchain`, so an edited, deleted or reordered entry is found even when the
server itself does not say so.
"""

from __future__ import annotations

import click

from trustmap.api import verify_audit_log
from trustmap.auditchain import Break, Entry
from trustmap.cli.client import call, refuse, server_options, token_option
from trustmap.cli.common import echo_json, out, stderr

__all__ = ["audit"]


@click.group(
    epilog="""\b
Examples:
  trustmap audit verify --server http://registry:8420
  trustmap audit verify --anchor 1200:9f2c...   # the entry recorded last month must still be there
"""
)
def audit() -> None:
    """Inspect the registry's append-only audit log."""


@audit.command(epilog="Exit status: 0 the chain holds, 1 it is broken, 2 unreachable or refused.")
@server_options
@token_option(required=False)
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQ:HASH",
    help="An entry recorded earlier (e.g. printed by a previous verify) that must be unchanged.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def verify(server: str, token: str | None, anchors: tuple[str, ...], fmt: str) -> None:
    """Recompute the audit log's hash chain and report any edited, deleted or reordered entry."""
    entries, head = _fetch(server, token)
    breaks = verify_audit_log(entries, head)
    by_seq = {e.seq: e.hash for e in entries}
    for anchor in anchors:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or by_seq.get(int(seq)) != digest:
            breaks.append(_anchor_break(anchor))
    if fmt == "json":
        echo_json(
            {
                "valid": not breaks,
                "entries": len(entries),
                "head": {"seq": head[0], "hash": head[1]},
                "breaks": [{"seq": b.seq, "problem": b.problem} for b in breaks],
            }
        )
    elif breaks:
        for found in breaks:
            stderr.print(f"[red]entry {found.seq}:[/] {found.problem}", highlight=False)
        stderr.print(
            f"audit log BROKEN: {len(breaks)} problem(s) in {len(entries)} entries", highlight=False
        )
    else:
        out.print(
            f"audit log intact: {len(entries)} entries, head {head[0]}:{head[1]}", highlight=False
        )
    raise SystemExit(1 if breaks else 0)


def _anchor_break(anchor: str) -> Break:
    seq = anchor.partition(":")[0]
    return Break(int(seq) if seq.isdigit() else 0, f"anchor {anchor} does not match the log")


def _fetch(server: str, token: str | None) -> tuple[list[Entry], tuple[int, str]]:
    entries: list[Entry] = []
    head = (0, "0" * 64)
    while True:
        response = call(
            server,
            token,
            "GET",
            "/api/v1/audit",
            params={"after": len(entries) and entries[-1].seq, "limit": 5000},
        )
        if response.status_code != 200:
            refuse(response)
        page = response.json()
        head = (page["head"]["seq"], page["head"]["hash"])
        batch = [Entry(**item) for item in page["entries"]]
        entries += batch
        if len(batch) < 5000:
            return entries, head
