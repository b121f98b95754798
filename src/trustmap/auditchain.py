"""The audit log's hash chain: how an entry's hash is computed and how a chain is verified.

Pure and dependency-free so that the registry server (which writes the log) and the CLI (which
verifies a log fetched over HTTP, trusting nothing the server computed) share one definition.
Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting or
reordering any entry breaks every later link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "GENESIS",
    "STATE_PARTS",
    "Break",
    "Entry",
    "entry_hash",
    "entry_mac",
    "signature_breaks",
    "state_breaks",
    "state_digest",
    "verify_chain",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit record as stored."""

    seq: int
    """Position in the log, from 1, without gaps."""
    at: str
    """UTC time, ISO 8601."""
    actor: str
    """Who acted: ``team:principal``, ``admin`` or ``anonymous``."""
    action: str
    """What happened: push, approve, reject, token.create, token.revoke, denied..."""
    subject: str
    """What it happened to: a team, an edge, a token id, a request path."""
    detail: str
    """Canonical JSON with the particulars."""
    prev_hash: str
    """Hash of the previous entry (:data:`GENESIS` for the first)."""
    hash: str
    """Hash of this entry: :func:`entry_hash` of the fields above."""
    mac: str | None = None
    """HMAC-SHA256 of ``hash`` under the audit key (kept outside the database), when signed."""


@dataclass(frozen=True, slots=True)
class Break:
    """A place where the chain does not hold."""

    seq: int
    """The entry where the problem shows."""
    problem: str
    """What is wrong, in words."""


def entry_hash(
    seq: int, at: str, actor: str, action: str, subject: str, detail: str, prev_hash: str
) -> str:
    """SHA-256 (hex) of the entry's fields and the previous hash, in a canonical encoding."""
    fields = [seq, at, actor, action, subject, detail, prev_hash]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify_chain(entries: Iterable[Entry], head: tuple[int, str] | None = None) -> list[Break]:
    """Every break in ``entries`` (in stored order); empty when the chain is intact.

    Args:
        entries: the whole log, in the order it was read (by ``seq``).
        head: the ``(seq, hash)`` the log must end with, when known (the registry's head row,
            or an anchor an auditor recorded earlier): catches a truncated tail.
    """
    breaks: list[Break] = []
    expected_seq, previous = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            breaks.append(Break(entry.seq, f"expected entry {expected_seq}, found {entry.seq}"))
        if entry.prev_hash != previous:
            breaks.append(Break(entry.seq, "does not link to the previous entry's hash"))
        recomputed = entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.detail,
            entry.prev_hash,
        )
        if recomputed != entry.hash:
            breaks.append(Break(entry.seq, "content does not match its hash (entry was edited)"))
        expected_seq, previous = entry.seq + 1, entry.hash
    if head is not None and (expected_seq - 1, previous) != head:
        ends = f"log ends at entry {expected_seq - 1} ({previous[:12]})"
        breaks.append(Break(head[0], f"{ends}, but the head is entry {head[0]} ({head[1][:12]})"))
    return breaks


STATE_PARTS = ("approvals", "tokens", "team_heads", "owners", "head")
"""The stored state every state-changing entry records a digest of, part by part."""


def state_digest(parts: dict[str, list[list[object]]]) -> dict[str, str]:
    """SHA-256 (hex) of each part's rows (sorted, canonical JSON): what an entry records as
    ``state`` and what a verifier recomputes from the stored rows."""
    digests = {}
    for name in STATE_PARTS:
        rows = sorted(parts.get(name, []), key=lambda row: json.dumps(row, ensure_ascii=False))
        canonical = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        digests[name] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return digests


def state_breaks(entries: Iterable[Entry], stored: dict[str, str]) -> list[Break]:
    """Parts of the stored state whose digest differs from the last entry that recorded one."""
    last: Entry | None = None
    for entry in entries:
        if '"state":' in entry.detail:
            last = entry
    if last is None:
        return []
    recorded = json.loads(last.detail).get("state", {})
    return [
        Break(
            last.seq,
            f"stored {name.replace('_', ' ')} differ from what entry {last.seq} recorded "
            "(changed outside the registry)",
        )
        for name in STATE_PARTS
        if name in recorded and recorded[name] != stored.get(name)
    ]


def entry_mac(key: bytes, digest: str) -> str:
    """The signature of an entry: HMAC-SHA256 of its hash under ``key``."""
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def signature_breaks(entries: Sequence[Entry], key: bytes) -> list[Break]:
    """With the audit key: every signature must be valid, none may be missing after the first
    signed entry, and the last entry must be signed. A database rewritten without the key
    (entries and head rebuilt, signatures dropped or forged) fails one of these."""
    breaks: list[Break] = []
    signed = False
    for entry in entries:
        if entry.mac is None:
            if signed:
                breaks.append(Break(entry.seq, "unsigned entry after signed ones"))
            continue
        signed = True
        if not hmac.compare_digest(entry.mac, entry_mac(key, entry.hash)):
            breaks.append(
                Break(entry.seq, "signature does not match (not written by the registry)")
            )
    if entries and entries[-1].mac is None:
        breaks.append(Break(entries[-1].seq, "the last entry is not signed"))
    return breaks
