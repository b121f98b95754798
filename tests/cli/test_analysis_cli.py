"""``trustmap analyze``: outputs, focus, posture and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from netpol_semantics import CASES

from trustmap.cli import cli

ACS = CASES / "acs-security-demos" / "manifests"
pytestmark = pytest.mark.skipif(not ACS.is_dir(), reason="shared netpol cases not found")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def test_connlist_output_is_exactly_the_expected_lines() -> None:
    code, out, err = _run(str(ACS))
    assert code == 0, err
    assert out == (ACS.parent / "expected_connlist.txt").read_text().rstrip("\n") + "\n"


def test_focus_keeps_only_lines_of_that_workload() -> None:
    code, out, _ = _run(str(ACS), "--focus", "payments/gateway")
    assert code == 0
    assert out.splitlines()
    assert all("payments/gateway[Deployment]" in line for line in out.splitlines())


def test_unknown_focus_is_a_usage_error_with_a_suggestion() -> None:
    code, out, err = _run(str(ACS), "--focus", "gatewy")
    assert code == 2
    assert not out
    assert "did you mean 'gateway'" in err


def test_json_has_connections_policies_and_posture() -> None:
    code, out, _ = _run(str(ACS), "--format", "json")
    data = json.loads(out)
    assert code == 0
    first = data["connections"][0]
    assert first["egress_policies"]
    assert first["ingress_policies"]
    assert data["posture"]["workloads"] == 11


def test_posture_goes_to_stderr_and_findings_exit_1() -> None:
    code, out, err = _run(str(ACS), "--posture")
    assert code == 1
    assert "posture:" in err
    assert "posture:" not in out


@pytest.mark.parametrize("fmt", ["csv", "dot"])
def test_csv_and_dot_list_every_connection(fmt: str) -> None:
    code, out, _ = _run(str(ACS), "--format", fmt)
    assert code == 0
    assert out.count("payments/gateway[Deployment]") >= 3


def test_invalid_manifests_exit_2_with_located_errors_and_no_output() -> None:
    bad = CASES / "bad_netpols__subdir1" / "manifests"
    code, out, err = _run(str(bad))
    assert code == 2
    assert out == ""
    assert "netpols.yaml:22:15: error TM601" in err


def test_missing_path_exits_2(tmp_path: Path) -> None:
    code, _, err = _run(str(tmp_path / "nope"))
    assert code == 2
    assert "TM100" in err
