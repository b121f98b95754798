"""A bounded load test on loopback: 20 teams push and read concurrently for ~10 s; no update is
lost, no request errors, and the audit chain verifies (the 30 s run lives in benchmarks/)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from registry_helpers import ADMIN

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import registry_load

pytestmark = pytest.mark.slow


def test_concurrent_teams_lose_no_update_and_keep_a_valid_audit_chain(registry_url: str) -> None:
    report = registry_load.run(registry_url, ADMIN, teams=20, seconds=8)
    assert report.errors == []
    assert len(report.accepted) >= 20
    assert report.reads >= 50
    assert registry_load.lost_updates(registry_url, report) == []
    chain = httpx.get(f"{registry_url}/api/v1/audit/verify", timeout=120).json()
    assert chain["valid"] is True
    assert chain["entries"] >= len(report.accepted)
    with httpx.Client(base_url=registry_url, timeout=60) as http:
        head = http.get("/api/v1/versions", params={"limit": 1}).json()["versions"][0]["version"]
        opened = set(http.get("/api/v1/diff", params={"base": 0, "head": head}).json()["opened"])
        edges = http.get("/api/v1/graph").json()["edges"]
    assert opened == {
        f"{e['source']} -> {e['target']}:{e['interface']} ({e['port']}/{e['protocol']})"
        for e in edges
    }
