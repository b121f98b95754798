"""``trustmap verify``: exit codes, formats and what reaches stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from verify_helpers import OB_DECLARATIONS, OB_MANIFESTS, OB_UPSTREAM_POLICIES, TODAY

from trustmap.cli import cli

pytestmark = pytest.mark.skipif(not OB_MANIFESTS.exists(), reason="shared/ is not beside the repo")


def _run(*args: str) -> tuple[int, str, str]:
    base = ["verify", str(OB_DECLARATIONS), "--manifests", str(OB_MANIFESTS)]
    result = CliRunner().invoke(cli, [*base, "--now", TODAY.isoformat(), *args])
    return result.exit_code, result.stdout, result.stderr


def test_compiled_policies_exit_zero_with_an_exact_match_summary() -> None:
    code, out, err = _run()
    assert code == 0, out + err
    assert "verify: exact match" in err
    assert "TM401" not in out
    assert "TM402" not in out


def test_warnings_fail_with_strict() -> None:
    code, out, _ = _run("--strict")
    assert code == 1
    assert "TM404" in out


def test_upstream_policies_exit_one_with_json_findings() -> None:
    code, out, _ = _run("--policies", str(OB_UPSTREAM_POLICIES), "--format", "json")
    assert code == 1
    found = json.loads(out)
    assert {"TM401", "TM403"} <= {d["code"] for d in found}
    assert all(d["file"] for d in found)


def test_unreadable_manifests_exit_two(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(
        cli, ["verify", str(OB_DECLARATIONS), "--manifests", str(missing), "--now", "2026-11-01"]
    )
    assert result.exit_code == 2
    assert "TM100" in result.stderr
    assert not result.stdout


def test_help_shows_examples() -> None:
    result = CliRunner().invoke(cli, ["verify", "--help"])
    assert result.exit_code == 0
    assert "--policies" in result.stdout
    assert "Examples:" in result.stdout
