"""Drift in the registry: the merged graph compared with observed flows, when flows are present.

Flows come from a DuckDB flow database written by ``trustmap observe ingest`` (setting
``flows_db``). The report is cached per graph version and database modification time, since
comparing a window of flows costs far more than a page view.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from trustmap import api
from trustmap.errors import InputError
from trustmap.server.errors import ApiError
from trustmap.server.state import Snapshot
from trustmap.server.store import Registry

__all__ = ["drift_report", "service_drift"]


def drift_report(registry: Registry, snapshot: Snapshot) -> dict[str, Any] | None:
    """The drift report as JSON, or ``None`` when the registry has no flow database."""
    setting = registry.settings.flows_db
    if not setting or not Path(setting).is_file():
        return None
    path = Path(setting)
    key = (snapshot.version, snapshot.today.isoformat(), path.stat().st_mtime)
    cached: dict[str, Any] | None = registry.drifts.get(key)
    if cached is not None:
        return cached
    window = dt.timedelta(days=registry.settings.drift_window_days)
    try:
        report = api.drift(snapshot.graph, path, since=window).to_json()
    except ImportError as error:  # the observe extra (DuckDB) is not installed
        raise ApiError(501, f"drift needs the observe extra: {error}") from None
    except InputError as error:
        raise ApiError(409, f"the flow database cannot be read: {error}") from None
    result = {"version": snapshot.version, "flowsDb": path.name, **report}
    registry.drifts.put(key, result)
    return result


def service_drift(report: dict[str, Any] | None, ref: str) -> list[dict[str, Any]] | None:
    """Drift entries involving service ``ref`` (``None`` when there is no flow data)."""
    if report is None:
        return None
    found = []
    for category, entries in report.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if ref in (entry.get("source"), entry.get("destination")):
                found.append({"category": category, **entry})
    return found
