"""Helpers for the observe tests: the sample captures in ../shared/samples, the flow table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
HUBBLE = SAMPLES / "hubble" / "hubble-otel-testdata"


def rows(db: Path, where: str = "true") -> list[dict[str, Any]]:
    """Flows of a database as dicts, in a stable order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(
            f"SELECT * FROM flows WHERE {where} ORDER BY time NULLS LAST, src_ip, src_port, "
            "dst_ip, dst_port, direction, verdict, l7_path, l7_status, src_workload, dst_workload"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def nonblank_lines(path: Path) -> int:
    """Lines with content: what a line-oriented parser must account for."""
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())
