"""Pushing declarations: atomic, checked against the whole organisation, versioned, diffable."""

from __future__ import annotations

import threading

import httpx
from registry_helpers import AS_ADMIN, EXAMPLE, TEAM_FILES, TODAY, files, flows, push_example, put

from trustmap.graph import load_graph
from trustmap.report.graph import edge_to_dict


def test_the_merged_graph_of_team_pushes_equals_the_graph_of_the_same_files(
    client: httpx.Client,
) -> None:
    push_example(client)
    served = client.get("/api/v1/graph").json()
    local = load_graph([EXAMPLE], TODAY)
    assert flows(served["edges"]) == flows([edge_to_dict(e) for e in local.edges])
    assert {s["ref"] for s in served["services"]} == {str(r) for r in local.services}
    assert len(served["edges"]) > 10


def test_a_push_with_an_error_is_refused_with_file_line_col_and_applies_nothing(
    client: httpx.Client,
) -> None:
    push_example(client)
    before = client.get("/api/v1/teams/catalog/declarations").json()
    broken = [
        *files(TEAM_FILES["catalog"]),
        {
            "path": "services/extra.yaml",
            "content": "apiVersion: trustmap.dev/v1alpha1\nkind: Service\n"
            "metadata: {name: extra, namespace: default}\nspec:\n  team: catalog\n  workload: {serviceAccount: extra, podLabels: {app: extra}}\n"
            "  dependsOn:\n    - service: default/cartservce\n      interface: grpc\n      reason: typo\n",
        },
    ]
    answer = put(client, "catalog", broken, if_match=before["etag"])
    assert answer.status_code == 422
    problems = answer.json()["error"]["diagnostics"]
    unknown = [p for p in problems if p["code"] == "TM203"]
    assert unknown
    assert unknown[0]["file"] == "services/extra.yaml"
    assert (unknown[0]["line"], unknown[0]["column"]) == (8, 16)
    assert "did you mean 'default/cartservice'" in unknown[0]["message"]
    after = client.get("/api/v1/teams/catalog/declarations").json()
    assert after["version"] == before["version"]
    assert after["files"] == before["files"]
    assert "default/extra" not in {
        s["ref"] for s in client.get("/api/v1/services").json()["services"]
    }


def test_a_push_needs_if_match_and_a_stale_one_gets_412(client: httpx.Client) -> None:
    push_example(client)
    body = files(TEAM_FILES["qa"])
    body[0]["content"] += "\n# touched\n"
    assert put(client, "qa", body, if_match=None).status_code == 428
    stale = put(client, "qa", body, if_match='"qa@1"')
    assert stale.status_code == 412
    current = client.get("/api/v1/teams/qa/declarations").headers["ETag"]
    assert stale.headers["ETag"] == current
    assert put(client, "qa", body, if_match=current).status_code == 200


def test_two_concurrent_pushes_from_the_same_version_never_lose_an_update(
    client: httpx.Client,
) -> None:
    push_example(client)
    etag = client.get("/api/v1/teams/qa/declarations").headers["ETag"]
    gate = threading.Barrier(2)
    results: list[int] = []

    def attempt(n: int) -> None:
        body = files(TEAM_FILES["qa"])
        body[0]["content"] += f"\n# writer {n}\n"
        with httpx.Client(base_url=str(client.base_url), timeout=60) as own:
            gate.wait()
            results.append(put(own, "qa", body, if_match=etag).status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 412]
    kept = client.get("/api/v1/teams/qa/declarations").json()["files"][0]["content"]
    assert kept.count("# writer") == 1


def test_pushing_the_same_files_again_creates_no_version(client: httpx.Client) -> None:
    push_example(client)
    head = client.get("/api/v1/versions", params={"limit": 1}).json()["versions"][0]["version"]
    again = put(client, "qa", files(TEAM_FILES["qa"]))
    assert again.status_code == 200
    assert again.json()["unchanged"] is True
    assert (
        client.get("/api/v1/versions", params={"limit": 1}).json()["versions"][0]["version"] == head
    )


def test_diffs_between_versions_name_the_flows_opened_and_closed(client: httpx.Client) -> None:
    push_example(client)
    head = client.get("/api/v1/versions", params={"limit": 1}).json()["versions"][0]["version"]
    everything = client.get("/api/v1/diff", params={"base": 0, "head": head}).json()
    assert set(everything["opened"]) == flows(client.get("/api/v1/graph").json()["edges"])
    assert everything["closed"] == []
    gone = put(client, "qa", [])
    assert gone.status_code == 200
    closed = gone.json()["closed"]
    assert closed
    assert all(flow.startswith("default/loadgenerator ->") for flow in closed)
    step = client.get("/api/v1/diff", params={"base": head, "head": head + 1}).json()
    assert step["closed"] == closed
    assert step["opened"] == []
    backwards = client.get("/api/v1/diff", params={"base": head + 1, "head": head}).json()
    assert backwards["opened"] == closed
    assert client.get("/api/v1/diff", params={"base": 0, "head": head + 5}).status_code == 404


def test_a_pull_returns_the_files_of_any_version(client: httpx.Client) -> None:
    push_example(client)
    first = client.get("/api/v1/teams/qa/declarations").json()
    changed = files(TEAM_FILES["qa"])
    changed[0]["content"] += "\n# second\n"
    second = put(client, "qa", changed).json()["version"]
    old = client.get("/api/v1/teams/qa/declarations", params={"version": second - 1}).json()
    assert old["files"] == first["files"]
    assert client.get("/api/v1/versions/" + str(second)).json()["files"] == [TEAM_FILES["qa"]]
    assert client.get("/api/v1/teams/qa/declarations", headers=AS_ADMIN).json()["version"] == second
