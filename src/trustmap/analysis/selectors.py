"""Kubernetes label selectors: parsing with the API server's checks, matching, a bitset index.

A selector is a conjunction of requirements (``matchLabels`` entries become ``In`` with one value).
:class:`LabelIndex` answers "which of these N label sets does the selector match" as an integer
bitset built from per-label bitsets, so selecting among thousands of pod classes costs a few big-int
operations per requirement instead of a Python loop over every class.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from trustmap.kube.fields import Here, not_a, suggest, type_name, unknown_fields

__all__ = [
    "OPERATORS",
    "LabelIndex",
    "Operator",
    "Requirement",
    "Selector",
    "label_key_problem",
    "label_value_problem",
    "parse_selector",
]

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
OPERATORS: tuple[Operator, ...] = ("In", "NotIn", "Exists", "DoesNotExist")

_CHARSET = "1-63 characters of A-Z, a-z, 0-9, '-', '_', '.', alphanumeric at both ends"
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SELECTOR_FIELDS = ("matchLabels", "matchExpressions")
_EXPRESSION_FIELDS = ("key", "operator", "values")


@dataclass(frozen=True, slots=True, order=True)
class Requirement:
    """One condition on one label key."""

    key: str
    """Label key, e.g. ``app`` or ``kubernetes.io/metadata.name``."""
    operator: Operator
    """``In``, ``NotIn``, ``Exists`` or ``DoesNotExist``."""
    values: tuple[str, ...] = ()
    """Sorted values for ``In``/``NotIn``; empty otherwise."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this requirement."""
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return labels.get(self.key) not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        return f"{self.key} {self.operator.lower()} ({','.join(self.values)})"


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; no requirement selects everything."""

    requirements: tuple[Requirement, ...] = ()
    """Sorted, duplicate-free requirements."""

    @staticmethod
    def of(match_labels: Mapping[str, str] | None = None, *more: Requirement) -> Selector:
        """Build a selector from ``matchLabels`` and extra requirements."""
        reqs = {Requirement(k, "In", (v,)) for k, v in (match_labels or {}).items()}
        return Selector(tuple(sorted(reqs | set(more))))

    @property
    def selects_all(self) -> bool:
        """Whether this is the empty selector ``{}``."""
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies every requirement."""
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements) or "{}"


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key (``[prefix/]name``), or ``None``."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _PREFIX.match(prefix)):
        return "its prefix must be a DNS subdomain such as example.com"
    if not name or len(name) > 63 or not _NAME.match(name):
        return f"its name must be {_CHARSET}"
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value, or ``None``."""
    if value and (len(value) > 63 or not _NAME.match(value)):
        return f"must be empty or {_CHARSET}"
    return None


def parse_selector(raw: Any, cur: Here) -> Selector | None:
    """Read a ``LabelSelector``; problems are reported at ``cur`` and give ``None``."""
    if raw is None:
        return Selector()
    if not isinstance(raw, dict):
        cur.report(
            "TM610",
            f"{cur.where} must be a mapping, got {type_name(raw)}",
            "write {} or matchLabels",
        )
        return None
    unknown_fields(raw, _SELECTOR_FIELDS, cur)
    mark = cur.mark()
    reqs = _match_labels(raw.get("matchLabels"), cur.at("matchLabels"))
    exprs = raw.get("matchExpressions")
    if exprs is not None and not isinstance(exprs, list):
        not_a(cur.at("matchExpressions"), "list", exprs)
    for i, expr in enumerate(exprs if isinstance(exprs, list) else []):
        req = _expression(expr, cur.at("matchExpressions", i))
        if req is not None:
            reqs.append(req)
    if cur.errors_since(mark):
        return None
    return Selector(tuple(sorted(set(reqs))))


def _match_labels(raw: Any, cur: Here) -> list[Requirement]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        cur.report(
            "TM610",
            f"matchLabels must be a mapping, got {type_name(raw)}",
            "write key: value pairs",
        )
        return []
    reqs = []
    for key, value in raw.items():
        if _valid_key(key, cur.at(str(key))) and _valid_value(value, cur.at(str(key))):
            reqs.append(Requirement(key, "In", (value,)))
    return reqs


def _expression(raw: Any, cur: Here) -> Requirement | None:
    if not isinstance(raw, dict):
        not_a(cur, "mapping", raw)
        return None
    unknown_fields(raw, _EXPRESSION_FIELDS, cur)
    key, op, values = raw.get("key"), raw.get("operator"), raw.get("values")
    if not _valid_key(key, cur.at("key")):
        return None
    if op not in OPERATORS:
        cur.at("operator").report(
            "TM606",
            f"unknown selector operator {op!r}{suggest(op, OPERATORS)}",
            "use one of In, NotIn, Exists, DoesNotExist (case matters)",
        )
        return None
    return _with_values(cast(str, key), cast(Operator, op), values, cur)


def _with_values(key: str, op: Operator, values: Any, cur: Here) -> Requirement | None:
    if values is not None and not isinstance(values, list):
        not_a(cur.at("values"), "list", values)
        return None
    items = values or []
    if op in ("In", "NotIn") and not items:
        cur.at("values").report(
            "TM606", f"operator {op} needs at least one value", "list the values or use Exists"
        )
        return None
    if op in ("Exists", "DoesNotExist") and items:
        cur.at("values").report(
            "TM606", f"operator {op} takes no values", "remove values or use In/NotIn"
        )
        return None
    if not all(_valid_value(v, cur.at("values", i)) for i, v in enumerate(items)):
        return None
    return Requirement(key, op, tuple(sorted(set(items))))


def _valid_key(key: Any, cur: Here) -> bool:
    if not isinstance(key, str):
        cur.report("TM606", f"label key must be a string, got {type_name(key)}", "quote the key")
        return False
    problem = label_key_problem(key)
    if problem:
        cur.report("TM606", f"invalid label key {key!r}: {problem}", "fix the key")
    return problem is None


def _valid_value(value: Any, cur: Here) -> bool:
    if not isinstance(value, str):
        cur.report(
            "TM606",
            f"label value must be a string, got {type_name(value)} {value!r}",
            f'quote it: "{value}"' if value is not None else "give a string value",
        )
        return False
    problem = label_value_problem(value)
    if problem:
        cur.report("TM606", f"invalid label value {value!r}: {problem}", "fix the value")
    return problem is None


class LabelIndex:
    """Which of a fixed sequence of label sets each selector matches, as an int bitset."""

    __slots__ = ("_cache", "_keys", "_pairs", "universe")

    def __init__(self, label_sets: Sequence[Mapping[str, str]]) -> None:
        self.universe = (1 << len(label_sets)) - 1
        """Bitset of every member."""
        self._pairs: dict[tuple[str, str], int] = {}
        self._keys: dict[str, int] = {}
        self._cache: dict[Selector, int] = {}
        for position, labels in enumerate(label_sets):
            bit = 1 << position
            for key, value in labels.items():
                self._pairs[key, value] = self._pairs.get((key, value), 0) | bit
                self._keys[key] = self._keys.get(key, 0) | bit

    def select(self, selector: Selector) -> int:
        """Bitset of the members matched by ``selector``."""
        found = self._cache.get(selector)
        if found is None:
            found = self.universe
            for req in selector.requirements:
                found &= self._requirement(req)
                if not found:
                    break
            self._cache[selector] = found
        return found

    def _requirement(self, req: Requirement) -> int:
        if req.operator in ("In", "NotIn"):
            bits = 0
            for value in req.values:
                bits |= self._pairs.get((req.key, value), 0)
            return bits if req.operator == "In" else self.universe & ~bits
        bits = self._keys.get(req.key, 0)
        return bits if req.operator == "Exists" else self.universe & ~bits
