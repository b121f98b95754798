"""The compiled Hubble reader (``_hubblescan``) stores exactly what the Python parser stores.

For any input, ``engine="native"`` must give the rows and counts of ``engine="python"`` (the
reference semantics): a file with a line the compiled reader cannot vouch for is read again by
the next reader, and is never lost or changed on the way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from observe_helpers import HUBBLE, SAMPLES, rows

from trustmap.observe import ingest, native
from trustmap.observe.formats import hubble_native
from trustmap.observe.ingest import IngestReport

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
pytestmark = pytest.mark.skipif(
    not hubble_native.AVAILABLE and not CI,
    reason="the compiled Hubble reader is not built (trustmap was installed without a C "
    "compiler; rebuild with `pip install -e . --no-deps`); CI must build it",
)
EXPORT = SAMPLES / "hubble" / "cilium-docs" / "export-events-dropped.jsonl"
TCP, UDP, HTTP = (
    HUBBLE / f"basic-sample-{n}-flows.json" for n in ("400-tcp", "400-udp", "348-http")
)
WINDOW = 5_000_000


def _file(report: IngestReport, n: int) -> tuple[object, ...]:
    """What a report says of its ``n``-th file but which reader read it."""
    shown = [d for d in report.diagnostics if d.span and d.span.file == report.files[n].path]
    return dataclasses.replace(report.files[n], engine=""), shown


def _counts(report: IngestReport) -> IngestReport:
    """``report`` but where its database is and which reader read each file."""
    files = tuple(dataclasses.replace(f, engine="") for f in report.files)
    return dataclasses.replace(report, db_path="", files=files)


def _rows(db: Path, where: str = "true") -> list[dict[str, Any]]:
    """The flows of ``db`` in a total order (``rows`` leaves ties, e.g. rows that differ only
    in their drop reason or peers, in the order DuckDB returns them)."""
    return sorted(rows(db, where), key=repr)


def _same_as_python(paths: list[Path], folder: Path) -> IngestReport:
    """Ingest ``paths`` with the compiled reader and with Python; assert both stored the same."""
    fast = ingest(paths, "hubble", folder / "native.duckdb", engine="native")
    slow = ingest(paths, "hubble", folder / "python.duckdb", engine="python")
    assert _rows(folder / "native.duckdb") == _rows(folder / "python.duckdb")
    assert _counts(fast) == _counts(slow)
    return fast


def _write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_bytes("".join(line + end for line in lines).encode())
    return path


# Random captures -------------------------------------------------------------------------------


def _one(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def _some(**optional: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects holding any of these keys."""
    return st.fixed_dictionaries({}, optional=optional)


_LABELS = st.lists(_one(
    "k8s:app=web", "k8s:tier=db", "app=bare", "k8s:io.kubernetes.pod.namespace=shop",
    "k8s:io.cilium.k8s.policy.serviceaccount=web", "k8s:io.cilium.k8s.policy.cluster=east",
    "reserved:host", "reserved:world", "cidr:10.0.0.0/8", 'k8s:note=a"b\\c/d'), unique=True, max_size=4)  # fmt: skip
_EXTRA = {"Summary": "TCP Flags: SYN", "event_type": {"type": 4, "sub_type": 3},
          "extra": [1e300, -1.5e-07, 10**22, True, None, {"deep": [[], {}], "s": "x\u00e9\n\"/\\\t"}]}  # fmt: skip
_BAD_LINES = ('{"flow": {"time": "2026-', "not json", '{"flow": }', "[1, 2]", "{}", "null",
              '{"flow": {"time": "2026-01-01T10:00:00Z"}} trailing')  # fmt: skip
_TIME = st.builds("2026-01-01T10:00:0{}{}Z".format, st.integers(0, 9),
                  st.text("0123456789", max_size=9).map(lambda d: d and f".{d}"))  # fmt: skip
_BAD_TIME = _one(
    "2024-02-29T23:59:59.5Z", "2026-13-01T10:00:00Z", "2026-02-30T10:00:00Z", "2023-02-29T00:00:00Z",
    "2026-01-01T10:00:00.Z", "2026-01-01T10:00:00.1234567890Z", "2026-01-01T10:00:00",
    "2026-01-01 10:00:00Z", "2026-01-01T11:00:00+01:00", "yesterday", "", None)  # fmt: skip
_NODE = _one("", None, "node-a", "node-b")
_PORTS = _some(source_port=_one(None, 0, 80, 40000), destination_port=_one(None, 0, 80, 443))
_FLAGS = _one({}, {"SYN": True}, {"SYN": True, "ACK": True}, {"ACK": True}, {"SYN": None})
_L4 = st.one_of(
    st.builds(lambda p, f: {"TCP": p | f}, _PORTS, _some(flags=_FLAGS)),
    st.builds(lambda name, p: {name: p}, _one("UDP", "SCTP"), _PORTS),
    _one({"ICMPv4": {"type": 8}}, {"ICMPv6": {"type": 133}}, {}, None),
)
_HTTP = _some(
    code=_one(None, 0, 200, 503), method=_one("", "GET"), protocol=st.just("HTTP/1.1"),
    url=_one("", "http://cart:7070/x?y=1", "https://a/b/c#frag", "/status/418", "/", "http://host",
             "?q=1", '/quo"te\\back', "/caf\u00e9"),
)  # fmt: skip
_DNS = _some(
    query=_one("", "api.example.com."),
    rcode=_one(None, 0, 3),
    ips=st.just(["1.2.3.4"]),
    qtypes=_one(None, [], ["A"], ["A", "AAAA"], ["AAAA", "A", "SRV"]),
)
_KAFKA = _some(error_code=_one(0, 3), api_key=st.just("produce"), topic=st.just("orders"))
_L7 = st.builds(
    lambda head, body: head | body,
    _some(type=_one("REQUEST", "RESPONSE", "SAMPLE"), latency_ns=st.just(1200)),
    _some(http=_HTTP) | _some(dns=_DNS) | _some(kafka=_KAFKA),
)
_OBSERVED = _some(
    verdict=_one(None, "", "FORWARDED", "DROPPED", "REDIRECTED", "AUDIT", "VERDICT_UNKNOWN"),
    drop_reason_desc=_one(None, "", "POLICY_DENIED", "POLICY_DENY", "DROP_REASON_UNKNOWN"),
    drop_reason=_one(None, 0, 133, 181, 189, 999), is_reply=_one(True, False, None),
    reply=st.booleans(), l4=_L4, l7=st.none() | _L7,
    aggregate=_one({}, {"ingress_flow_count": 3}, {"egress_flow_count": 2, "unknown_direction_flow_count": 0}),
)  # fmt: skip


@st.composite
def _pods(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Peers of a capture: (endpoint, names, service, address). Each is described the same way
    on every line (descriptions that differ for one address are picked apart, see EDGES)."""
    pods: list[tuple[Any, ...]] = [
        ({"identity": 2, "labels": ["reserved:world"]}, ["api.example.com"], None, "203.0.113.9"),
        ({}, None, None, "10.9.9.9"),
    ]
    for i in range(draw(st.integers(1, 3))):
        endpoint = draw(st.fixed_dictionaries({"pod_name": st.just(f"pod-{i}")}, optional={
            "ID": st.just(100 + i), "namespace": _one("", "shop", "caf\u00e9"), "labels": st.none() | _LABELS,
            "workloads": _one(None, [], [{"name": f"wl-{i}", "kind": "Deployment"}], [{"name": "a"}, {}]),
            "cluster_name": _one("", "east")}))  # fmt: skip
        names = draw(_one(None, [], [f"p{i}.example.com"], [f"a{i}.example", ""]))
        service = draw(_one(None, {}, {"name": f"svc-{i}", "namespace": "shop"}))
        pods.append((endpoint, names, service, f"10.0.{i}.1"))
    return pods


@st.composite
def _flow(draw: st.DrawFn, pods: list[tuple[Any, ...]]) -> dict[str, Any]:
    """What a flow line says but its time and reporter (lines share these, so they collapse).
    A side with an address may leave its endpoint out (a poorer description of the same peer);
    one without keeps it, as peers without an address are told apart by their description."""
    flow, ip = draw(_OBSERVED), {"ipVersion": "IPv4"}
    whole = draw(st.integers(0, 3)) > 0
    for side in ("source", "destination"):
        endpoint, names, service, address = draw(st.sampled_from(pods))
        ip[side] = draw(_one(address, address, "", None, "absent"))
        bare = (
            _one(endpoint, endpoint, None, {})
            if whole and ip[side] == address
            else st.just(endpoint)
        )
        flow |= {side: draw(bare), f"{side}_names": names, f"{side}_service": service}
    flow["IP"] = {k: v for k, v in ip.items() if v != "absent"} if whole else draw(_one(None, {}))
    return flow | _EXTRA if draw(st.booleans()) else flow


def _quote(text: str, style: int) -> str:
    if style != 2:
        return json.dumps(text, ensure_ascii=style != 3)
    return '"' + "".join("\\/" if c == "/" else f"\\u{ord(c):04x}" if c in "aeAE" else json.dumps(c)[1:-1] for c in text) + '"'  # fmt: skip


def _dump(value: Any, style: int) -> str:
    """JSON text; ``style`` 0 compact, 1 spaced, 2 letters and ``/`` escaped, 3 raw UTF-8."""
    comma, colon = (", ", ": ") if style == 1 else (",", ":")
    if isinstance(value, dict):
        items = (f"{json.dumps(k)}{colon}{_dump(v, style)}" for k, v in value.items())
        return "{" + comma.join(items) + "}"
    if isinstance(value, list):
        return "[" + comma.join(_dump(v, style) for v in value) + "]"
    return _quote(value, style) if isinstance(value, str) else json.dumps(value)


@st.composite
def _line(draw: st.DrawFn, flows: list[dict[str, Any]], spoilt: int) -> str:
    """A line of a capture. The compiled reader refuses lines of ``spoilt`` files only: raw
    UTF-8 (1: DuckDB's reader takes the file) or broken lines and times (2: Python's)."""
    kind, envelope = draw(st.integers(0, 19)), draw(_some(node_name=_NODE))
    if kind == 0:
        envelope["lost_events"] = draw(
            _some(source=st.just("HUBBLE_RING_BUFFER"), num_events_lost=_one(0, 7))
        )
    elif kind == 1:
        envelope[draw(_one("node_status", "agent_event", "debug_event"))] = {"node_names": ["a"]}
    elif kind == 2:
        return draw(_one("", "  ", "\t\r"))
    elif kind == 3 and spoilt == 2:
        return draw(st.sampled_from(_BAD_LINES))
    else:
        flow = draw(st.sampled_from(flows)) | draw(_some(node_name=_NODE))
        flow |= {"Summary": "caf\u00e9"} if spoilt == 1 else {}  # raw UTF-8 in style 3
        stamp = draw(_TIME | _BAD_TIME if spoilt == 2 else _TIME)
        where = draw(_one("flow", "flow", "envelope", "both", "empty"))
        if where != "envelope":
            flow["time"] = "" if where == "empty" else stamp
        if where != "flow":
            envelope["time"] = "2026-01-01T10:00:03.25Z" if where == "both" else stamp
        envelope = {"flow": flow, **envelope}
    return _dump(envelope, draw(st.integers(0, 3 if spoilt else 2))) + draw(_one("", "", " ", "\r"))


@st.composite
def _captures(draw: st.DrawFn) -> list[list[str]]:
    pods = draw(_pods())
    flows = draw(st.lists(_flow(pods), min_size=1, max_size=4))
    spoilt = draw(st.lists(st.integers(0, 3).map(lambda n: max(n - 1, 0)), min_size=1, max_size=3))
    return [draw(st.lists(_line(flows, s), max_size=10)) for s in spoilt]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capture=_captures(), block=_one(256, 8192, 1 << 16), flush=_one(2, native.FLUSH_ROWS))
def test_native_stores_exactly_what_python_stores(
    capture: list[list[str]], block: int, flush: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(hubble_native, "BLOCK_BYTES", block)
        patch.setattr(native, "FLUSH_ROWS", flush)
        note("\n--- file\n".join("\n".join(lines) for lines in capture))
        paths = [_write(Path(folder) / f"f{n}.json", lines) for n, lines in enumerate(capture)]
        report = _same_as_python(paths, Path(folder))
    for file in report.files:
        event(f"file read by {file.engine}")


# Edge lines ------------------------------------------------------------------------------------


def _line_with(**changes: Any) -> str:
    flow = {
        "time": "2026-01-01T10:00:00Z", "verdict": "FORWARDED",
        "IP": {"source": "10.0.0.1", "destination": "10.0.0.2"},
        "l4": {"TCP": {"source_port": 40000, "destination_port": 80}},
        "source": {"namespace": "shop", "pod_name": "web-1"},
        "destination": {"namespace": "shop", "pod_name": "db-1"}, **changes,
    }  # fmt: skip
    return json.dumps({"flow": flow, "node_name": "node-a"})


def _raw(fields: str) -> str:
    ip = '"IP": {"source": "10.0.0.1", "destination": "10.0.0.2"}'
    return f'{{"flow": {{"time": "2026-01-01T10:00:00Z", {ip}, {fields}}}}}'


_FULL = {"namespace": "n", "pod_name": "p", "workloads": [{"name": "w", "kind": "Deployment"}]}
_LABELLED = {"labels": ["k8s:app=x", "k8s:io.cilium.k8s.policy.serviceaccount=sa", "reserved:host",
                        "k8s:io.cilium.k8s.policy.cluster=c", "k8s:io.kubernetes.pod.namespace=m"]}  # fmt: skip
_NAMED = {"source_names": ["x.example"], "source_service": {"name": "s", "namespace": "n"}}
_UTF8_URL = _line_with(l7={"http": {"url": "/caf\u00e9"}}).replace("\\u00e9", "\u00e9")
EDGES = {
    # Handed on by the compiled reader and read alike by the next one.
    "port-as-numeric-string": [_line_with(l4={"TCP": {"destination_port": "80"}})],
    "http-code-as-string": [_line_with(l7={"type": "REQUEST", "http": {"code": "200"}})],
    "raw-utf8-in-url": [_UTF8_URL],
    "escaped-key": [_line_with().replace('"verdict"', '"v\\u0065rdict"')],
    "nesting-deeper-than-64": [_raw('"x": ' + "[" * 70 + "]" * 70)],
    "bare-flow-without-envelope": [json.dumps({"time": "2026-01-01T10:00:00Z", "verdict": "DROPPED"})],
    "huge-integer-port": [_raw('"l4": {"TCP": {"destination_port": 123456789012345678901}}')],
    # Read by the compiled reader itself.
    "escaped-non-ascii-in-endpoint": [_line_with(source={"namespace": "caf\u00e9", "pod_name": "p"})],
    "nul-escape-and-surrogate-pair": [_raw('"Summary": "\\u0000 \\ud83d\\ude00"')],
    "negative-http-code": [_line_with(l7={"http": {"code": -1}})],
    # Mismatches found while writing these tests (fixed in 89eb180). The compiled reader read:
    "escaped-second-qtype": [_raw('"l7": {"dns": {"qtypes": ["A", "\\u0041AAA"]}}')],
    "duplicate-key-null-later": [_raw('"is_reply": true, "is_reply": null')],
    "duplicate-l4-member": [_raw('"l4": {"TCP": {"destination_port": 80}, "TCP": null}')],
    "duplicate-IP": [_raw('"IP": {"source": "3.3.3.3"}')],
    "duplicate-flow": ['{"flow": {"time": "2026-01-01T10:00:00Z"}, "flow": {"verdict": "AUDIT"}}'],
    "lone-surrogate-in-unknown-field": [_raw('"Summary": "\\ud800"')],
    "infinite-number-in-unknown-field": [_raw('"latency": 1e400')],
    # ... these as DuckDB's reader does, otherwise than Python (the peer picks were no ties: each
    # reader counted how complete a peer description is differently):
    "ports-of-a-second-l4-member": [_line_with(l4={"TCP": {}, "UDP": {"source_port": 5}})],
    "udp-syn-flag": [_line_with(l4={"UDP": {"destination_port": 6, "flags": {"SYN": True}}})],
    "udp-flags-not-an-object": [_line_with(l4={"UDP": {"destination_port": 6, "flags": 5}})],
    "negative-aggregate-count": [_line_with(aggregate={"ingress_flow_count": -3})],
    "richer-labels-lose-the-peer-pick": [_line_with(source=_FULL), _line_with(source=_LABELLED)],
    "client-names-change-the-peer-pick": [
        _line_with(source={"namespace": "n", "pod_name": "p"}, **_NAMED),
        _line_with(source={"namespace": "n", "pod_name": "q", "workloads": [{"name": "w"}]}),
    ],
    # Refused by the compiled reader; DuckDB's reader coerces what Python rejects, so only
    # Python may read them next.
    "port-80.0": [_raw('"l4": {"TCP": {"destination_port": 80.0}}')],
    "port-8e1": [_raw('"l4": {"TCP": {"destination_port": 8e1}}')],
    "hour-24": [_line_with(time="2026-01-01T24:00:00Z")],
    "label-not-a-string": [_line_with(source={"labels": [1]})],
    "null-qtype": [_line_with(l7={"dns": {"query": "a.", "qtypes": ["A", None]}})],
    "is_reply-as-string": [_line_with(is_reply="true")],
    "reply-as-number": [_line_with(reply=1)],
    "syn-as-number": [_line_with(l4={"TCP": {"destination_port": 80, "flags": {"SYN": 1}}})],
    "address-as-number": [_line_with(IP={"source": 5, "destination": "10.0.0.2"})],
    "verdict-as-number": [_line_with(verdict=7)],
}  # fmt: skip


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestReport, IngestReport]:
    """Each edge case in its own file, dated days 2n+1 and 2n+2 of 2026, read by both readers."""
    folder = tmp_path_factory.mktemp("edges")
    paths = []
    for n, lines in enumerate(EDGES.values()):
        day = (dt.date(2026, 1, 1) + dt.timedelta(days=2 * n)).isoformat()
        text = [line.replace("2026-01-01", day) for line in [*lines, _line_with(verdict="DROPPED")]]
        paths.append(_write(folder / f"edge-{n}.json", text))
    fast = ingest(paths, "hubble", folder / "native.duckdb", engine="native")
    return folder, fast, ingest(paths, "hubble", folder / "python.duckdb", engine="python")


@pytest.mark.parametrize("n", range(len(EDGES)), ids=EDGES.keys())
def test_edge_lines_are_stored_as_python_stores_them(
    n: int, edges: tuple[Path, IngestReport, IngestReport]
) -> None:
    folder, fast, slow = edges
    start = dt.datetime(2026, 1, 1) + dt.timedelta(days=2 * n)
    days = f"time >= '{start}' AND time < '{start + dt.timedelta(days=2)}'"
    assert _rows(folder / "native.duckdb", days) == _rows(folder / "python.duckdb", days)
    assert _file(fast, n) == _file(slow, n)


def test_a_port_beyond_int32_is_a_malformed_line_not_a_crash(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.json", [_line_with(l4={"TCP": {"destination_port": 2**31}})])
    try:
        report = ingest([path], "hubble", tmp_path / "flows.duckdb", engine="native")
    except Exception as err:  # the Python parser hands 2**31 to an int32 Arrow column
        pytest.fail(f"ingest raised {err!r} instead of reporting line 1 as malformed")
    assert (report.malformed, report.files[0].engine) == (1, "python")


# Samples, gzip, blocks, early statements, fallbacks --------------------------------------------


@pytest.mark.parametrize("path", [*sorted(HUBBLE.glob("*.json")), EXPORT], ids=lambda p: p.name)
def test_every_sample_is_read_by_the_compiled_reader(path: Path, tmp_path: Path) -> None:
    assert _same_as_python([path], tmp_path).files[0].engine == "native"


def test_gzip_input_is_read_by_the_compiled_reader(tmp_path: Path) -> None:
    packed = tmp_path / "capture.json.gz"
    packed.write_bytes(gzip.compress(HTTP.read_bytes()))
    assert _same_as_python([packed], tmp_path).files[0].engine == "native"
    ingest([HTTP], "hubble", tmp_path / "plain.duckdb", engine="native")
    assert _rows(tmp_path / "native.duckdb") == _rows(tmp_path / "plain.duckdb")


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_broken_gzip_keeps_the_lines_before_the_break(damage: str, tmp_path: Path) -> None:
    data = gzip.compress(UDP.read_bytes())
    broken = data[: len(data) // 2] if damage == "truncated" else data[:99] + bytes(50) + data[149:]
    packed = tmp_path / "capture.json.gz"
    packed.write_bytes(broken)
    try:
        report = _same_as_python([packed], tmp_path)
    except Exception as err:  # zlib.error escapes the readers
        pytest.fail(f"ingest raised {err!r} instead of reporting the file as unreadable")
    assert (report.files[0].readable, report.diagnostics[0].code) == (False, "TM500")


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_small_blocks_long_lines_and_a_last_line_without_break(
    end: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hubble_native, "BLOCK_BYTES", 4096)
    lines = HTTP.read_text().splitlines()
    long = _line_with(Summary="x" * 10_000)  # longer than two blocks
    lines[5:5] = [long, "", long.replace("node-a", "node-b")]
    path = tmp_path / "capture.json"
    path.write_bytes(end.join([*lines, _line_with(Summary="y" * 5000)]).encode())
    report = _same_as_python([path], tmp_path)
    assert (report.files[0].engine, report.read) == ("native", 348 + 3)


def test_statements_run_early_when_many_rows_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(native, "FLUSH_ROWS", 50)
    monkeypatch.setattr(hubble_native, "BLOCK_BYTES", 16_384)
    lines = TCP.read_text().splitlines()
    paths = [_write(tmp_path / f"part-{n}.json", lines[n::3]) for n in range(3)]
    report = _same_as_python([*paths, UDP], tmp_path)
    assert [f.engine for f in report.files] == ["native"] * 4


def test_a_malformed_line_sends_only_its_file_to_python(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.json", [_line_with(), _line_with(verdict="DROPPED")])
    bad = _write(tmp_path / "bad.json", [_line_with(), _line_with(verdict="AUDIT"), "{"])
    report = _same_as_python([good, bad], tmp_path)
    assert [(f.engine, f.malformed) for f in report.files] == [("native", 0), ("python", 1)]
    shown = [(d.code, d.span.file, d.span.line) for d in report.diagnostics if d.span]
    assert ("TM501", str(bad), 3) in shown


@pytest.mark.parametrize("flush", [native.FLUSH_ROWS, 50], ids=["at-the-end", "early"])
def test_a_refusal_late_in_a_file_hands_it_to_the_next_reader(
    flush: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the refused file is read again, unless statements already collapsed its rows with
    the first file's: then every file is."""
    monkeypatch.setattr(native, "FLUSH_ROWS", flush)
    monkeypatch.setattr(hubble_native, "BLOCK_BYTES", 16_384)
    lines = UDP.read_text().splitlines()
    lines.insert(len(lines) - 3, _UTF8_URL)
    report = _same_as_python([TCP, _write(tmp_path / "second.json", lines)], tmp_path)
    first, second = (f.engine for f in report.files)
    assert (first == "native", second) in [(flush != 50, "duckdb"), (flush != 50, "python")]


@pytest.mark.parametrize("flush", [native.FLUSH_ROWS, 1], ids=["at-the-end", "early"])
def test_a_bug_in_the_compiled_path_surfaces_instead_of_falling_back(
    flush: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only refusals, unreadable files and DuckDB's refusals hand a file to the next reader;
    any other exception is a bug and must not be hidden by the slower reader's answer."""

    decoded, calls = native._decoded, []

    def broken(peers: list[tuple[int, bytes, bytes, bytes]]) -> list[tuple[object, ...]]:
        calls.append(peers)
        if len(calls) == 2:  # after the first block's rows were collapsed, when flushed early
            raise ZeroDivisionError("a bug")
        return decoded(peers)

    monkeypatch.setattr(native, "FLUSH_ROWS", flush)
    monkeypatch.setattr(native, "_decoded", broken)
    monkeypatch.setattr(hubble_native, "BLOCK_BYTES", 16_384)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        ingest([TCP], "hubble", tmp_path / "native.duckdb", engine="auto")


# The Scanner itself ----------------------------------------------------------------------------


def test_a_refused_line_is_numbered_within_its_block() -> None:
    scanner = hubble_native.Scanner(0, 1000)
    block = "\n".join([_line_with(), "", _line_with(), '{"flow": 1}', _line_with()]).encode()
    assert scanner.scan(block, WINDOW) == 4
    assert scanner.scan(memoryview(block)[: block.index(b'{"flow": 1}')], WINDOW)[1] == 2


def test_an_empty_block_has_no_rows_and_the_window_must_be_positive() -> None:
    scanner = hubble_native.Scanner(0, 1000)
    assert scanner.scan(b"", 1)[:7] == (0, 0, 0, 0, 0, 0, 0)
    for window in (0, -1):
        with pytest.raises(ValueError, match="window must be a positive"):
            scanner.scan(b"", window)


def test_blank_lines_are_counted_apart_from_flows() -> None:
    block = f"\n  \n{_line_with()}\r\n\t\r\n".encode()
    found, flows, skipped, lost_lines, _, _, blank, *_ = hubble_native.Scanner().scan(block, WINDOW)
    assert (found, flows, skipped, lost_lines, blank) == (1, 1, 0, 0, 3)


def test_lines_of_one_block_with_one_key_collapse(tmp_path: Path) -> None:
    stamps = ["00", "01.5", "04.999999", "07"]
    lines = [_line_with(time=f"2026-01-01T10:00:{s}Z", aggregate={"ingress_flow_count": 2}) for s in stamps]  # fmt: skip
    lines[1] = lines[1].replace("node-a", "node-b")
    path = _write(tmp_path / "flows.json", [*lines, '{"lost_events": {"num_events_lost": 4}}'])
    readers = hubble_native.Readers()
    with ThreadPoolExecutor(2) as pool:
        (block,) = hubble_native.read_blocks(path, readers, pool, WINDOW)
    assert (block.rows, block.flows, block.lost_lines, block.lost_events) == (2, 4, 1, 4)
    batch = block.batch.to_pydict()
    assert (batch["records"], batch["count"]) == ([3, 1], [6, 2])
    assert batch["reporter"] == ["node-b", "node-a"]
    assert batch["last"][0] - batch["t"][0] == 4_999_999
    assert [peer[0] for peer in block.peers] == [0, 1]  # web-1 and db-1, each interned once
    assert readers.pair is not None
    assert readers.pair[0].peers() == []


class _LateReaders:
    """An executor whose readers start a block only when its result is asked for, as slow
    readers would; it counts the blocks that changed in the meantime."""

    def __init__(self) -> None:
        self.changed = 0

    def submit(self, read: Any, *args: Any) -> Future[Any]:
        handed, future = [bytes(a) if isinstance(a, memoryview) else a for a in args], Future[Any]()

        def result(timeout: float | None = None) -> Any:
            self.changed += any(
                isinstance(a, memoryview) and a != h for a, h in zip(args, handed, strict=True)
            )
            return read(*handed)

        future.result = result  # type: ignore[method-assign]
        return future


def test_blocks_in_flight_stay_intact_around_a_line_longer_than_a_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hubble_native, "BLOCK_BYTES", 256)
    lines = [_line_with(Summary="x" * 1500 * (n % 2), node_name=str(n)) for n in range(24)]
    late = _LateReaders()
    blocks = hubble_native.read_blocks(_write(tmp_path / "long.json", lines), hubble_native.Readers(), late, WINDOW)  # type: ignore[arg-type]  # fmt: skip
    assert sum(block.flows for block in blocks) == 24
    assert late.changed == 0, "a buffer was refilled before its reader had read it"


def test_the_compiled_reader_is_built_in_ci() -> None:
    if not CI:
        pytest.skip("only CI must build the compiled reader (it needs a C compiler)")
    assert hubble_native.AVAILABLE, "CI must build trustmap.observe.formats._hubblescan"
