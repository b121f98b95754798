"""Registry load: many teams push and read at once over loopback; nothing may be lost.

Each team owns one namespace and a few services; two writers per team race each other with
If-Match (so some pushes get 412, by design) while readers fetch service pages and callers.
At the end every accepted push must be in the history under its version, each team's files must
be those of its last accepted push, the audit chain must verify, and no request may have failed
with a 5xx or a transport error.

    python benchmarks/registry_load.py --seconds 30 --teams 20        # starts its own server
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ORG = """apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: load}
spec:
  rules: {requireReason: true, requireProviderConsent: true}
"""


def team_doc(team: int) -> str:
    """The Team document of team ``team``."""
    return (
        "apiVersion: trustmap.dev/v1alpha1\nkind: Team\n"
        f"metadata: {{name: team-{team}}}\nspec:\n  owners: [lead-{team}@example.com]\n"
        f"  namespaces: [ns-{team}]\n"
    )


def services(team: int, teams: int, round_: int, rng: random.Random | None) -> str:
    """Three services of ``team``; each depends on a random other team's service this round
    (on none without ``rng``)."""
    docs = []
    for n in range(3):
        target = rng.randrange(teams) if rng else team
        lines = [
            "apiVersion: trustmap.dev/v1alpha1",
            "kind: Service",
            f"metadata: {{name: svc-{n}, namespace: ns-{team}}}",
            "spec:",
            f"  team: team-{team}",
            f"  workload: {{serviceAccount: svc-{n}, podLabels: {{app: svc-{n}}}}}",
            "  interfaces:",
            "    - {name: grpc, port: 8080, appProtocol: grpc, consumers: ['*']}",
        ]
        if target != team:
            lines += [
                "  dependsOn:",
                f"    - service: ns-{target}/svc-{n}",
                "      interface: grpc",
                f"      reason: round {round_} of the load test",
            ]
        docs.append("\n".join(lines) + "\n")
    return f"# round {round_}\n" + "---\n".join(docs)


@dataclass
class Report:
    """What happened during a load run."""

    accepted: dict[int, tuple[str, str]] = field(default_factory=dict)
    """version -> (team, content) of every accepted push."""
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    reads: int = 0
    read_ms: list[float] = field(default_factory=list)
    push_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def setup(url: str, admin: str, teams: int) -> dict[int, str]:
    """Declare the organisation and issue one token per team."""
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=url, timeout=60) as http:
        body = {
            "files": [
                {"path": "org.yaml", "content": ORG},
                {"path": "teams.yaml", "content": "---\n".join(team_doc(t) for t in range(teams))},
            ]
        }
        answer = http.put(
            "/api/v1/teams/platform/declarations", json=body, headers={**auth, "If-Match": "*"}
        )
        answer.raise_for_status()
        tokens = {}
        for team in range(teams):
            made = http.post(
                "/api/v1/tokens", json={"team": f"team-{team}", "principal": "ci"}, headers=auth
            )
            made.raise_for_status()
            tokens[team] = made.json()["token"]
        for team in range(teams):  # every service exists before anyone depends on it
            first = {
                "files": [{"path": "services.yaml", "content": services(team, teams, 0, None)}]
            }
            answer = http.put(
                f"/api/v1/teams/team-{team}/declarations",
                json=first,
                headers={**auth, "If-Match": "*"},
            )
            answer.raise_for_status()
    return tokens


def writer(
    url: str, team: int, teams: int, token: str, stop: float, report: Report, seed: int
) -> None:
    """Pull, change, push with If-Match, until ``stop``."""
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60) as http:
        round_ = 0
        while time.monotonic() < stop:
            round_ += 1
            try:
                etag = http.get(f"/api/v1/teams/team-{team}/declarations", headers=auth).headers[
                    "ETag"
                ]
                content = services(team, teams, seed * 100_000 + round_, rng)
                start = time.perf_counter()
                answer = http.put(
                    f"/api/v1/teams/team-{team}/declarations",
                    json={"files": [{"path": "services.yaml", "content": content}]},
                    headers={**auth, "If-Match": etag},
                )
                elapsed = (time.perf_counter() - start) * 1000
            except httpx.HTTPError as error:
                with report.lock:
                    report.errors.append(f"push team-{team}: {error!r}")
                continue
            with report.lock:
                if answer.status_code == 200:
                    report.accepted[answer.json()["version"]] = (f"team-{team}", content)
                    report.push_ms.append(elapsed)
                elif answer.status_code == 412:
                    report.conflicts += 1
                else:
                    report.errors.append(
                        f"push team-{team}: {answer.status_code} {answer.text[:200]}"
                    )


def reader(url: str, teams: int, stop: float, report: Report, seed: int) -> None:
    """Read service pages and callers until ``stop``."""
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=60) as http:
        while time.monotonic() < stop:
            team, n = rng.randrange(teams), rng.randrange(3)
            path = f"/api/v1/services/ns-{team}/svc-{n}" + (
                "/callers" if rng.random() < 0.5 else ""
            )
            start = time.perf_counter()
            try:
                answer = http.get(path)
            except httpx.HTTPError as error:
                with report.lock:
                    report.errors.append(f"read {path}: {error!r}")
                continue
            with report.lock:
                report.reads += 1
                report.read_ms.append((time.perf_counter() - start) * 1000)
                if answer.status_code not in (200, 404):
                    report.errors.append(f"read {path}: {answer.status_code} {answer.text[:200]}")


def run(url: str, admin: str, teams: int = 20, seconds: float = 10, readers: int = 4) -> Report:
    """Drive the registry at ``url`` for ``seconds``; returns what happened."""
    tokens = setup(url, admin, teams)
    report = Report()
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=writer, args=(url, t, teams, tokens[t], stop, report, t * 2 + w))
        for t in range(teams)
        for w in range(2)
    ]
    threads += [
        threading.Thread(target=reader, args=(url, teams, stop, report, 1000 + r))
        for r in range(readers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return report


def lost_updates(url: str, report: Report) -> list[str]:
    """Accepted pushes missing from the history, and teams whose files are not their last push."""
    problems = []
    with httpx.Client(base_url=url, timeout=60) as http:
        history: dict[int, str] = {}
        before = None
        while True:
            page = http.get(
                "/api/v1/versions", params={"limit": 500, **({"before": before} if before else {})}
            ).json()["versions"]
            history.update({v["version"]: v["team"] for v in page})
            if len(page) < 500:
                break
            before = page[-1]["version"]
        last: dict[str, tuple[int, str]] = {}
        for version, (team, content) in sorted(report.accepted.items()):
            if history.get(version) != team:
                problems.append(f"accepted version {version} of {team} is not in the history")
            last[team] = (version, content)
        for team, (version, content) in sorted(last.items()):
            stored = http.get(f"/api/v1/teams/{team}/declarations").json()
            if stored["version"] != version or stored["files"][0]["content"] != content:
                problems.append(
                    f"{team}: registry holds version {stored['version']}, last accepted {version}"
                )
    return problems


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))
    from registry_live import serve

    from trustmap.server import Settings, create_app

    folder = tempfile.mkdtemp(prefix="trustmap-load-")
    url = args.database_url or f"sqlite:///{folder}/registry.db"
    admin = "load-admin-token-for-benchmarks-x7Kp2"
    app = create_app(Settings(database_url=url, admin_token=admin))
    with serve(app) as base:
        report = run(base, admin, args.teams, args.seconds)
        lost = lost_updates(base, report)
        chain = httpx.get(f"{base}/api/v1/audit/verify", timeout=120).json()
    print(
        f"{args.teams} teams x 2 writers + 4 readers for {args.seconds:.0f} s on {url.split(':')[0]}"
    )
    print(
        f"  pushes accepted {len(report.accepted)}, 412 conflicts {report.conflicts}, reads {report.reads}"
    )
    print(
        f"  push p50 {statistics.median(report.push_ms or [0]):.0f} ms, p99 {percentile(report.push_ms, 0.99):.0f} ms;"
        f" read p50 {statistics.median(report.read_ms or [0]):.1f} ms, p99 {percentile(report.read_ms, 0.99):.1f} ms"
    )
    print(
        f"  errors {len(report.errors)}, lost updates {len(lost)}, audit chain valid {chain['valid']} ({chain['entries']} entries)"
    )


if __name__ == "__main__":
    main()
