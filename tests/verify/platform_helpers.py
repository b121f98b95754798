"""Small builders for the platform evaluator tests: objects from YAML text, peers, requests."""

from __future__ import annotations

from typing import Any

import yaml

from trustmap.analysis.inventory import make_obj
from trustmap.analysis.platform import Obj, Peer, Request


def objs(text: str) -> list[Obj]:
    """Every document of ``text`` as an evaluator input."""
    return [make_obj(doc, "test.yaml", i) for i, doc in enumerate(yaml.safe_load_all(text)) if doc]


def pod(name: str, namespace: str = "shop", account: str | None = None, **labels: Any) -> Peer:
    """A workload peer with labels ``app=name`` plus ``labels``."""
    all_labels = {"app": name, **{k: str(v) for k, v in labels.items()}}
    return Peer(
        f"{namespace}/{name}[Deployment]",
        namespace,
        tuple(sorted(all_labels.items())),
        account or name,
        hosts=(f"{name}.{namespace}.svc.cluster.local",),
    )


def req(
    source: Peer, target: Peer, port: int, method: str | None = None, path: str | None = None
) -> Request:
    """A TCP request, HTTP when ``method``/``path`` are given."""
    return Request(source, target, port, "TCP", method, path)
