"""Golden tests of ``trustmap validate``: one folder per invalid case under fixtures/validate/.

Regenerate the expected files with ``make golden`` (tests/regen_golden.py) and review the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from trustmap.cli import cli
from trustmap.codes import CODES
from validate_golden import (
    CASES,
    DEFAULT_NOW,
    KNOWN_WRONG,
    case_names,
    expected_of,
    render_case,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "online-boutique"
NOW = DEFAULT_NOW.isoformat()
LINE = re.compile(
    r"^(?P<where>[^:]+)(?::(?P<line>\d+):(?P<col>\d+))?: "
    r"(?P<severity>error|warning|info) (?P<code>TM\d{3}) (?P<message>\S.*)$"
)


def _case_params() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[name]))
        if name in KNOWN_WRONG
        else name
        for name in case_names()
    ]


def _expected_lines() -> dict[str, list[str]]:
    return {name: expected_of(CASES / name).splitlines() for name in case_names()}


@pytest.mark.parametrize("name", _case_params())
def test_validate_reports_exactly_the_expected_lines(name: str) -> None:
    case = CASES / name
    assert (case / "expected.txt").exists(), f"{name}: run `make golden` to create expected.txt"
    assert render_case(case) == expected_of(case)


def test_every_case_expects_at_least_one_finding() -> None:
    empty = [name for name, lines in _expected_lines().items() if not lines]
    assert not empty, f"cases without expected findings: {empty}"


def test_expected_lines_have_the_text_format_and_registered_severity() -> None:
    problems = []
    for name, lines in _expected_lines().items():
        for line in lines:
            match = LINE.match(line)
            if match is None:
                problems.append(f"{name}: not 'file:line:col: severity CODE message': {line}")
            elif match["code"] not in CODES:
                problems.append(f"{name}: unregistered code: {line}")
            elif CODES[match["code"]].severity != match["severity"]:
                problems.append(f"{name}: severity differs from codes.py: {line}")
    assert not problems, "\n".join(problems)


def test_every_file_and_graph_code_has_a_golden_case() -> None:
    covered = {
        match["code"]
        for lines in _expected_lines().values()
        for line in lines
        if (match := LINE.match(line))
    }
    wanted = {code for code in CODES if code.startswith(("TM1", "TM2"))}
    missing = sorted(wanted - covered)
    assert not missing, f"TM1xx/TM2xx codes without a case in fixtures/validate: {missing}"


# --- the CLI on a few cases: exit codes and every output format ----------------------------------


def _validate(*args: str) -> Result:
    return CliRunner().invoke(cli, ["validate", *args, "--now", NOW])


def test_cli_exits_0_on_the_online_boutique_example() -> None:
    result = _validate(str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "no problems (12 services" in result.stderr


def test_cli_exits_1_and_prints_the_golden_lines_with_hints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES / "tm212-dependency-without-reason"
    monkeypatch.chdir(case)
    result = _validate(".")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line for line in lines if not line.startswith("    hint: ")] == expected_of(
        case
    ).splitlines()
    assert lines[1] == (
        "    hint: add 'reason:' saying why the call is needed; reviewers and auditors read it"
    )
    assert "2 errors" in result.stderr


def test_cli_exits_2_for_a_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    result = _validate(str(missing))
    assert result.exit_code == 2
    assert f"{missing}: error TM100 no such file or directory" in result.stdout


def test_cli_exits_2_when_no_declaration_file_is_found() -> None:
    result = _validate(str(CASES / "tm116-no-files"))
    assert result.exit_code == 2
    assert "error TM116 no YAML files found" in result.stdout


def test_cli_exits_2_when_a_file_cannot_be_read_even_if_others_load() -> None:
    result = _validate(str(CASES / "tm100-unreadable-file"))
    assert result.exit_code == 2
    assert "error TM100 cannot read file" in result.stdout


def test_cli_fails_on_warnings_only_with_strict() -> None:
    case = str(CASES / "tm209-shared-service-account")
    assert _validate(case).exit_code == 0
    assert _validate(case, "--strict").exit_code == 1


def test_cli_quiet_hides_info_findings() -> None:
    case = str(CASES / "tm216-dependency-cycle")
    assert "info TM216" in _validate(case).stdout
    quiet = _validate(case, "--quiet")
    assert quiet.exit_code == 0
    assert quiet.stdout == ""


def test_cli_json_format_lists_each_finding_with_its_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES / "tm113-invalid-value"
    monkeypatch.chdir(case)
    result = _validate(".", "--format", "json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    rendered = [
        f"{d['file']}:{d['line']}:{d['column']}: {d['severity']} {d['code']} {d['message']}"
        if d["file"]
        else f"trustmap: {d['severity']} {d['code']} {d['message']}"
        for d in found
    ]
    assert rendered == expected_of(case).splitlines()
    cidr = next(d for d in found if "host bits" in d["message"])
    assert cidr["hint"] == "write 203.0.113.0/24"


def test_cli_github_format_writes_one_annotation_per_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES / "tm212-dependency-without-reason"
    monkeypatch.chdir(case)
    result = _validate(".", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(expected_of(case).splitlines())
    assert lines[0].startswith("::error file=checkout.yaml,line=8,col=7,title=TM212::")
    assert "dependency on shop/payments has no reason — add 'reason:'" in lines[0]


def test_cli_github_annotation_without_a_file_is_well_formed() -> None:
    result = _validate(str(CASES / "tm200-no-organization"), "--format", "github")
    assert result.stdout.startswith("::warning title=TM200::no valid Organization declared")


def test_cli_sarif_format_is_sarif_2_1_0_with_one_result_per_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES / "multi-schema-errors"
    monkeypatch.chdir(case)
    result = _validate(".", "--format", "sarif")
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    expected = [LINE.match(line) for line in expected_of(case).splitlines()]
    results = run["results"]
    assert [r["ruleId"] for r in results] == [m["code"] for m in expected if m]
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "checkout.yaml"
    assert first["region"] == {"startLine": 7, "startColumn": 38}
