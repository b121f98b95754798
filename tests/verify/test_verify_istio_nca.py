"""The Istio evaluator agrees with network-config-analyzer (nca) on generated organisations.

nca (IBM np-guard, PyPI ``network-config-analyzer``) reads Istio AuthorizationPolicies and reports,
per workload pair, the allowed ports, HTTP methods and paths. Hypothesis generates small
organisations — namespaces, workloads with service accounts, ALLOW and DENY policies naming
principals, namespaces, ports, methods and paths with exact, prefix, suffix and ``*`` values, the
allow-nothing policy — and every request between every pair on the generated ports, methods and
paths must get the same answer from both. nca is installed into .venv-nca on first use and is
never skipped in CI (CI=true). Rule sources: docs/verify.md (Istio).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trustmap.analysis.inventory import make_obj
from trustmap.analysis.istio import IstioEvaluator, principal
from trustmap.analysis.platform import Peer, Request

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dialects"))
from nca_oracle import in_ci, nca_binary

NAMESPACES = ("alpha", "beta")
APPS = ("web", "api", "db")
PORTS = (8080, 9090)
METHODS = ("GET", "POST", "DELETE")
PATHS = ("/items", "/items/1", "/admin/x", "/health")
PATH_VALUES = ("/items", "/items/*", "*/x", "/health", "*")


@pytest.fixture(scope="module")
def nca() -> Path:
    binary, why = nca_binary()
    if binary is None:
        if in_ci():
            pytest.fail(f"nca is required in CI: {why}")
        pytest.skip(f"nca is not installed and could not be installed (offline?): {why}")
    return binary


def workloads() -> list[Peer]:
    return [
        Peer(f"{ns}/{app}[Deployment]", ns, (("app", app),), f"{app}-sa")
        for ns in NAMESPACES
        for app in APPS
    ]


def _source() -> st.SearchStrategy[dict[str, Any]]:
    principals = st.lists(
        st.sampled_from(
            [f"cluster.local/ns/{ns}/sa/{app}-sa" for ns in NAMESPACES for app in APPS]
            + ["cluster.local/ns/alpha/*", "*/sa/web-sa", "*"]
        ),
        min_size=1,
        max_size=2,
        unique=True,
    )
    namespaces = st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=2, unique=True)
    return st.one_of(
        st.fixed_dictionaries({"principals": principals}),
        st.fixed_dictionaries({"namespaces": namespaces}),
        st.fixed_dictionaries({"notPrincipals": principals}),
    )


def _operation() -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        "ports": st.lists(
            st.sampled_from([str(p) for p in PORTS]), min_size=1, max_size=2, unique=True
        ),
        "methods": st.lists(st.sampled_from(METHODS), min_size=1, max_size=2, unique=True),
        "paths": st.lists(st.sampled_from(PATH_VALUES), min_size=1, max_size=2, unique=True),
    }
    # Istio's API rejects an empty operation: at least one field
    return st.fixed_dictionaries({}, optional=fields).filter(bool)


def _rule() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "from": st.lists(st.builds(lambda s: {"source": s}, _source()), min_size=1, max_size=2),
            "to": st.lists(
                st.builds(lambda o: {"operation": o}, _operation()), min_size=1, max_size=2
            ),
        },
    )


@st.composite
def policies(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for index in range(draw(st.integers(1, 4))):
        namespace = draw(st.sampled_from(NAMESPACES))
        spec: dict[str, Any] = {"action": draw(st.sampled_from(["ALLOW", "ALLOW", "DENY"]))}
        if draw(st.booleans()):
            spec["selector"] = {"matchLabels": {"app": draw(st.sampled_from(APPS))}}
        rules = draw(st.lists(_rule(), min_size=0 if spec["action"] == "ALLOW" else 1, max_size=3))
        if rules:
            spec["rules"] = rules
        out.append(
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {"name": f"p{index}", "namespace": namespace},
                "spec": spec,
            }
        )
    return out


def manifests(peers: list[Peer]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
        }
        for ns in NAMESPACES
    ]
    for peer in peers:
        labels = dict(peer.labels)
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": labels["app"], "namespace": peer.namespace},
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": peer.service_account,
                            "containers": [
                                {
                                    "name": "m",
                                    "image": "x",
                                    "ports": [{"containerPort": p} for p in PORTS],
                                }
                            ],
                        },
                    },
                },
            }
        )
    return docs


# --- nca output ---------------------------------------------------------------------------------

_LINE = re.compile(r"^(\S+) => (\S+) : (.+)$")
_FIELD = re.compile(r",(?=(?:protocols|dst_ports|methods|paths|hosts):)")


def nca_connectivity(
    binary: Path, tmp: Path, objects: list[dict[str, Any]], peers: list[Peer]
) -> dict[tuple[str, str], list[dict[str, str]] | None]:
    (tmp / "policies.yaml").write_text(yaml.safe_dump_all(objects))
    (tmp / "pods.yaml").write_text(yaml.safe_dump_all(manifests(peers)))
    args = [
        str(binary),
        "--connectivity",
        str(tmp / "policies.yaml"),
        "--pod_list",
        str(tmp / "pods.yaml"),
        "--ns_list",
        str(tmp / "pods.yaml"),
        "-o",
        "txt_no_fw_rules",
        "--output_endpoints",
        "deployments",
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    text = done.stdout.split("non-TCP Connections:")[0]
    assert "TCP Connections:" in text, done.stdout[-2000:] + done.stderr[-2000:]
    flows: dict[tuple[str, str], list[dict[str, str]] | None] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match or "[" not in match[1] or "[" not in match[2]:
            continue
        key = (match[1], match[2])
        if match[3].strip() == "All connections":
            flows[key] = None
        elif flows.get(key, []) is not None:
            blocks = flows.setdefault(key, [])
            assert blocks is not None
            blocks.extend(_blocks(match[3]))
    return flows


def _blocks(text: str) -> list[dict[str, str]]:
    out = []
    for body in re.findall(r"\{([^{}]*)\}", text):
        fields = {}
        for part in _FIELD.split(body):
            key, _, value = part.partition(":")
            fields[key.strip()] = value.strip()
        out.append(fields)
    return out


def _listed(value: str, actual: str, match: Any) -> bool:
    """nca's value sets: ``a, b``, ``all but a``, and path expressions such as
    ``(/*)-((/items)|(/items/*|/health))`` (``|``/``,`` union, ``-`` difference, ``&``
    intersection; ``[.\\w/\\-]+`` regular expressions stand for every path)."""
    value = value.strip()
    if value.startswith("all but"):
        return not _listed(value[len("all but") :], actual, match) if value[7:].strip() else True
    tokens = re.findall(r"\[[^\]]*\]\+?|[()|,&-]|[^()|,&\s-]+", value)
    result, rest = _expression(tokens, actual, match)
    assert not rest, f"unparsed nca value {value!r}"
    return result


def _expression(tokens: list[str], actual: str, match: Any) -> tuple[bool, list[str]]:
    result, tokens = _atom(tokens, actual, match)
    while tokens and tokens[0] in ("|", ",", "-", "&"):
        op, tokens = tokens[0], tokens[1:]
        right, tokens = _atom(tokens, actual, match)
        if op == "-":
            result = result and not right
        elif op == "&":
            result = result and right
        else:
            result = result or right
    return result, tokens


def _atom(tokens: list[str], actual: str, match: Any) -> tuple[bool, list[str]]:
    if tokens[0] == "(":
        result, rest = _expression(tokens[1:], actual, match)
        assert rest[:1] == [")"], tokens
        return result, rest[1:]
    if tokens[0].startswith("["):
        return re.fullmatch(tokens[0], actual) is not None, tokens[1:]
    return bool(match(tokens[0], actual)), tokens[1:]


def _ports(value: str, port: int) -> bool:
    for part in value.split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def _istio_value(pattern: str, value: str) -> bool:
    if pattern == "*":
        return value != ""
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def nca_allows(blocks: list[dict[str, str]] | None, port: int, method: str, path: str) -> bool:
    if blocks is None:
        return True
    for block in blocks:
        if "dst_ports" in block and not _ports(block["dst_ports"], port):
            continue
        if "methods" in block and not _listed(block["methods"], method, lambda p, a: p == a):
            continue
        if "paths" in block and not _listed(block["paths"], path, _istio_value):
            continue
        return True
    return False


@settings(
    max_examples=15,
    deadline=None,
    phases=[
        Phase.explicit,
        Phase.reuse,
        Phase.generate,
    ],  # each example runs nca (~1 s): no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(objects=policies())
def test_the_istio_evaluator_agrees_with_nca(
    nca: Path, tmp_path_factory: pytest.TempPathFactory, objects: list[dict[str, Any]]
) -> None:
    peers = workloads()
    tmp = tmp_path_factory.mktemp("nca")
    flows = nca_connectivity(nca, tmp, objects, peers)
    evaluator = IstioEvaluator(
        [make_obj(o, "generated.yaml", i) for i, o in enumerate(objects)], peers
    )
    disagreements = []
    for source in peers:
        for target in peers:
            if source == target:
                continue
            blocks = flows.get((source.id, target.id), [])
            for port in PORTS:
                for method in METHODS:
                    for path in PATHS:
                        ours = evaluator.decide(
                            Request(source, target, port, "TCP", method, path)
                        ).allowed
                        theirs = nca_allows(blocks, port, method, path)
                        if ours != theirs:
                            disagreements.append(
                                (principal(source), target.id, port, method, path, ours, theirs)
                            )
    assert not disagreements, (disagreements[:5], yaml.safe_dump_all(objects))


# --- Sidecar egress ----------------------------------------------------------------------------

HOSTS = (
    "alpha/api.alpha.svc.cluster.local",
    "beta/db.beta.svc.cluster.local",
    "./*",
    "*/*",
    "beta/*",
    "~/*",
)
"""Host forms both read the same way. Not generated: ``*/web.alpha.svc.cluster.local`` (any
namespace, one host): under it nca also let beta's pods reach beta/web (web.beta.svc...), where
Istio matches the whole host name (Sidecar reference, ``hosts``) — seen in a generated case."""


@st.composite
def sidecars(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for index in range(draw(st.integers(1, 3))):
        namespace = draw(st.sampled_from(NAMESPACES))
        spec: dict[str, Any] = {
            "egress": [
                {
                    "hosts": draw(
                        st.lists(st.sampled_from(HOSTS), min_size=1, max_size=3, unique=True)
                    )
                }
            ],
            # REGISTRY_ONLY only: nca treats egress hosts as a limit under ALLOW_ANY too, where
            # Istio passes unknown destinations through (Sidecar reference, OutboundTrafficPolicy)
            "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
        }
        if draw(st.booleans()):
            spec["workloadSelector"] = {"labels": {"app": draw(st.sampled_from(APPS))}}
        out.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "Sidecar",
                "metadata": {"name": f"s{index}", "namespace": namespace},
                "spec": spec,
            }
        )
    return out


def services(peers: list[Peer]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": dict(p.labels)["app"], "namespace": p.namespace},
            "spec": {"selector": dict(p.labels), "ports": [{"port": port} for port in PORTS]},
        }
        for p in peers
    ]


def with_hosts(peers: list[Peer]) -> list[Peer]:
    return [
        Peer(
            p.id,
            p.namespace,
            p.labels,
            p.service_account,
            hosts=(f"{dict(p.labels)['app']}.{p.namespace}.svc.cluster.local",),
        )
        for p in peers
    ]


@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(objects=sidecars())
def test_sidecar_egress_agrees_with_nca(
    nca: Path, tmp_path_factory: pytest.TempPathFactory, objects: list[dict[str, Any]]
) -> None:
    """A Sidecar (the workload's own, else its namespace's) limits the hosts its proxy knows;
    REGISTRY_ONLY blocks the others (https://istio.io/latest/docs/reference/config/networking/sidecar/)."""
    # one Sidecar per scope: Istio's behaviour with several is undefined
    seen, unique = set(), []
    for obj in objects:
        scope = (obj["metadata"]["namespace"], str(obj["spec"].get("workloadSelector")))
        if scope not in seen:
            seen.add(scope)
            unique.append(obj)
    peers = with_hosts(workloads())
    tmp = tmp_path_factory.mktemp("ncasc")
    everything = manifests(peers) + services(peers) + unique
    (tmp / "all.yaml").write_text(yaml.safe_dump_all(everything))
    args = [
        str(nca),
        "--connectivity",
        "--resource_list",
        str(tmp / "all.yaml"),
        "-o",
        "txt_no_fw_rules",
        "--output_endpoints",
        "deployments",
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    text = done.stdout.split("non-TCP Connections:")[0]
    assert "TCP Connections:" in text, done.stdout[-2000:] + done.stderr[-2000:]
    allowed = {(m[1], m[2]) for m in (_LINE.match(line.strip()) for line in text.splitlines()) if m}
    evaluator = IstioEvaluator(
        [make_obj(o, "generated.yaml", i) for i, o in enumerate(unique)], peers
    )
    disagreements = []
    for source in peers:
        for target in peers:
            if source == target:
                continue
            ours = evaluator.decide(Request(source, target, PORTS[0], "TCP", "GET", "/")).allowed
            theirs = (source.id, target.id) in allowed
            if ours != theirs:
                disagreements.append((source.id, target.id, ours, theirs))
    assert not disagreements, (disagreements[:5], yaml.safe_dump_all(unique))
