"""The web UI in a real headless Chromium (Debian's package, driven by Playwright).

Screenshots of the main pages are saved and must not be blank (pixel variance, measured by
decoding the PNG in the browser); a 1,200-service organisation must draw a graph, not nothing.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from registry_helpers import CART_CALL, push_example, put, qa_wants_the_cart, token_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import registry_org

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; CI installs it (scripts/setup-system.sh)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium is not installed: run scripts/setup-system.sh")
        pytest.skip("chromium is not installed (scripts/setup-system.sh installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (own cookies) at a desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go (TRUSTMAP_SCREENSHOTS keeps a copy for people to look at)."""
    return tmp_path_factory.mktemp("screenshots")


def _pixels(page: Page, png: bytes) -> tuple[float, int]:
    """Luminance variance and number of distinct colours of a PNG, decoded by the browser."""
    data = "data:image/png;base64," + base64.b64encode(png).decode()
    stats: list[float] = page.evaluate(
        """async (src) => {
            const img = new Image(); img.src = src; await img.decode();
            const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
            const g = c.getContext('2d'); g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            let n = 0, sum = 0, sq = 0; const colours = new Set();
            for (let i = 0; i < d.length; i += 16) {
                const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
                n++; sum += y; sq += y * y; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
            }
            const mean = sum / n; return [sq / n - mean * mean, colours.size];
        }""",
        data,
    )
    return stats[0], int(stats[1])


def _snap(page: Page, shots: Path, name: str) -> None:
    png = page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    keep = os.environ.get("TRUSTMAP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shots / f"{name}.png", Path(keep) / f"{name}.png")
    variance, colours = _pixels(page, png)
    assert variance > 100, f"{name} looks blank: luminance variance {variance:.0f}"
    assert colours > 20, f"{name} looks blank: {colours} colours"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_main_pages_render_offline_and_are_not_blank(
    page: Page, client: httpx.Client, registry_url: str, shots: Path
) -> None:
    push_example(client)
    qa_wants_the_cart(client)
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith((registry_url, "data:")) else None,
    )
    pages = {
        "graph": ("/", "Organisation graph"),
        "team": ("/?team=checkout-team", "team checkout-team"),
        "service": ("/services/default/cartservice", "default/cartservice"),
        "approvals": ("/approvals", "Pending approvals"),
        "versions": ("/versions", "Version history"),
        "diff": ("/versions/diff?base=0&head=6", "From version 0 to 6"),
        "coverage": ("/coverage", "Coverage"),
    }
    for name, (path, heading) in pages.items():
        response = page.goto(registry_url + path)
        assert response is not None, path
        assert response.status == 200, path
        assert heading in page.inner_text("main")
        _snap(page, shots, name)
    assert external == []
    page.goto(registry_url + "/services/default/cartservice")
    callers = page.inner_text("#callers")
    assert "default/frontend" in callers
    assert "show the cart size" in callers
    page.goto(registry_url + "/")
    assert page.locator("svg#graph .node").count() >= 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_owner_approves_in_the_browser_and_the_flow_opens(
    page: Page, client: httpx.Client, registry_url: str, shots: Path
) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    page.goto(registry_url + "/login?next=/approvals")
    page.fill("input[name=token]", owner)
    page.click("button[type=submit]")
    page.wait_for_url("**/approvals")
    card = page.locator(f".approval[data-id='{request['id']}']")
    assert CART_CALL.split(" -> ")[0] in card.inner_text()
    card.locator("input[name=comment]").fill("fine for load tests")
    card.locator("button.approve").click()
    page.wait_for_url("**/approvals")
    assert "Nothing is waiting" in page.inner_text("main")
    _snap(page, shots, "approved")
    decided = client.get("/api/v1/approvals", params={"state": "approved"}).json()["approvals"]
    assert decided[0]["decidedBy"] == "cart-lead@example.com"
    assert decided[0]["comment"] == "fine for load tests"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_forged_form_post_is_refused(page: Page, client: httpx.Client, registry_url: str) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    answer = client.post(
        f"/approvals/{request['id']}",
        content=b"action=approve&csrf=guess",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "trustmap_csrf=guess",  # what a page on another port could plant
        },
    )
    assert answer.status_code == 401
    assert client.get("/api/v1/approvals").json()["approvals"][0]["state"] == "pending"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_1200_service_organisation_draws_teams_and_drills_down(
    page: Page, client: httpx.Client, registry_url: str, shots: Path
) -> None:
    org = registry_org.build(services=1200, edges=4000, team_size=30, seed=3)
    assert (
        put(
            client, "platform", [{"path": p, "content": c} for p, c in org.platform.items()]
        ).status_code
        == 200
    )
    for contents in (org.bare, org.full):
        for team, content in contents.items():
            answer = put(client, team, [{"path": "services.yaml", "content": content}])
            assert answer.status_code == 200, answer.text[:500]
    page.goto(registry_url + "/")
    assert page.locator("svg#graph .node.team").count() == 40
    assert page.locator("svg#graph .line").count() > 40
    _snap(page, shots, "graph-1200")
    page.locator("svg#graph a[href='/?team=team-7']").first.click()
    page.wait_for_url("**/?team=team-7")
    assert page.locator("svg#graph .node.service").count() == 30
    assert page.locator("svg#graph .line").count() > 30
    _snap(page, shots, "team-of-1200")
    page.goto(registry_url + "/services/ns-7/svc-215")
    assert page.locator("#callers tbody tr").count() >= 1
