"""``trustmap audit verify | anchor``: check a registry's audit log and the state it vouches for,
trusting nothing the server computed.

The entries are fetched over the API and every hash and link is recomputed here with
:mod:`trustmap.auditchain`, so an edited, deleted or reordered entry is found even when the
server itself does not say so. The stored state is checked too: the digests of approvals,
tokens, team heads, owners and the head version are recomputed from their rows and compared with
the last entry that recorded them, each team's current files are hashed and compared with its
last push entry, and the server's own checks of every version's files are added. A database
rewritten as a whole (state, chain and head rebuilt) is caught by anchors kept outside it:
``trustmap audit anchor`` appends the head to a file (committed when the file is in a git
repository), ``audit verify --anchor FILE`` requires every anchored entry to be unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import click

from trustmap import api
from trustmap.auditchain import Break, Entry
from trustmap.cli.client import call, refuse, server_options, token_option
from trustmap.cli.common import echo_json, fail, out, stderr

__all__ = ["audit"]


@click.group(
    epilog="""\b
Examples:
  trustmap audit verify --server http://registry:8420
  trustmap audit verify --anchor 1200:9f2c...   # the entry recorded last month must still be there
  trustmap audit anchor --file /secure/anchors.txt   # append the head (commit it if in a git repo)
  trustmap audit verify --anchor /secure/anchors.txt
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
    metavar="SEQ:HASH|FILE",
    help="An entry recorded earlier (printed by verify, or a file written by 'audit anchor') "
    "that must be unchanged.",
)
@click.option(
    "--key-file",
    envvar="TRUSTMAP_AUDIT_KEY_FILE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The registry's audit key: every entry's signature is checked too.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def verify(
    server: str, token: str | None, anchors: tuple[str, ...], key_file: Path | None, fmt: str
) -> None:
    """Recompute the audit log's hash chain and report any edited, deleted or reordered entry."""
    entries, head = _fetch(server, token)
    breaks = api.verify_audit_log(entries, head) + _state(server, token, entries)
    if key_file is not None:
        lines = key_file.read_text(encoding="utf-8").splitlines()
        breaks += api.audit_signature_breaks(entries, (lines[0].strip() if lines else "").encode())
    by_seq = {e.seq: e.hash for e in entries}
    for anchor in _anchors(anchors):
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


def _anchors(given: tuple[str, ...]) -> list[str]:
    """``SEQ:HASH`` values, reading files written by ``audit anchor`` (one anchor a line)."""
    found = []
    for item in given:
        path = Path(item)
        if ":" not in item or path.is_file():
            if not path.is_file():
                fail(f"anchor {item} is neither SEQ:HASH nor a readable file")
            lines = path.read_text(encoding="utf-8").splitlines()
            found += [line.split()[0] for line in lines if line.strip() and line[0].isdigit()]
        else:
            found.append(item)
    return found


def _state(server: str, token: str | None, entries: list[Entry]) -> list[Break]:
    """The stored state against the log: digests, current files, and the server's own checks."""
    answer = call(server, token, "GET", "/api/v1/audit/state")
    if answer.status_code != 200:
        refuse(answer)
    breaks = api.audit_state_breaks(entries, answer.json()["parts"])
    breaks += _current_files(server, token, entries)
    checked = call(server, token, "GET", "/api/v1/audit/verify")
    if checked.status_code == 200:
        seen = {(b.seq, b.problem) for b in breaks}
        breaks += [
            Break(b["seq"], f"server: {b['problem']}")
            for b in checked.json()["breaks"]
            if (b["seq"], b["problem"]) not in seen
        ]
    return breaks


def _current_files(server: str, token: str | None, entries: list[Entry]) -> list[Break]:
    last: dict[str, tuple[Entry, dict[str, Any]]] = {}
    for entry in entries:
        if entry.action == "push":
            last[entry.subject.removeprefix("team:")] = (entry, json.loads(entry.detail))
    breaks = []
    for team, (entry, detail) in sorted(last.items()):
        answer = call(
            server,
            token,
            "GET",
            f"/api/v1/teams/{team}/declarations",
            params={"version": detail["version"], "raw": "true"},
        )
        if answer.status_code != 200:
            breaks.append(Break(entry.seq, f"team {team}: version {detail['version']} is gone"))
            continue
        files = {
            f["path"]: hashlib.sha256(f["content"].encode()).hexdigest()
            for f in answer.json()["files"]
        }
        if files != detail.get("files"):
            breaks.append(Break(entry.seq, f"team {team}: files differ from its last push"))
    return breaks


@audit.command(
    epilog="""\b
Examples:
  trustmap audit anchor --file /secure/anchors.txt
  trustmap audit anchor --file ~/audit-anchors/registry.txt   # in a git repo: committed too

\b
Keep the file where whoever can write the registry's database cannot (another host, a git
remote, WORM storage). 'trustmap audit verify --anchor FILE' then catches a rewritten database.
"""
)
@server_options
@token_option(required=False)
@click.option(
    "--file",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the head here (one 'SEQ:HASH TIME SERVER' line).",
)
def anchor(server: str, token: str | None, target: Path) -> None:
    """Append the audit log's head to a file kept outside the database."""
    answer = call(server, token, "GET", "/api/v1/audit", params={"after": 0, "limit": 1})
    if answer.status_code != 200:
        refuse(answer)
    head = answer.json()["head"]
    line = f"{head['seq']}:{head['hash']} {_now()} {server}\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(line)
    committed = _commit(target)
    out.print(
        f"anchored entry {head['seq']} in {target}{' (committed)' if committed else ''}",
        highlight=False,
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _commit(target: Path) -> bool:
    """Commit the anchor file when it lives in a git work tree; whether it was committed."""
    folder = str(target.resolve().parent)
    inside = subprocess.run(
        ["git", "-C", folder, "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        check=False,
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return False
    for command in (
        ["git", "-C", folder, "add", "--", target.name],
        ["git", "-C", folder, "commit", "-q", "-m", "trustmap audit anchor", "--", target.name],
    ):
        if subprocess.run(command, capture_output=True, check=False).returncode != 0:
            return False
    return True


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
