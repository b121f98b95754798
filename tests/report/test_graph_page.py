"""The HTML graph page in Debian's Chromium at 12, 200 and 2,000 services: screenshots and checks.

What the page must do (issue 17): arrowheads, edge labels with interface, port and methods (on
hover at least), egress drawn, a layered layout from a bundled library (dagre, vendored under
``report/static/vendor`` with its licence; nothing from a CDN), legible at 2,000 services by
aggregating into namespaces or teams with drill-down, a search that hides groups without a match,
and a side panel that never overflows sideways. The JavaScript is a static file; the registry
links it, so the page needs no inline script there (Content-Security-Policy).

Screenshots are written to ``$TRUSTMAP_SCREENSHOTS`` when set (else the test's temporary folder),
so a person can look at them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from render_tools import chromium

from benchmark_orgs import generate_organisation
from trustmap.graph import load_graph
from trustmap.report.graph import STATIC_DIR, graph_page, render_graph

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"
TODAY = dt.date(2026, 11, 23)
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"]


def _generated(factory: pytest.TempPathFactory, services: int) -> Path:
    return generate_organisation(factory.mktemp(f"org{services}"), services, services * 3)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The page for the example (12 services) and for generated organisations of 200 and 2,000."""
    out = tmp_path_factory.mktemp("pages")
    roots = {12: EXAMPLE, 200: _generated(tmp_path_factory, 200)}
    roots[2000] = _generated(tmp_path_factory, 2000)
    found = {}
    for size, root in roots.items():
        graph = load_graph([root], TODAY)
        assert len(graph.services) == size
        found[size] = out / f"graph-{size}.html"
        found[size].write_text(render_graph(graph, "html"), encoding="utf-8")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (scripts/setup-system.sh installs it)."""
    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $TRUSTMAP_SCREENSHOTS, or the test's folder."""
    folder = Path(os.environ.get("TRUSTMAP_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser: Browser, page_file: Path) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request {request.url}"))
    page.goto(page_file.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    return page, errors


def _panel_fits(page: Page) -> bool:
    return bool(page.eval_on_selector("#panel", "p => p.scrollWidth <= p.clientWidth + 1"))


def test_the_example_draws_every_service_with_arrowheads_and_labelled_edges(
    browser: Browser, pages: dict[int, Path], shots: Path
) -> None:
    page, errors = _open(browser, pages[12])
    page.screenshot(path=str(shots / "graph-12.png"))
    assert page.locator("g.node.service").count() == 12
    assert page.locator("g.edge path.line[marker-end]").count() == 17  # 16 dependencies, 1 ingress
    labels = page.locator("g.edge text.elabel").all_text_contents()
    assert "grpc 7070/TCP" in labels
    titles = page.locator("g.edge title").all_text_contents()
    assert any("methods: hipstershop.CartService/" in t for t in titles)
    page.locator("g.node.service", has_text="cartservice").first.click()
    page.screenshot(path=str(shots / "graph-12-cartservice.png"))
    assert "Called by" in (page.text_content("#panel") or "")
    assert _panel_fits(page)
    assert errors == []


def test_200_services_are_drawn_as_groups_that_drill_down(
    browser: Browser, pages: dict[int, Path], shots: Path
) -> None:
    page, errors = _open(browser, pages[200])
    page.screenshot(path=str(shots / "graph-200.png"))
    groups = page.locator("g.node.group").count()
    assert 2 <= groups <= 30
    assert page.locator("g.edge.egress").count() >= 1
    page.locator("g.node.group").first.click()
    page.wait_for_function("document.querySelectorAll('g.node.service').length > 0")
    page.screenshot(path=str(shots / "graph-200-drill.png"))
    assert page.locator("g.node.service").count() <= 40
    assert page.locator("g.edge").count() <= 200
    page.locator("g.node.service").first.click()
    assert _panel_fits(page)
    assert errors == []


def test_2000_services_stay_legible_and_search_hides_empty_groups(
    browser: Browser, pages: dict[int, Path], shots: Path
) -> None:
    page, errors = _open(browser, pages[2000])
    page.screenshot(path=str(shots / "graph-2000.png"))
    assert page.locator("g.node").count() <= 40
    assert page.locator("g.edge").count() <= 60
    font = page.eval_on_selector("#viewport", "g => g.getCTM().a")
    assert font >= 0.5, "the overview is drawn so small that its labels cannot be read"
    page.fill("#q", "svc-1999")
    page.wait_for_timeout(200)
    page.screenshot(path=str(shots / "graph-2000-search.png"))
    assert page.locator("g.node.group").count() == 1
    assert "1 of 100 match" in (page.text_content("g.node.group") or "")
    page.locator("#panel tr.link").first.click()
    page.screenshot(path=str(shots / "graph-2000-found.png"))
    assert page.locator("g.node.service.sel").count() == 1
    assert _panel_fits(page)
    page.click("#crumbs button")
    page.fill("#q", "")
    page.locator("g.node.group").first.click()
    page.wait_for_timeout(200)
    page.screenshot(path=str(shots / "graph-2000-drill.png"))
    assert page.locator("g.edge").count() <= 60
    assert errors == []


def test_the_page_loads_nothing_from_the_network_and_bundles_dagre_with_its_licence(
    pages: dict[int, Path],
) -> None:
    text = pages[12].read_text()
    assert not re.search(r"""(src|href)=["']https?://""", text)
    vendor = STATIC_DIR.joinpath("vendor")
    assert "Chris Pettitt" in vendor.joinpath("dagre.LICENSE.txt").read_text()
    version = re.search(r"^version: (\S+)$", vendor.joinpath("README.md").read_text(), re.M)
    assert version is not None
    assert f'"{version.group(1)}"' in vendor.joinpath("dagre.min.js").read_text()


def test_the_served_page_links_its_script_and_has_no_inline_script_or_style() -> None:
    page = graph_page(load_graph([EXAMPLE], TODAY), static_url="/static/report")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert {attrs for attrs, body in scripts if body.strip()} == {
        ' type="application/json" id="data"'
    }
    assert '<script src="/static/report/graph.js"></script>' in page
    assert "<style" not in page
    assert " style=" not in page
