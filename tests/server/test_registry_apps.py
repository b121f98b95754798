"""State per app: two registries in one process never serve each other's caches.

Caches (compiled policies, drawings, drift) used to live at module level keyed by version, so
two apps at the same version — a test suite, or a process serving two registries — answered
with each other's policies. Both apps here reach version 2 with different files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from registry_helpers import TEAM_FILES, files, put
from registry_live import serve

from conftest import settings_for
from trustmap.server import create_app


def _push(url: str, team: str) -> str:
    with httpx.Client(base_url=url, timeout=60) as client:
        assert put(client, "platform", files("organization.yaml", "teams.yaml")).status_code == 200
        assert put(client, team, files(TEAM_FILES[team])).status_code == 200
        assert client.get("/").status_code == 200
        return client.get("/api/v1/policies/kubernetes").text


def test_two_apps_with_different_databases_serve_their_own_policies(
    database_url: str, sqlite_template: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    shutil.copy(sqlite_template, other)
    first = create_app(settings_for(database_url))
    second = create_app(settings_for(f"sqlite:///{other}"))
    with serve(first) as one, serve(second) as two:
        catalog = _push(one, "catalog")
        cart = _push(two, "cart-team")
        assert "productcatalogservice" in catalog
        assert "productcatalogservice" not in cart
        assert "cartservice" in cart
        with httpx.Client(timeout=60) as client:
            again = client.get(f"{one}/api/v1/policies/kubernetes").text
            assert again == catalog
            pages = client.get(f"{one}/?team=catalog").text, client.get(f"{two}/?team=catalog").text
        assert "productcatalogservice" in pages[0]
        assert "productcatalogservice" not in pages[1]
    assert first.state.registry is not second.state.registry
