"""``/api/v1/audit``: read the hash-chained log, and verify it on the server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from trustmap import api
from trustmap.server import audit
from trustmap.server.models import AuditEntry, Head
from trustmap.server.routes.deps import Reader, RegistryDep
from trustmap.server.statecheck import state_checks

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", summary="Audit entries in order")
def read_audit(
    registry: RegistryDep,
    _: Reader,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    """Entries with ``seq > after``, oldest first, and the head (last seq and hash)."""
    with registry.database.reading() as session:
        head = session.get(Head, 1)
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(limit)
        ).all()
        entries = [audit.entry_to_dict(audit.entry_of(r)) for r in rows]
    return {
        "head": {
            "seq": head.audit_seq if head else 0,
            "hash": head.audit_hash if head else "0" * 64,
        },
        "entries": entries,
    }


@router.get("/audit/verify", summary="Verify the audit chain on the server")
def verify_audit(registry: RegistryDep, _: Reader) -> dict[str, Any]:
    """Recompute every hash and link, check the stored declarations, versions, approvals,
    tokens, team heads and owners against what the log recorded, and (with an audit key) every
    signature; ``valid`` is false on any difference."""
    with registry.database.reading() as session:
        count, breaks, head = audit.verify(session)
        stored = session.get(Head, 1)
        read = list(audit.entries(session))
        breaks += state_checks(session, read, stored.version if stored else 0)
        if registry.database.audit_key:
            breaks += api.audit_signature_breaks(read, registry.database.audit_key)
    return {
        "valid": not breaks,
        "entries": count,
        "head": {"seq": head[0], "hash": head[1]},
        "breaks": [{"seq": b.seq, "problem": b.problem} for b in breaks],
    }


@router.get("/audit/state", summary="The state the audit log vouches for")
def audit_state(registry: RegistryDep, _: Reader) -> dict[str, Any]:
    """Approvals, tokens (holders and hashes hashed), team heads, owners and the head version,
    as rows: ``trustmap audit verify`` recomputes their digests and compares them with the log."""
    with registry.database.reading() as session:
        head = session.get(Head, 1)
        return {"parts": audit.state_rows(session, head.version if head else 0)}
