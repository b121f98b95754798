"""Deterministic multi-document YAML for compiled objects: same objects, same bytes.

Keys keep the order the compilers wrote them in (Kubernetes convention: apiVersion, kind, metadata,
spec), lists keep their (already sorted) order. A small block-style emitter instead of PyYAML: it
is several times faster on large organisations, never wraps lines, and its quoting is fixed here —
plain scalars only where YAML 1.1 reads them back as the same string, double quotes otherwise,
literal blocks for multi-line text such as reason lists.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

import yaml

from trustmap.bulk import building
from trustmap.manifests import Manifest

__all__ = [
    "CLUSTER_FILE",
    "block",
    "dump",
    "entry",
    "file_name",
    "item",
    "render_files",
    "render_yaml",
    "resolves_to_str",
    "scalar",
]

CLUSTER_FILE = "_cluster.yaml"
"""File for cluster-scoped objects when writing one file per namespace (``_`` sorts first and
cannot be a namespace name)."""

_PLAIN = re.compile(r"^[A-Za-z0-9_/.(\\][A-Za-z0-9 _/.,'()\\+=@:$^*?-]*$")
_RESOLVER = yaml.resolver.Resolver()
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Read as a number or boolean by some YAML parser (Go's yaml.v2 in kubectl: "1e3", "y"): quote it.
_AMBIGUOUS = re.compile(
    r"^(?:[yYnN.]|[-+]?[0-9][0-9._]*(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9]+|0[xXoObB][0-9a-fA-F_]+)$"
)


def render_yaml(objects: Iterable[tuple[str, Manifest | str]]) -> str:
    """All objects as one multi-document YAML stream (each document starts with ``---``).

    An object may already be a document (text from :func:`dump`, or written straight from the
    plan by a compiler's text path); it is copied as it is.
    """
    with building():
        return "".join(f"---\n{_document(manifest)}" for _, manifest in objects)


def _document(manifest: Manifest | str) -> str:
    return manifest if type(manifest) is str else dump(manifest)  # type: ignore[arg-type]


def render_files(objects: Iterable[tuple[str, Manifest | str]]) -> dict[str, str]:
    """One YAML stream per namespace file (``<namespace>.yaml``, :data:`CLUSTER_FILE`), sorted."""
    grouped: dict[str, list[tuple[str, Manifest | str]]] = {}
    for namespace, manifest in objects:
        grouped.setdefault(file_name(namespace), []).append((namespace, manifest))
    return {name: render_yaml(grouped[name]) for name in sorted(grouped)}


def file_name(namespace: str) -> str:
    """The file a namespace's objects go to."""
    return f"{namespace}.yaml" if namespace else CLUSTER_FILE


def dump(value: Mapping[str, object]) -> str:
    """One document, block style, two-space indent, sequences at their key's indent."""
    lines: list[str] = []
    _mapping(value, "", lines)
    return "\n".join(lines) + "\n"


def block(value: Mapping[str, object], indent: str = "") -> str:
    """The entries of ``value`` as :func:`dump` writes them at ``indent`` inside a document.

    Compilers that write documents as text build their fragments with this (and :func:`item`),
    so the text path quotes and indents exactly as the dict path does.
    """
    lines: list[str] = []
    _mapping(value, indent, lines)
    return "\n".join(lines) + "\n" if lines else ""


def item(value: object, indent: str) -> str:
    """``value`` as one element of a block sequence whose dashes stand at ``indent``."""
    lines: list[str] = []
    _sequence([value], indent, lines)
    return "\n".join(lines) + "\n"


def entry(head: str, text: str, inner: str) -> str:
    """``head`` (``<indent><key>:``) followed by ``text`` as :func:`dump` writes a string value;
    ``inner`` is the indent of a literal block's lines."""
    if _NAME.fullmatch(text) is not None and _unclaimed(text[0]):
        return f"{head} {text}\n"  # an object name (DNS label) no resolver claims: plain
    if "\n" not in text:
        return f"{head} {_string(text)}\n"
    lines: list[str] = []
    _long_text(head, text, inner, lines)
    return "\n".join(lines) + "\n"


# The emitter runs over tens of megabytes for a large organisation: exact type checks (compilers
# build plain dicts and lists), cached scalar text and few calls per node keep it fast.


def _mapping(value: Mapping[str, object], indent: str, lines: list[str]) -> None:
    inner = indent + "  "
    for key, item in value.items():
        head = indent + (_KEYS.get(key) or _key(key))
        kind = type(item)
        if kind is str:
            text = _TEXT.get(item)  # type: ignore[call-overload]
            if text is None:
                _long_text(head, item, inner, lines)  # type: ignore[arg-type]
            else:
                lines.append(head + text)
        elif kind is dict:
            if item:
                lines.append(head)
                _mapping(item, inner, lines)  # type: ignore[arg-type]
            else:
                lines.append(head + " {}")
        elif kind is list:
            if item:
                lines.append(head)
                _sequence(item, indent, lines)  # type: ignore[arg-type]
            else:
                lines.append(head + " []")
        elif kind is int:
            lines.append(f"{head} {item}")
        else:
            _other(head, item, inner, lines)


def _sequence(value: list[object], indent: str, lines: list[str]) -> None:
    inner = indent + "  "
    cut = len(indent) + 2
    dash = indent + "- "
    for item in value:
        if type(item) is dict and item:
            first = len(lines)
            _mapping(item, inner, lines)
            lines[first] = dash + lines[first][cut:]
        else:
            _other(indent + "-", item, inner, lines)


def _key(key: str) -> str:
    text = _KEYS[key] = f"{scalar(key)}:"
    return text


def _long_text(head: str, text: str, inner: str, lines: list[str]) -> None:
    if "\n" in text and _literal_ok(text):
        lines.append(head + " |-")
        lines.extend(inner + line if line else "" for line in text.split("\n"))
        return
    rendered = " " + scalar(text)
    if len(_TEXT) < _CACHE_LIMIT:
        _TEXT[text] = rendered
    lines.append(head + rendered)


def _other(head: str, item: object, inner: str, lines: list[str]) -> None:
    """Anything but a string in a mapping: nested values, numbers, booleans, null."""
    if isinstance(item, Mapping):
        if item:
            lines.append(head)
            _mapping(item, inner, lines)
        else:
            lines.append(head + " {}")
    elif isinstance(item, list):
        if item:
            lines.append(head)
            _sequence(item, inner if head.endswith("-") else inner[:-2], lines)
        else:
            lines.append(head + " []")
    elif isinstance(item, str):
        _long_text(head, item, inner, lines)
    else:
        lines.append(f"{head} {scalar(item)}")


_KEYS: dict[str, str] = {}
_TEXT: dict[str, str] = {}
_CACHE_LIMIT = 1 << 18


def _literal_ok(text: str) -> bool:
    body = text.split("\n")
    return (
        not text.endswith("\n")
        and not body[0].startswith((" ", "\t"))
        and all(line == line.rstrip() and line.isprintable() for line in body)
    )


def scalar(value: object) -> str:
    """A scalar as YAML text that reads back as the same value."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return _string(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _string(text: str) -> str:
    plain = (
        _PLAIN.fullmatch(text) is not None
        and not text.endswith((" ", ":"))
        and ": " not in text
        and " #" not in text
        and _AMBIGUOUS.fullmatch(text) is None
        and resolves_to_str(text)
    )
    return text if plain else _quoted(text)


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar; characters that are not printable become escapes."""
    return (
        '"' + "".join(_ESCAPES.get(c) or (c if c.isprintable() else _escape(c)) for c in text) + '"'
    )


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _unclaimed(first: str) -> bool:
    """No implicit resolver looks at text starting with ``first``: it reads as a string."""
    implicit = _RESOLVER.yaml_implicit_resolvers
    return first not in implicit and None not in implicit and not _RESOLVER.yaml_path_resolvers


def resolves_to_str(text: str) -> bool:
    """Whether a YAML parser reads ``text``, unquoted, as a string (not a number, bool, null...)."""
    if text and _unclaimed(text[0]):
        return True
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == "tag:yaml.org,2002:str"
