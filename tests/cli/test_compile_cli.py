"""``trustmap compile``: output places, exit codes, --strict, diagnostics formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from compile_cases import CASES, ROOT, at_root, expected_files

from trustmap.cli import cli

BOUTIQUE = [
    "examples/online-boutique",
    "--now",
    "2026-11-23",
    "--environment",
    "prod",
    "--manifests",
    "examples/online-boutique/manifests",
]


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI from the repository root; return exit code, stdout, stderr."""
    with at_root():
        result = CliRunner().invoke(cli, ["compile", *args])
    return result.exit_code, result.stdout, result.stderr


def golden(target: str) -> dict[str, str]:
    """The Online Boutique golden files of ``target`` (without diagnostics)."""
    files = expected_files(CASES / target / "online-boutique")
    files.pop("diagnostics.txt")
    return files


def test_yaml_goes_to_stdout_and_diagnostics_to_stderr() -> None:
    code, out, err = run(*BOUTIQUE, "--target", "istio")
    assert code == 1  # TM322: the ingress controller must run in the mesh
    assert out == "".join(golden("istio").values())
    assert "TM322" in err
    assert "istio: 25 objects; 1 finding (1 info)" in err


def test_tm3xx_findings_exit_1_but_everything_else_is_written(tmp_path: Path) -> None:
    code, out, err = run(*BOUTIQUE, "--target", "kubernetes", "--out", str(tmp_path / "k"))
    assert code == 1
    assert "warning TM301" in out
    written = {p.name: p.read_text() for p in (tmp_path / "k").iterdir()}
    assert written == golden("kubernetes")
    assert "10 findings" in err


def test_strict_writes_nothing_when_there_are_findings(tmp_path: Path) -> None:
    code, out, _ = run(
        *BOUTIQUE, "--target", "kubernetes", "--strict", "--out", str(tmp_path / "k")
    )
    assert code == 1
    assert not (tmp_path / "k").exists()
    assert "TM301" in out
    code, out, _ = run(*BOUTIQUE, "--target", "kubernetes", "--strict")
    assert code == 1
    assert out == ""


def test_strict_writes_when_there_is_nothing_to_report(tmp_path: Path) -> None:
    code, _, _ = run(*BOUTIQUE, "--target", "cilium", "--strict", "--out", str(tmp_path / "c"))
    assert code == 0
    assert {p.name for p in (tmp_path / "c").iterdir()} == set(golden("cilium"))


def test_graph_errors_are_findings_and_ineffective_dependencies_are_left_out() -> None:
    case = "tests/fixtures/compile/kubernetes/expiry/input"
    code, out, err = run(case, "--target", "kubernetes", "--now", "2026-11-23", "--format", "json")
    assert code == 1
    found = json.loads(err[: err.rindex("]") + 1])
    assert {d["code"] for d in found} == {"TM210", "TM211"}
    assert "intruder" not in out.split("name: api-ingress")[1].split("---")[0]


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_diagnostics_render_in_every_format(fmt: str, tmp_path: Path) -> None:
    code, out, _ = run(*BOUTIQUE, "-t", "kubernetes", "-o", str(tmp_path), "--format", fmt)
    assert code == 1
    if fmt == "github":
        assert out.startswith("::warning file=examples/online-boutique/")
    else:
        assert "TM301" in json.dumps(json.loads(out))


def test_unknown_environment_and_missing_paths_exit_2() -> None:
    code, out, err = run(*BOUTIQUE[:3], "-t", "istio", "-e", "stagin")
    assert code == 2
    assert out == ""
    assert "did you mean 'staging'" in err
    code, _, err = run(str(ROOT / "no-such-dir"), "-t", "istio")
    assert code == 2
    assert "TM100" in err


def test_help_lists_targets_and_examples() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for word in ("kubernetes", "cilium", "istio", "linkerd", "admission", "Examples:", "--strict"):
        assert word in out


def test_all_targets_load_once_and_write_the_golden_files_per_target(tmp_path: Path) -> None:
    code, out, err = run(*BOUTIQUE, "--target", "all", "--out", str(tmp_path))
    assert code == 1  # kubernetes cannot enforce methods (TM301)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["admission", "cilium", "istio", "kubernetes", "linkerd"]
    )
    for target in ("admission", "cilium", "istio", "kubernetes", "linkerd"):
        written = {p.name: p.read_text() for p in (tmp_path / target).iterdir()}
        assert written == golden(target), target
        assert f"{target}: " in err
    assert out.count("warning TM301") == 10


def test_several_targets_need_out_and_repeats_count_once(tmp_path: Path) -> None:
    code, _, err = run(*BOUTIQUE, "-t", "cilium", "-t", "istio")
    assert code == 2
    assert "2 targets need --out DIR" in err
    code, _, err = run(
        *BOUTIQUE, "-t", "cilium", "-t", "cilium", "-t", "istio", "--out", str(tmp_path)
    )
    assert code == 1  # istio's TM322 (the ingress controller must be in the mesh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cilium", "istio"]
