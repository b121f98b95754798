"""Checking the stored state against the audit log, not only the log against itself.

The hash chain proves the log was not edited; these checks prove the state the registry serves
is the state the log describes. Someone with write access to the database who changes a row
without going through the registry is caught as follows:

* approvals, tokens, team heads, service owners and the head version: every state-changing
  entry records a digest of them (:func:`trustmap.server.audit.state_rows`), so a stored state
  that differs from the last recorded digest is reported, naming the part;
* declarations: every push entry records each file's SHA-256; the stored files of that version
  must be exactly those, and each stored content must still hash to it;
* versions: every version row must be named by the entry that created it (push, approval,
  revocation, transfer) with the same team and flow counts, and every such entry's version must
  exist.

Rebuilding the whole log to match a rewritten state is caught only from outside the database:
anchors (``trustmap audit anchor``) or signed entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustmap import api
from trustmap.auditchain import Break, Entry
from trustmap.server.audit import state_rows
from trustmap.server.models import Version, VersionFile

__all__ = ["state_checks"]

_VERSIONED = ("push", "approve", "reject", "transfer.accept")


def state_checks(session: Session, entries: Sequence[Entry], version: int) -> list[Break]:
    """Every difference between the stored state and what ``entries`` recorded."""
    return (
        api.audit_state_breaks(entries, state_rows(session, version))
        + _file_breaks(session, entries)
        + _version_breaks(session, entries)
    )


def _detail(entry: Entry) -> dict[str, Any]:
    try:
        found = json.loads(entry.detail)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _file_breaks(session: Session, entries: Sequence[Entry]) -> list[Break]:
    breaks = []
    for entry in entries:
        detail = _detail(entry)
        if entry.action != "push" or not isinstance(detail.get("files"), dict):
            continue
        rows = session.execute(
            select(VersionFile.path, VersionFile.sha256, VersionFile.content).where(
                VersionFile.version == detail.get("version")
            )
        ).all()
        stored = {path: digest for path, digest, _ in rows}
        if stored != detail["files"]:
            breaks.append(
                Break(entry.seq, f"files of version {detail.get('version')} differ from the push")
            )
        for path, digest, content in rows:
            if hashlib.sha256(content.encode()).hexdigest() != digest:
                breaks.append(
                    Break(entry.seq, f"{path} of version {detail.get('version')} was edited")
                )
    return breaks


def _version_breaks(session: Session, entries: Sequence[Entry]) -> list[Break]:
    named: dict[int, Entry] = {}
    for entry in entries:
        number = _detail(entry).get("version")
        if entry.action in _VERSIONED and isinstance(number, int):
            named[number] = entry
    breaks = []
    rows = {row.number: row for row in session.scalars(select(Version)).all()}
    for number, row in sorted(rows.items()):
        creator = named.get(number)
        if creator is None:
            breaks.append(Break(0, f"version {number} has no audit entry (added outside)"))
        elif creator.action == "push" and not _same_push(row, creator):
            breaks.append(Break(creator.seq, f"version {number} differs from its push entry"))
    for number, entry in sorted(named.items()):
        if number not in rows:
            breaks.append(Break(entry.seq, f"version {number} recorded here is missing"))
    return breaks


def _same_push(row: Version, entry: Entry) -> bool:
    detail = _detail(entry)
    return (
        row.kind == "push"
        and f"team:{row.team}" == entry.subject
        and row.actor == entry.actor
        and row.message == detail.get("message")
        and (row.opened, row.closed) == (detail.get("opened"), detail.get("closed"))
    )
