"""`trustmap validate --schema-only`: one file checked on its own, as a pre-commit hook passes
only the changed files — YAML and schema findings, none of the organisation's graph rules."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from review_helpers import copy, edit

from trustmap.cli import cli


def test_a_service_file_alone_is_clean_without_its_teams(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    alone = CliRunner().invoke(
        cli, ["validate", "--schema-only", str(repo / "services" / "qa.yaml")]
    )
    assert alone.exit_code == 0, alone.output
    whole = CliRunner().invoke(cli, ["validate", str(repo / "services" / "qa.yaml")])
    assert whole.exit_code == 1  # unknown team, unknown targets: graph rules need every file


def test_a_schema_error_fails_with_its_place(tmp_path: Path) -> None:
    repo = copy(tmp_path, "repo")
    edit(repo, "services/qa.yaml", "  team: qa", "  teem: qa")
    result = CliRunner().invoke(
        cli, ["validate", "--schema-only", str(repo / "services" / "qa.yaml")]
    )
    assert result.exit_code == 1
    assert "qa.yaml:" in result.stdout
    assert "TM1" in result.stdout
