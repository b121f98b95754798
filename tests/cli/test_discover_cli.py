"""`trustmap discover` on the command line: files written, summaries, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from discover_helpers import APPS

from trustmap.cli import cli
from trustmap.observe import ingest

BOUTIQUE = APPS / "online-boutique" / "manifests" / "kubernetes-manifests.yaml"


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["discover", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_writes_one_file_per_namespace_and_says_what_to_review(tmp_path: Path) -> None:
    code, stdout, stderr = _run("--from-manifests", BOUTIQUE, "--out", tmp_path / "d")
    assert code == 0, stderr
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["default.yaml"]
    assert "default/frontend" in stdout
    assert "shoppingassistantservice:80" in stdout  # the unresolved table
    assert "12 services, 11 interfaces, 16 dependencies, 1 unresolved" in stderr
    assert "TODO@example.invalid" in stderr


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert _run("--from-manifests", BOUTIQUE, "--out", tmp_path / name)[0] == 0
    first = (tmp_path / "a" / "default.yaml").read_bytes()
    assert first == (tmp_path / "b" / "default.yaml").read_bytes()
    assert b'reason: "TODO: discovered from env CART_SERVICE_ADDR=cartservice:7070' in first


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "d"
    assert _run("--from-manifests", BOUTIQUE, "--out", out)[0] == 0
    (out / "default.yaml").write_text("# edited by a person\n")
    code, _, stderr = _run("--from-manifests", BOUTIQUE, "--out", out)
    assert code == 2
    assert "already exist" in stderr
    assert "--force" in stderr
    assert (out / "default.yaml").read_text() == "# edited by a person\n"
    assert _run("--from-manifests", BOUTIQUE, "--out", out, "--force")[0] == 0
    assert (out / "default.yaml").read_text().startswith("# Draft declarations")


def test_json_summary_lists_services_dependencies_and_unresolved(tmp_path: Path) -> None:
    code, stdout, _ = _run(
        "--from-manifests", BOUTIQUE, "--out", tmp_path / "d", "--format", "json"
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary["counts"] == {
        "services": 12,
        "interfaces": 11,
        "dependencies": 16,
        "unresolved": 1,
    }
    assert summary["files"] == [str(tmp_path / "d" / "default.yaml")]
    frontend = next(s for s in summary["services"] if s["ref"] == "default/frontend")
    cart = next(d for d in frontend["dependencies"] if d["service"] == "default/cartservice")
    assert (cart["interface"], cart["port"]) == ("grpc", 7070)
    assert cart["evidence"][0]["at"] == f"{BOUTIQUE}:80:20"
    [missing] = summary["unresolved"]
    assert missing["reference"] == "shoppingassistantservice:80"
    assert summary["teams"][0]["owners"] == ["TODO@example.invalid"]


def test_namespace_filter_writes_only_that_namespace(tmp_path: Path) -> None:
    code, _, _ = _run(
        "--from-manifests", APPS / "sock-shop" / "manifests", "--out", tmp_path / "d",
        "--namespace", "loadtest",
    )  # fmt: skip
    assert code == 0
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["loadtest.yaml"]


def test_exactly_one_source_is_required(tmp_path: Path) -> None:
    code, _, stderr = _run("--out", tmp_path / "d")
    assert code == 2
    assert "exactly one of --from-manifests" in stderr
    assert _run("--from-manifests", BOUTIQUE, "--from-flows", "--out", tmp_path)[0] == 2


def test_missing_manifest_path_exits_2(tmp_path: Path) -> None:
    code, _, stderr = _run("--from-manifests", tmp_path / "nope", "--out", tmp_path / "d")
    assert code == 2
    assert "TM100" in stderr
    assert not (tmp_path / "d").exists()


def test_nothing_to_draft_exits_1(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    code, _, stderr = _run("--from-manifests", tmp_path / "cm.yaml", "--out", tmp_path / "d")
    assert code == 1
    assert "TM523" in stderr
    assert not (tmp_path / "d").exists()


def test_missing_flow_database_exits_2(tmp_path: Path) -> None:
    code, _, stderr = _run("--from-flows", "--db", tmp_path / "none.duckdb", "--out", tmp_path)
    assert code == 2
    assert "no flow database" in stderr


def test_from_flows_writes_drafts_with_request_evidence(tmp_path: Path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "time,src_namespace,src_workload,src_ip,dst_namespace,dst_workload,dst_ip,dst_port,"
        "protocol,verdict,src_labels,dst_labels\n"
        "2026-03-02T09:00:00Z,shop,web,10.0.0.1,shop,cart,10.0.0.2,7070,TCP,FORWARDED,"
        "app=web,app=cart\n"
        "2026-03-03T09:00:00Z,shop,web,10.0.0.1,shop,cart,10.0.0.2,7070,TCP,FORWARDED,"
        "app=web,app=cart\n"
    )
    db = tmp_path / "flows.duckdb"
    ingest([str(flows)], "csv", db)
    code, stdout, stderr = _run(
        "--from-flows", "--db", db, "--out", tmp_path / "d", "--format", "json"
    )
    assert code == 0, stderr
    [dep] = next(s for s in json.loads(stdout)["services"] if s["ref"] == "shop/web")[
        "dependencies"
    ]
    assert dep["service"] == "shop/cart"
    assert dep["evidence"][0]["flows"] == {
        "count": 2,
        "firstSeen": "2026-03-02T09:00:00Z",
        "lastSeen": "2026-03-03T09:00:00Z",
        "verdicts": {"FORWARDED": 2},
    }
    text = (tmp_path / "d" / "shop.yaml").read_text()
    assert (
        "# observed requests shop/web → shop/cart port 7070/TCP: 2 requests (FORWARDED 2), "
        "first 2026-03-02T09:00:00Z, last 2026-03-03T09:00:00Z"
    ) in text
    assert (
        'reason: "TODO: discovered from 2 observed requests between 2026-03-02 and 2026-03-03"'
        in text
    )


def test_partly_unreadable_input_writes_nothing(tmp_path: Path) -> None:
    code, _, stderr = _run(
        "--from-manifests", BOUTIQUE, "--from-manifests", tmp_path / "missing.yaml",
        "--out", tmp_path / "d",
    )  # fmt: skip
    assert code == 2
    assert "TM100" in stderr
    assert not (tmp_path / "d").exists()
