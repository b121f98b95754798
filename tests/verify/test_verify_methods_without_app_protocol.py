"""An interface that declares ``methods`` without an ``appProtocol`` speaks HTTP (docs/format.md:
methods imply HTTP; the compilers write L7 rules for it), so verify holds its calls to the declared
methods as the compiled rules do, instead of counting every request on the port as declared."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from shop_org import shop_declarations, shop_manifests
from trustmap.cli import cli

DECLARATIONS = shop_declarations(
    '{name: http, port: 8080, methods: ["GET /items"], consumers: [shop/web]}'
)
MANIFESTS = shop_manifests(
    """\
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      containers: [{name: api, image: api, ports: [{containerPort: 8080}]}]
"""
)


@pytest.mark.parametrize("target", ["kubernetes", "cilium", "istio", "linkerd"])
def test_compiled_output_for_methods_without_app_protocol_verifies_exactly(
    tmp_path: Path, target: str
) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "k8s").mkdir()
    (tmp_path / "teams" / "all.yaml").write_text(DECLARATIONS)
    (tmp_path / "k8s" / "workloads.yaml").write_text(MANIFESTS)
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(tmp_path / "teams"),
            "--manifests",
            str(tmp_path / "k8s"),
            "--target",
            target,
            "--now",
            "2026-12-05",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "exact match: 1 declared flows allowed" in result.output
