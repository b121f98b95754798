"""Drift in the registry: with a flow database, observed traffic is compared with the merged graph."""

from __future__ import annotations

from pathlib import Path

import httpx
from registry_helpers import push_example
from registry_live import serve

from conftest import settings_for
from trustmap.observe import ingest
from trustmap.server import create_app

FLOWS = """time,src_namespace,src_workload,src_ip,dst_namespace,dst_workload,dst_ip,dst_port,protocol,verdict
2026-11-22T09:00:00Z,default,loadgenerator,10.0.1.5,default,cartservice,10.0.2.7,7070,TCP,FORWARDED
2026-11-22T09:00:05Z,default,loadgenerator,10.0.1.5,default,cartservice,10.0.2.7,7070,TCP,FORWARDED
2026-11-22T09:01:00Z,default,frontend,10.0.1.9,default,cartservice,10.0.2.7,7070,TCP,FORWARDED
"""


def test_drift_names_undeclared_traffic_when_flows_are_present(
    database_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "flows.csv"
    csv.write_text(FLOWS)
    db = tmp_path / "flows.duckdb"
    ingest([str(csv)], "csv", db)
    app = create_app(settings_for(database_url, flows_db=str(db), drift_window_days=3650))
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        push_example(http)
        report = http.get("/api/v1/drift").json()
        undeclared = [(e["source"], e["destination"], e["count"]) for e in report["undeclared"]]
        assert ("default/loadgenerator", "default/cartservice", 2) in undeclared
        assert all(e["source"] != "default/frontend" for e in report["undeclared"])
        assert any(e["source"] == "default/checkoutservice" for e in report["unused"])
        page = http.get("/services/default/cartservice").text
        assert "undeclared" in page
        assert "default/loadgenerator" in page


def test_without_flows_drift_is_a_clear_404(client: httpx.Client) -> None:
    answer = client.get("/api/v1/drift")
    assert answer.status_code == 404
    assert "trustmap observe ingest" in answer.json()["error"]["message"]
