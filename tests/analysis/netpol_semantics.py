"""Semantic comparison of connlist outputs, as shared/cases/netpol/README.md describes it.

Written independently of trustmap.analysis (its own parser), so a test compares the analyzer's
text with the expected text without trusting the analyzer's own parsing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / ".." / "shared" / "cases" / "netpol"
"""shared/ sits beside the checkout (in CI too)."""

LINE = re.compile(r"^(\S+) => (\S+) : (.+)$")
EXTERNAL = re.compile(r"^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)\[External\]$")
GROUP = re.compile(r"^(SCTP|TCP|UDP) (.+)$")
ALL = ((1, 65535),)

Conns = tuple[tuple[str, tuple[tuple[int, int], ...]], ...]
View = tuple[dict[tuple[str, str], Conns], dict[tuple[str, str], list[tuple[int, int, Conns]]]]


def _merge(pairs: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for low, high in sorted(pairs):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return tuple(out)


def parse_conns(text: str) -> Conns:
    """``All Connections`` or ``TCP 80,90-91,UDP 53`` → sorted protocol → merged intervals."""
    if text.strip() == "All Connections":
        return (("SCTP", ALL), ("TCP", ALL), ("UDP", ALL))
    found: dict[str, list[tuple[int, int]]] = {}
    current = None
    for token in text.strip().split(","):
        match = GROUP.match(token)
        if match:
            current, token = match.group(1), match.group(2)
        assert current is not None, f"no protocol before {token!r}"
        low, _, high = token.partition("-")
        found.setdefault(current, []).append((int(low), int(high or low)))
    return tuple(sorted((proto, _merge(pairs)) for proto, pairs in found.items()))


def _ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def semantic_view(lines: Iterable[str]) -> View:
    """Workload pairs → conns, and (direction, workload) → merged piecewise IP map."""
    pairs: dict[tuple[str, str], Conns] = {}
    pieces: dict[tuple[str, str], list[tuple[int, int, Conns]]] = {}
    for line in lines:
        if not line.strip():
            continue
        match = LINE.match(line.rstrip())
        assert match, f"unparsable line {line!r}"
        src, dst, conns = match.group(1), match.group(2), parse_conns(match.group(3))
        src_ip, dst_ip = EXTERNAL.match(src), EXTERNAL.match(dst)
        if src_ip:
            key = ("ingress", dst)
            pieces.setdefault(key, []).append((_ip(src_ip[1]), _ip(src_ip[2]), conns))
        elif dst_ip:
            key = ("egress", src)
            pieces.setdefault(key, []).append((_ip(dst_ip[1]), _ip(dst_ip[2]), conns))
        else:
            assert (src, dst) not in pairs, f"pair listed twice: {line!r}"
            pairs[src, dst] = conns
    return pairs, {key: _merge_pieces(value) for key, value in pieces.items()}


def _merge_pieces(pieces: list[tuple[int, int, Conns]]) -> list[tuple[int, int, Conns]]:
    out: list[tuple[int, int, Conns]] = []
    for low, high, conns in sorted(pieces):
        assert not out or low > out[-1][1], "overlapping ranges for one workload"
        if out and low == out[-1][1] + 1 and conns == out[-1][2]:
            out[-1] = (out[-1][0], high, conns)
        else:
            out.append((low, high, conns))
    return out


def differences(got: Iterable[str], expected: Iterable[str]) -> list[str]:
    """Human-readable semantic differences; empty when equivalent."""
    got_pairs, got_ip = semantic_view(got)
    exp_pairs, exp_ip = semantic_view(expected)
    out = []
    for key in sorted(set(got_pairs) | set(exp_pairs)):
        if got_pairs.get(key) != exp_pairs.get(key):
            out.append(
                f"{key[0]} => {key[1]}: got {got_pairs.get(key)} expected {exp_pairs.get(key)}"
            )
    for key in sorted(set(got_ip) | set(exp_ip)):
        if got_ip.get(key) != exp_ip.get(key):
            out.append(f"external {key}: got {got_ip.get(key)} expected {exp_ip.get(key)}")
    return out


def netpol_cases() -> list[dict[str, Any]]:
    """The cases of shared/cases/netpol (from index.json, else from the folders)."""
    index = CASES / "index.json"
    if index.is_file():
        cases: list[dict[str, Any]] = json.loads(index.read_text())["cases"]
        return cases
    if not CASES.is_dir():
        return []
    found = []
    for folder in sorted(p for p in CASES.iterdir() if (p / "manifests").is_dir()):
        kind = "invalid" if (folder / "expected_error.json").is_file() else "connlist"
        found.append({"name": folder.name, "kind": kind})
    return found
