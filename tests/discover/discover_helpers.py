"""Helpers for the discover tests: the shared apps and samples, and validating drafts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from trustmap.discover import Discovery, DraftDependency, DraftService, write_drafts
from trustmap.graph import load_graph

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared"
APPS = SHARED / "apps"
HUBBLE = SHARED / "samples" / "hubble" / "hubble-otel-testdata"
FIXTURES = ROOT / "tests" / "fixtures" / "discover"
TODAY = dt.date(2026, 11, 23)


def service(found: Discovery, ref: str) -> DraftService:
    """The draft ``ref`` (``namespace/name``)."""
    matches = [s for s in found.services if s.ref == ref]
    assert matches, f"no draft {ref}; drafts: {[s.ref for s in found.services]}"
    return matches[0]


def dependency(found: Discovery, caller: str, target: str) -> DraftDependency:
    """The draft dependency of ``caller`` on ``target``."""
    deps = [d for d in service(found, caller).dependencies if d.service == target]
    assert len(deps) == 1, f"{caller} → {target}: {deps}"
    return deps[0]


def edges(found: Discovery) -> set[tuple[str, str, str]]:
    """``(caller, target, interface)`` of every draft dependency."""
    return {(s.ref, d.service, d.interface) for s in found.services for d in s.dependencies}


def validate_codes(found: Discovery, out: Path) -> Counter[str]:
    """Write the drafts and count the codes `trustmap validate` reports on them, after checking
    that every TM212 is a TODO placeholder (one per dependency) and nothing is an error but
    those."""
    write_drafts(found, out)
    graph = load_graph([out], TODAY)
    codes = Counter(d.code for d in graph.diagnostics)
    todo = [d for d in graph.diagnostics if d.code == "TM212"]
    assert all("placeholder reason: 'TODO: discovered from" in d.message for d in todo), todo
    assert len(todo) == found.dependencies
    assert len(graph.services) == len(found.services)
    return codes
