"""Web security of the UI, attacked from a page on another port of the same host or another site.

Rules relied on: a ``__Host-`` cookie must be Secure, have Path=/ and no Domain, so no other
host or port can set it (RFC 6265bis "Cookie Name Prefixes",
https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#name-the-__host-prefix);
browsers set ``Sec-Fetch-Site`` themselves, ``same-site`` for another port of the same host
(https://www.w3.org/TR/fetch-metadata/#sec-fetch-site-header); Chromium sends ``Origin: null``
on form posts under ``Referrer-Policy: no-referrer``, so the policy is ``same-origin``.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from registry_helpers import push_example, qa_wants_the_cart, token_for
from registry_live import serve

from conftest import settings_for
from trustmap.server import create_app

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "trustmap" / "server" / "templates"


def _login(client: httpx.Client, token: str) -> tuple[str, httpx.Response]:
    answer = client.post("/login", data={"token": token, "next": "/approvals"})
    assert answer.status_code == 303, answer.text
    header = answer.headers["set-cookie"]
    name, _, rest = header.partition("=")
    return f"{name}={rest.split(';')[0]}", answer


def _csrf(client: httpx.Client, cookie: str) -> str:
    page = client.get("/approvals", headers={"Cookie": cookie}).text
    return page.split('name="csrf" value="')[1].split('"')[0]


def test_the_session_cookie_is_a_host_cookie_holding_no_token(client: httpx.Client) -> None:
    push_example(client)
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    cookie, answer = _login(client, owner)
    header = answer.headers["set-cookie"].lower()
    assert cookie.startswith("__Host-trustmap_session=")
    for flag in ("secure", "httponly", "samesite=strict", "path=/"):
        assert flag in header
    assert "domain" not in header
    assert owner not in answer.headers["set-cookie"]


def test_a_csrf_token_is_bound_to_the_session_not_to_a_cookie(client: httpx.Client) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    mallory, _ = _login(client, token_for(client, "qa", "qa-lead@example.com"))
    owner, _ = _login(client, token_for(client, "cart-team", "cart-lead@example.com"))
    planted = _csrf(client, mallory)
    forged = client.post(
        f"/approvals/{request['id']}",
        content=f"action=approve&csrf={planted}".encode(),
        headers={**FORM, "Cookie": f"{owner}; trustmap_csrf={planted}"},
    )
    assert forged.status_code == 403
    assert client.get("/api/v1/approvals").json()["approvals"][0]["state"] == "pending"
    good = client.post(
        f"/approvals/{request['id']}",
        content=f"action=approve&csrf={_csrf(client, owner)}".encode(),
        headers={**FORM, "Cookie": owner},
    )
    assert good.status_code == 303


def test_state_changing_requests_from_another_port_or_site_are_refused(
    client: httpx.Client,
) -> None:
    push_example(client)
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    here = str(client.base_url).rstrip("/")
    elsewhere = here.rsplit(":", 1)[0] + ":1"
    for headers in (
        {"Sec-Fetch-Site": "same-site", "Origin": elsewhere},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        answer = client.post("/login", data={"token": owner}, headers=headers)
        assert answer.status_code == 403, headers
        assert "set-cookie" not in answer.headers
    same = client.post(
        "/login", data={"token": owner}, headers={"Sec-Fetch-Site": "same-origin", "Origin": here}
    )
    assert same.status_code == 303


def test_logout_ends_the_session_on_the_server(client: httpx.Client) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    cookie, _ = _login(client, token_for(client, "cart-team", "cart-lead@example.com"))
    csrf = _csrf(client, cookie)
    out = client.post(
        "/logout", content=f"csrf={csrf}".encode(), headers={**FORM, "Cookie": cookie}
    )
    assert out.status_code == 303
    replayed = client.post(
        f"/approvals/{request['id']}",
        content=f"action=approve&csrf={csrf}".encode(),
        headers={**FORM, "Cookie": cookie},
    )
    assert replayed.status_code == 401
    assert "log in" in client.get("/approvals", headers={"Cookie": cookie}).text


def test_every_response_carries_the_security_headers(client: httpx.Client) -> None:
    for path in ("/", "/api/v1/health", "/static/app.js", "/nowhere", "/login"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp
        assert "frame-ancestors 'self'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_templates_hold_no_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert "style=" not in text, template.name
        assert "<style" not in text, template.name
        assert text.count("<script") == text.count("<script src="), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name


def test_with_token_reads_the_ui_tells_anonymous_users_nothing(
    database_url: str, client: httpx.Client
) -> None:
    push_example(client)
    app = create_app(settings_for(database_url, read_access="token"))
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as anonymous:
        for path in ("/services/default/cartservic", "/", "/versions/1", "/coverage"):
            answer = anonymous.get(path, headers={"Accept": "text/html"})
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login")
            assert "cartservice" not in answer.text
        login = anonymous.get("/login").text
        assert "version" not in login.lower().split("<footer>")[1]
