"""The append-only, hash-chained audit log: appending inside write transactions, and verifying.

Appends happen in the same transaction as the change they record, with the head row locked, so
the log has no gaps and its order is the commit order. The chain itself is defined in
:mod:`trustmap.auditchain`, shared with the CLI's ``trustmap audit verify``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustmap import api
from trustmap.auditchain import Break, Entry, entry_hash, entry_mac, state_digest
from trustmap.server.models import Approval, AuditEntry, Head, ServiceOwner, TeamHead, Token

__all__ = ["append", "entries", "entry_of", "entry_to_dict", "now", "state_rows", "verify"]


def now() -> str:
    """The current UTC time, ISO 8601 with microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def append(
    session: Session, head: Head, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> AuditEntry:
    """Add one entry after the head's tip and move the tip (the caller holds the head lock).

    Every entry but a denial records the digest of the stored state after the change
    (:func:`state_rows`), so a later change of that state outside the registry shows."""
    if action != "denied":
        session.flush()
        detail = {**detail, "state": state_digest(state_rows(session, head.version))}
    seq, at = head.audit_seq + 1, now()
    actor, subject = actor[:320], subject[:600]
    text = json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = entry_hash(seq, at, actor, action, subject, text, head.audit_hash)
    row = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=text,
        prev_hash=head.audit_hash,
        hash=digest,
        mac=entry_mac(key, digest) if (key := session.info.get("audit_key")) else None,
    )
    session.add(row)
    head.audit_seq, head.audit_hash = seq, digest
    return row


def entries(session: Session, batch: int = 1000) -> Iterator[Entry]:
    """Every stored entry in ``seq`` order, read in batches."""
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
        ).all()
        for row in rows:
            yield entry_of(row)
        if len(rows) < batch:
            return
        after = rows[-1].seq


def entry_of(row: AuditEntry) -> Entry:
    return Entry(
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.subject,
        row.detail,
        row.prev_hash,
        row.hash,
        row.mac,
    )


def verify(session: Session) -> tuple[int, list[Break], tuple[int, str]]:
    """Check the whole log against itself and the head row: (entries read, breaks, head)."""
    head_row = session.get(Head, 1)
    head = (head_row.audit_seq, head_row.audit_hash) if head_row else (0, "0" * 64)
    read = list(entries(session))
    return len(read), api.verify_audit_log(read, head), head


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    """An entry as JSON (``detail`` stays the exact stored text so hashes can be recomputed)."""
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "mac": entry.mac,
    }


def state_rows(session: Session, version: int) -> dict[str, list[list[Any]]]:
    """The state the log vouches for, as rows. Tokens show only their id, team and revocation
    in clear: their holder and hash are hashed (again), so readers learn no principal."""
    approvals = session.execute(
        select(
            Approval.id,
            Approval.caller,
            Approval.target,
            Approval.interface,
            Approval.caller_team,
            Approval.provider_team,
            Approval.state,
            Approval.reason,
            Approval.methods,
            Approval.expires,
            Approval.revision,
            Approval.granted_by,
            Approval.granted_methods,
            Approval.granted_expires,
        )
    ).all()
    tokens = session.execute(
        select(Token.id, Token.team, Token.principal, Token.hash, Token.revoked_at)
    ).all()
    return {
        "approvals": [list(row) for row in approvals],
        "tokens": [
            [i, team, _sha(who), _sha(digest), revoked] for i, team, who, digest, revoked in tokens
        ],
        "team_heads": [list(r) for r in session.execute(select(TeamHead.team, TeamHead.version))],
        "owners": [list(r) for r in session.execute(select(ServiceOwner.ref, ServiceOwner.team))],
        "head": [[version]],
    }


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
