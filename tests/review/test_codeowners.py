"""`trustmap codeowners`: the provider's owners review the files that hold their consent.

Rules relied on:
* GitHub — "About code owners" (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
  one pattern and its owners per line, owners are ``@user``, ``@org/team-name`` or e-mail addresses,
  the last matching pattern wins, a leading ``/`` anchors at the repository top.
* GitLab — "Syntax of CODEOWNERS file" (https://docs.gitlab.com/user/project/codeowners/reference/):
  ``[Section] @owner`` gives a section default owners that entries without owners inherit, sections
  are each required, groups may be nested (``@group/with-nested/subgroup``).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from review_helpers import ROOT, copy, edit

from trustmap.cli import cli
from trustmap.graph import load_graph
from trustmap.review.codeowners import codeowners


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_each_service_file_is_owned_by_its_teams_handle(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    found = codeowners(
        load_graph([repo]), flavor="github", root=str(repo), platform=["@acme/platform"]
    )
    assert found.diagnostics == ()
    assert _lines(found.text) == [
        "/organization.yaml @acme/platform",
        "/services/cart-team.yaml @online-boutique/cart-team",
        "/services/catalog.yaml @online-boutique/catalog",
        "/services/checkout-team.yaml @online-boutique/checkout-team",
        "/services/qa.yaml qa-lead@example.com",
        "/services/storefront.yaml @online-boutique/storefront",
        "/teams.yaml @acme/platform",
    ]


def test_a_file_shared_by_two_teams_needs_both_on_gitlab(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    cart = (repo / "services" / "cart-team.yaml").read_text()
    (repo / "services" / "catalog.yaml").write_text(
        (repo / "services" / "catalog.yaml").read_text() + "---\n" + cart
    )
    (repo / "services" / "cart-team.yaml").unlink()
    found = codeowners(load_graph([repo]), flavor="gitlab", root=str(repo))
    sections = found.text.split("\n\n")
    cart_section = next(s for s in sections if s.startswith("[cart-team]"))
    catalog_section = next(s for s in sections if s.startswith("[catalog]"))
    assert cart_section.splitlines()[0] == "[cart-team] @online-boutique/cart-team"
    assert "/services/catalog.yaml" in cart_section.splitlines()
    assert "/services/catalog.yaml" in catalog_section.splitlines()
    github = codeowners(load_graph([repo]), flavor="github", root=str(repo))
    assert (
        "/services/catalog.yaml @online-boutique/cart-team @online-boutique/catalog"
        in github.text.splitlines()
    )


def test_a_team_without_a_usable_owner_is_reported(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    edit(repo, "teams.yaml", "owners: [qa-lead@example.com]", "owners: [group:qa]")
    found = codeowners(load_graph([repo]), flavor="github", root=str(repo))
    assert [d.code for d in found.diagnostics] == ["TM529"]
    assert "# /services/qa.yaml: no owner" in found.text


def test_files_outside_the_root_are_reported_not_written(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = codeowners(load_graph([repo]), flavor="github", root=str(elsewhere))
    assert {d.code for d in found.diagnostics} == {"TM530"}
    assert _lines(found.text) == []


def test_the_command_writes_and_checks_the_file(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    out = tmp_path / "CODEOWNERS"
    args = ["codeowners", str(repo), "--root", str(repo), "-o", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert "/services/qa.yaml qa-lead@example.com" in out.read_text()
    assert CliRunner().invoke(cli, [*args, "--check"]).exit_code == 0
    edit(repo, "teams.yaml", 'github: "@online-boutique/catalog"', 'github: "@acme/catalog"')
    stale = CliRunner().invoke(cli, [*args, "--check"])
    assert stale.exit_code == 1
    assert "out of date" in stale.stderr


def test_team_handles_are_validated_and_in_the_json_schema(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    edit(
        repo,
        "teams.yaml",
        '"@online-boutique/catalog"\n  gitlab',
        '"online-boutique/catalog"\n  gitlab',
    )
    (bad,) = [d for d in load_graph([repo]).diagnostics if d.code == "TM113"]
    assert "'spec.github': 'online-boutique/catalog' is not a handle" in bad.message
    schema = json.loads(CliRunner().invoke(cli, ["schema"]).stdout)
    team = schema["$defs"]["TeamSpec"]["properties"]
    assert {"github", "gitlab"} <= team.keys()
    assert (ROOT / "docs" / "format.md").read_text().count("github:") >= 1
