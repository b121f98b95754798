"""The registry's graph page frames the layered viewer; the viewer's page holds no inline script.

The viewer is the same page as ``trustmap graph --format html`` (dagre layout, arrowheads, edge
labels, drill-down, search), served at ``/map`` with its script, style and the vendored dagre under
``/static/report``, so a Content-Security-Policy without ``'unsafe-inline'`` allows it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright
from registry_helpers import push_example, token_for
from registry_live import serve

from conftest import settings_for
from trustmap.observe import ingest
from trustmap.server import create_app


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_graph_page_frames_the_layered_viewer_drilled_down_to_the_team(
    client: httpx.Client,
) -> None:
    push_example(client)
    page = client.get("/?team=checkout-team").text
    assert '<iframe class="map" src="/map?team=checkout-team"' in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_viewer_page_carries_the_graph_and_links_static_files_only(
    client: httpx.Client,
) -> None:
    push_example(client)
    response = client.get("/map")
    assert response.status_code == 200
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
    inline = [attrs for attrs, body in scripts if body.strip()]
    assert inline == [' type="application/json" id="data"']
    data = json.loads(next(body for attrs, body in scripts if "application/json" in attrs))
    assert len(data["services"]) == 12
    for path in re.findall(r'(?:src|href)="(/static/report/[^"]+)"', response.text):
        served = client.get(path)
        assert served.status_code == 200, path
        assert served.content


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_framed_viewer_draws_the_team_with_arrowheads_in_chromium(
    client: httpx.Client, registry_url: str, tmp_path: Path
) -> None:
    push_example(client)
    executable = Path("/usr/bin/chromium")
    if not executable.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium is not installed: run scripts/setup-system.sh")
        pytest.skip("chromium is not installed (scripts/setup-system.sh installs it)")
    shots = Path(os.environ.get("TRUSTMAP_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=["--no-sandbox", "--headless", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(registry_url + "/?team=checkout-team")
        frame = page.frame_locator("iframe.map")
        frame.locator("body[data-ready=true]").wait_for(state="attached", timeout=30_000)
        page.screenshot(path=str(shots / "registry-team-map.png"))
        assert frame.locator("g.node.service").count() == 4
        assert frame.locator("g.edge path.line[marker-end]").count() >= 6
        assert "log in" in page.inner_text("header.top")
        browser.close()
    assert errors == []


PAGES = [
    "/",
    "/?team=checkout-team",
    "/services/default/cartservice",
    "/approvals",
    "/versions",
    "/coverage",
    "/login",
    "/services/default/no-such-service",
]


def _log_in(client: httpx.Client, token: str) -> dict[str, str]:
    """Log in; the session cookie is ``__Host-`` (Secure), which an http:// test client does not
    send back by itself, so it is returned as a header to send."""
    form = client.get("/login").text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    answer = client.post("/login", data={**hidden, "token": token, "next": "/"})
    assert answer.status_code == 303, answer.text
    name, _, rest = answer.headers["set-cookie"].partition("=")
    return {"Cookie": f"{name}={rest.split(';')[0]}"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_says_who_is_logged_in(client: httpx.Client) -> None:
    push_example(client)
    html = {"Accept": "text/html"}  # error pages are HTML for browsers, JSON otherwise
    for path in PAGES:
        assert "not logged in" in client.get(path, headers=html).text, path
    cookie = _log_in(client, token_for(client, "cart-team", "cart-lead@example.com"))
    for path in PAGES:
        text = client.get(path, headers={**html, **cookie}).text
        assert "logged in as <span" in text, path
        assert "cart-team:cart-lead@example.com" in text, path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_coverage_page_says_how_observed_flows_reach_the_registry(
    client: httpx.Client,
) -> None:
    push_example(client)
    text = client.get("/coverage").text
    assert "uploaded" not in text
    assert "trustmap observe ingest" in text
    assert "TRUSTMAP_FLOWS_DB" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_with_a_flow_database_the_coverage_page_shows_observed_coverage(
    database_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "flows.csv"
    csv.write_text(
        "time,src_namespace,src_workload,src_ip,dst_namespace,dst_workload,dst_ip,dst_port,"
        "protocol,verdict\n"
        "2026-11-22T09:00:00Z,default,frontend,10.0.1.9,default,cartservice,10.0.2.7,7070,TCP,"
        "FORWARDED\n"
    )
    db = tmp_path / "flows.duckdb"
    ingest([str(csv)], "csv", db)
    app = create_app(settings_for(database_url, flows_db=str(db), drift_window_days=3650))
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        push_example(http)
        text = http.get("/coverage").text
    assert 'id="observed"' in text
    assert "1 / 1" in text
