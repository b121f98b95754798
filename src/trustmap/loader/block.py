"""A fast reader for the block-style YAML that declarations are written in, with exact positions.

Through PyYAML, libyaml's event stream costs several microseconds per value, and an organisation
of 10,000 services holds over a million values. Declarations use a small part of YAML: block
mappings and sequences, one-line plain or simply quoted scalars, one-line flow collections,
comments and ``---``. This module reads that subset with one regular expression per file (one
match per line) plus a tokenizer for nested flow collections, and builds exactly what the libyaml
composer (:mod:`trustmap.loader.compose`) builds: the same values, typed by the same scalar
resolver, and the same positions.

It reads only what it fully understands. Anything else — anchors, aliases, tags, block scalars,
scalars or flow collections over several lines, quoted keys, escapes, tabs, unusual characters,
irregular indentation, duplicate keys, empty values, nesting at the depth limit — raises
:class:`Unsupported`, and the caller reads the whole file with the libyaml composer instead, so
every error and every rare construct is handled, and reported, by the one complete implementation.
The two are kept identical by a differential test over every YAML file the project has.

Positions of collections (where each service, interface and dependency starts) are recorded as
the file is read; positions of scalars, which only diagnostics ask for, are found on first use,
from the key's line or by reading that one document again (:class:`LazyPositions`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from trustmap.loader.document import Document, Path, Position
from trustmap.loader.scalars import NUMERIC_START, TYPED_WORDS, resolve_scalar

__all__ = ["LazyPositions", "Unsupported", "read_block_yaml"]


class Unsupported(Exception):
    """The text uses YAML outside the subset this reader handles; use the full composer."""


# Characters libyaml rejects or reads specially (tabs, CR, NEL, LS/PS line breaks, BOM, controls).
_SUSPECT = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# A plain scalar may not start with an indicator; inside, ': ' and ' #' end it.
_FIRST = r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-(?=[0-9A-Za-z_.]))"
_PLAIN = _FIRST + r"[^\s:]*(?:(?::(?=\S)| +(?=[^\s#]))[^\s:]*)*"
_PLAIN_IN_FLOW = (
    _FIRST + r"[^\s:,\[\]{}]*(?:(?::(?=[^\s,\[\]{}?])| +(?=[^\s#:,\[\]{}]))[^\s:,\[\]{}]*)*"
)
_TAIL = r"(?: +#.*| *)"
_KEY = r"[A-Za-z0-9_][A-Za-z0-9_./-]*"
# One match per line: indentation, "- ", "key:", and the rest. A rest that is a plain scalar
# made of ordinary characters is taken as it is; any other goes through _PLAIN_REST.
_LINE = re.compile(rf"^( *)(- +)?(?:({_KEY})(:(?: +|$)))?(.*)$", re.MULTILINE)
_PLAIN_REST = re.compile(rf"({_PLAIN}){_TAIL}")
_NOT_ORDINARY = frozenset(" -?:,[]{}#&*!|>'\"%@`")
_MARKER = re.compile(rf"---{_TAIL}")
_MARKER_LINE = re.compile(r"\n---")  # faster than ^--- in multi-line mode
_QUOTED = re.compile(rf"(?:\"([^\"\\]*)\"|'((?:[^']|'')*)'){_TAIL}")
# Flow collections of plain scalars only, split at commas instead of tokenized; the common
# spelling (", " between words that need no checking) first.
_WORD = r"[A-Za-z0-9_./][A-Za-z0-9_./@-]*"
_WORDS_SEQ = re.compile(rf"\[(?:{_WORD}(?:, {_WORD})*)?\]{_TAIL}")
_WORDS_MAP = re.compile(rf"\{{(?:{_KEY}: {_WORD}(?:, {_KEY}: {_WORD})*)?\}}{_TAIL}")
# ... and such a mapping whose values may themselves be such collections (podLabels: {app: x}).
_INNER = (
    rf"(?:{_WORD}|\{{(?:{_KEY}: {_WORD}(?:, {_KEY}: {_WORD})*)?\}}|\[(?:{_WORD}(?:, {_WORD})*)?\])"
)
_NESTED_MAP = re.compile(rf"\{{(?:{_KEY}: {_INNER}(?:, {_KEY}: {_INNER})*)?\}}{_TAIL}")
_NESTED_PAIR = re.compile(rf"({_KEY}): ({_INNER})")
_FLAT_SEQ = re.compile(rf"\[ *(?:{_PLAIN_IN_FLOW} *(?:, *{_PLAIN_IN_FLOW} *)*)?\]{_TAIL}")
_FLAT_PAIR = rf"{_KEY}: +{_PLAIN_IN_FLOW} *"
_FLAT_MAP = re.compile(rf"\{{ *(?:{_FLAT_PAIR}(?:, *{_FLAT_PAIR})*)?\}}{_TAIL}")
# Any other flow collection, a token at a time; the last group catches what no token allows.
_TOKEN = re.compile(rf"( *)(?:([\[\]{{}},]|: |\"[^\"\\]*\"|'(?:[^']|'')*'|{_PLAIN_IN_FLOW})|(.))")
_FLOW_END = re.compile(_TAIL)
_NUMERIC_START, _SPECIAL_WORDS = NUMERIC_START, TYPED_WORDS  # else a plain scalar is text
_KEY_TYPES = (str, int, float, bool, type(None))
_MAX_KEY = 1000  # libyaml refuses implicit keys longer than 1024 characters


class LazyPositions(Mapping[Path, Position]):
    """A document's positions: collections' known at once, scalars' found on first use.

    A scalar that is the value of a block mapping's key (a dependency's ``service:``, say) is
    found on its key's line; looking up anything else reads the document's text again, with
    every position recorded, and from then on answers from the complete table.
    """

    __slots__ = ("_known", "_lines", "_source")

    def __init__(self, known: dict[Path, Position], source: tuple[str, int] | None) -> None:
        self._known = known
        self._source = source
        """The document's text and the number of lines before it, until it is read again."""
        self._lines: list[str] | None = None

    def __getitem__(self, path: Path) -> Position:
        found = self._known.get(path)
        if found is None and self._source is not None:
            found = self._entry(path)
        return found if found is not None else self._complete()[path]

    def get(self, path: Path, default: Any = None) -> Any:  # Mapping.get, without a second call
        found = self._known.get(path)
        if found is not None:
            return found
        try:
            return self[path]
        except KeyError:
            return default

    def _entry(self, path: Path) -> Position | None:
        """The position of a plain or quoted value of a block mapping's key, from its line.

        ``None`` when ``path`` is not one (or is not found), so the caller reads everything.
        """
        name = path[-1] if path else None
        parent = self._known.get(path[:-1])
        if parent is None or name.__class__ is not str or self._source is None:
            return None
        if name in TYPED_WORDS or name[:1] in NUMERIC_START:
            return None  # a key whose text is not simply its name
        text, before = self._source
        if self._lines is None:
            self._lines = text.split("\n")
        first, column = parent[2] - before - 1, parent[3] - 1
        if self._lines[first][column : column + 1] in ("", "{", "[", "-", "'", '"'):
            return None  # not a block mapping
        for number in range(first, len(self._lines)):
            line = self._lines[number]
            stripped = line.lstrip(" ")
            if not stripped or stripped[0] == "#":
                continue
            indent = len(line) - len(stripped)
            if number > first and indent < column:
                return None  # the mapping has ended
            if number > first and (indent > column or stripped[0] == "-"):
                continue  # inside a value of an earlier key
            spaces, dash, key, colon, rest = _LINE.match(line).groups("")  # type: ignore[union-attr]
            if len(spaces) + len(dash) != column:
                return None
            if key == name:
                if not rest or rest[0] in "[{#" or (rest[0] not in "'\"" and not _plain(rest)):
                    return None
                at = before + number + 1
                return (at, column + 1, at, column + len(key) + len(colon) + 1)
        return None

    def __iter__(self) -> Iterator[Path]:
        return iter(self._complete())

    def __len__(self) -> int:
        return len(self._complete())

    def __repr__(self) -> str:
        return repr(self._complete())

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyPositions, (self._known, self._source))

    def _complete(self) -> dict[Path, Position]:
        if self._source is not None:
            text, before = self._source
            (document,) = _Reader("", sys.maxsize, every=True, before=before).run(text)
            self._known = document.positions  # type: ignore[assignment]
            self._source = None
        return self._known


class _Frame:
    """An open block mapping or sequence: the column of its keys or dashes, its value, its path."""

    __slots__ = ("indent", "is_seq", "path", "value")

    def __init__(self, indent: int, value: Any, path: Path) -> None:
        self.indent, self.value, self.path = indent, value, path
        self.is_seq = value.__class__ is list


class _Reader:
    """Reads one file's documents; raises :class:`Unsupported` whenever in doubt.

    With ``every`` false only collections' positions are recorded; ``before`` is the number of
    lines that precede ``text`` in its file.
    """

    def __init__(self, file: str, max_depth: int, *, every: bool, before: int = 0) -> None:
        self.file, self.max_depth, self.every, self.before = file, max_depth, every, before
        self.documents: list[tuple[Any, dict[Path, Position], int | None]] = []
        self.stack: list[_Frame] = []
        self.positions: dict[Path, Position] = {}
        self.root: Any = None
        self.open = False
        self.markers: list[int] = []  # line numbers of the '---' lines
        self.pending: tuple[_Frame, Any, int, int] | None = None
        self.keys: dict[str, Any] = {}
        self.scalars: dict[str, Any] = {}

    def run(self, text: str) -> list[Document]:
        """Every document of ``text``: one flat loop over the lines, the hot path of a load."""
        every, keys, scalar = self.every, self.keys, self.scalar
        top: _Frame | None = None
        number = self.before
        for number, (spaces, dash, key, colon, rest) in enumerate(
            _LINE.findall(text), self.before + 1
        ):
            plain = rest
            if rest and (rest[0] in _NOT_ORDINARY or ":" in rest or "#" in rest or rest[-1] == " "):
                plain = _plain(rest)
            if not dash and not key:
                if plain or (rest and rest[0] != "#"):
                    self.marker(spaces, plain or rest, number)
                    top = None
                continue
            indent = len(spaces)
            if (
                top is None
                or self.pending is not None
                or top.indent != indent
                or top.is_seq is not bool(dash)
            ):
                top = self.place(number, indent, bool(dash))
            if dash:
                column = indent + len(dash)
                if not key:
                    path = (*top.path, len(top.value))
                    top.value.append(self.value(plain, rest, column + 1, number, path, (0, 0)))
                    continue
                top = self.compact_mapping(top, column, number)
            else:
                column = indent
            name = keys.get(key)
            if name is None:
                name = self.key(key)
            mapping = top.value
            if name in mapping:
                raise Unsupported("a duplicate key")
            if plain:
                mapping[name] = (
                    scalar(plain)
                    if plain[0] in _NUMERIC_START or plain in _SPECIAL_WORDS
                    else plain
                )
                if every:
                    start = column + len(key) + len(colon) + 1
                    self.positions[(*top.path, name)] = (number, column + 1, number, start)
            elif not rest or rest[0] == "#":
                self.pending = (top, name, number, column + 1)
            else:
                start = column + len(key) + len(colon) + 1
                path = (*top.path, name)
                mapping[name] = self.value("", rest, start, number, path, (number, column + 1))
        # libyaml puts the end of the stream at the start of the line after the last one.
        self.end_document(number if text.endswith("\n") else number + 1)
        return self.finish(text)

    def finish(self, text: str) -> list[Document]:
        """Documents with their positions; when only collections' are known, how to find the rest."""
        if self.every:
            return [
                Document(self.file, n, root, positions)
                for n, (root, positions, _) in enumerate(self.documents)
            ]
        starts = [0] if text.startswith("---") else []
        starts += [m.start() + 1 for m in _MARKER_LINE.finditer(text)]
        found = []
        for n, (root, positions, marker) in enumerate(self.documents):
            if marker is None:  # content before any '---'
                begin, before = 0, 0
            else:
                begin = text.find("\n", starts[marker]) + 1 or len(text)
                before = self.markers[marker]
            end = starts[marker + 1] if marker is not None and marker + 1 < len(starts) else None
            if marker is None and starts:
                end = starts[0]
            source = (text[begin:end], before) if root is not None else None
            found.append(Document(self.file, n, root, LazyPositions(positions, source)))
        return found

    def marker(self, spaces: str, text: str, number: int) -> None:
        """``---`` starts a document; any other line without a key or dash is not ours to read."""
        if spaces or _MARKER.fullmatch(text) is None:
            raise Unsupported("a scalar on its own line, '...' or content after '---'")
        self.end_document(number)
        self.open = True
        self.markers.append(number)

    def end_document(self, number: int) -> None:
        """Close the open document; ``number`` is the line of the next token (``---`` or the end)."""
        if self.pending is not None:
            raise Unsupported("an empty value")
        if self.open:
            if self.root is None:  # an empty document holds a null located at the next token
                self.positions[()] = (0, 0, number, 1)
            marker = len(self.markers) - 1 if self.markers else None
            self.documents.append((self.root, self.positions, marker))
        self.stack, self.positions, self.root, self.open = [], {}, None, False

    def place(self, number: int, indent: int, dash: bool) -> _Frame:
        """The open collection this line belongs to, opening a new one where the line starts it."""
        if self.pending is not None:
            return self.start_value(number, indent, dash)
        stack = self.stack
        while stack and (
            stack[-1].indent > indent
            or (stack[-1].is_seq and stack[-1].indent == indent and not dash)
        ):
            stack.pop()
        if not stack:
            if self.root is not None:
                raise Unsupported("content after the document's root collection")
            self.open = True
            self.root = [] if dash else {}
            return self.push(indent, self.root, (), (0, 0), number)
        top = stack[-1]
        if top.indent != indent or top.is_seq != dash:
            raise Unsupported("irregular indentation or a multi-line scalar")
        return top

    def start_value(self, number: int, indent: int, dash: bool) -> _Frame:
        """The first line of the block collection that a ``key:`` line left open."""
        parent, name, key_line, key_col = self.pending  # type: ignore[misc]
        self.pending = None
        if indent < parent.indent or (indent == parent.indent and not dash):
            raise Unsupported("an empty value")
        value: Any = [] if dash else {}
        parent.value[name] = value
        return self.push(indent, value, (*parent.path, name), (key_line, key_col), number)

    def push(
        self, indent: int, value: Any, path: Path, key_pos: tuple[int, int], number: int
    ) -> _Frame:
        if len(self.stack) >= self.max_depth:
            raise Unsupported("nesting at the depth limit")
        self.positions[path] = (*key_pos, number, indent + 1)
        frame = _Frame(indent, value, path)
        self.stack.append(frame)
        return frame

    def compact_mapping(self, seq: _Frame, column: int, number: int) -> _Frame:
        """``- key: value``: a mapping that is an item of ``seq``, indented at its first key."""
        mapping: dict[Any, Any] = {}
        path = (*seq.path, len(seq.value))
        seq.value.append(mapping)
        return self.push(column, mapping, path, (0, 0), number)

    def key(self, text: str) -> Any:
        key = resolve_scalar(text, None, True)
        if key.__class__ not in _KEY_TYPES or len(text) > _MAX_KEY:
            raise Unsupported("a key that is not a plain scalar")
        self.keys[text] = key
        return key

    def scalar(self, text: str) -> Any:
        """A plain scalar that may be typed (number, date, boolean, null); cached per file."""
        found = self.scalars.get(text, self)
        if found is self:
            found = self.scalars[text] = resolve_scalar(text, None, True)
        return found

    def value(
        self, plain: str, rest: str, start: int, number: int, path: Path, key_pos: tuple[int, int]
    ) -> Any:
        """A scalar or one-line flow collection starting at column ``start``."""
        if plain:
            if self.every:
                self.positions[path] = (*key_pos, number, start)
            if plain[0] in _NUMERIC_START or plain in _SPECIAL_WORDS:
                return self.scalar(plain)
            return plain
        first = rest[:1]
        if first == "[" or first == "{":
            if len(self.stack) >= self.max_depth:
                raise Unsupported("nesting at the depth limit")
            self.positions[path] = (*key_pos, number, start)
            if first == "[":
                if _WORDS_SEQ.fullmatch(rest) is not None and not self.every:
                    return (
                        self.words(rest[1 : rest.index("]")].split(", ")) if rest[1] != "]" else []
                    )
                if _FLAT_SEQ.fullmatch(rest) is not None:
                    return self.flat_seq(rest, start, number, path)
            elif _WORDS_MAP.fullmatch(rest) is not None and not self.every:
                return (
                    self.word_map(rest[1 : rest.index("}")].split(", ")) if rest[1] != "}" else {}
                )
            elif _FLAT_MAP.fullmatch(rest) is not None:
                return self.flat_map(rest, start, number, path)
            elif (
                not self.every
                and len(self.stack) + 1 < self.max_depth
                and _NESTED_MAP.fullmatch(rest) is not None
            ):
                return self.nested_map(rest, start, number, path)
            return _Flow(self, number).read(rest, start, path, key_pos)
        found = _QUOTED.fullmatch(rest) if first == '"' or first == "'" else None
        if found is None:
            raise Unsupported("a value outside the subset")
        if self.every:
            self.positions[path] = (*key_pos, number, start)
        double = found.group(1)
        return double if double is not None else found.group(2).replace("''", "'")

    def words(self, items: list[str]) -> list[Any]:
        """Plain scalars, typed where they may be numbers, dates, booleans or null."""
        scalar = self.scalar
        return [
            scalar(item) if item[0] in _NUMERIC_START or item in _SPECIAL_WORDS else item
            for item in items
        ]

    def word_map(self, pairs: list[str]) -> dict[Any, Any]:
        """``key: word`` pairs as a mapping."""
        keys, scalar = self.keys, self.scalar
        mapping: dict[Any, Any] = {}
        for pair in pairs:
            text, _, value = pair.partition(": ")
            name = keys.get(text)
            if name is None:
                name = self.key(text)
            if name in mapping:
                raise Unsupported("a duplicate key")
            mapping[name] = (
                scalar(value) if value[0] in _NUMERIC_START or value in _SPECIAL_WORDS else value
            )
        return mapping

    def nested_map(self, rest: str, start: int, number: int, path: Path) -> dict[Any, Any]:
        """``{k: word, k: {k: word}, k: [word]}``: the inner collections' positions are recorded."""
        mapping: dict[Any, Any] = {}
        for pair in _NESTED_PAIR.finditer(rest, 1, rest.rindex("}")):
            text, value = pair.group(1, 2)
            name = self.keys.get(text)
            if name is None:
                name = self.key(text)
            if name in mapping:
                raise Unsupported("a duplicate key")
            if value[0] == "{" or value[0] == "[":
                at = (number, start + pair.start(1), number, start + pair.start(2))
                self.positions[(*path, name)] = at
                inside = value[1:-1]
                if value[0] == "[":
                    mapping[name] = self.words(inside.split(", ")) if inside else []
                else:
                    mapping[name] = self.word_map(inside.split(", ")) if inside else {}
            else:
                mapping[name] = self.words([value])[0]
        return mapping

    def flat_seq(self, rest: str, start: int, number: int, path: Path) -> list[Any]:
        """``[a, b, c]`` of plain scalars: the items are what lies between the commas."""
        inside = rest[1 : rest.index("]")]
        if not inside.strip(" "):
            return []
        parts = inside.split(",")
        items = self.words([part.strip(" ") for part in parts])
        if self.every:
            column = start + 1
            for n, part in enumerate(parts):
                at = column + len(part) - len(part.lstrip(" "))
                self.positions[(*path, n)] = (0, 0, number, at)
                column += len(part) + 1
        return items

    def flat_map(self, rest: str, start: int, number: int, path: Path) -> dict[Any, Any]:
        """``{k: v, ...}`` of plain scalars: entries lie between the commas, split at ': '."""
        inside = rest[1 : rest.index("}")]
        mapping: dict[Any, Any] = {}
        if not inside.strip(" "):
            return mapping
        keys, scalar, every = self.keys, self.scalar, self.every
        column = start + 1
        for part in inside.split(","):
            text, _, value = part.partition(":")
            name_text = text.strip(" ")
            name = keys.get(name_text)
            if name is None:
                name = self.key(name_text)
            if name in mapping:
                raise Unsupported("a duplicate key")
            value_text = value.strip(" ")
            mapping[name] = (
                scalar(value_text)
                if value_text[0] in _NUMERIC_START or value_text in _SPECIAL_WORDS
                else value_text
            )
            if every:
                at = column + len(text) - len(text.lstrip(" "))
                value_at = column + len(part) - len(value.lstrip(" "))
                self.positions[(*path, name)] = (number, at, number, value_at)
            column += len(part) + 1
        return mapping


# What may come next inside a flow collection.
_ITEM_FIRST, _ITEM, _KEY_FIRST, _KEY_NEXT, _COLON, _VALUE, _SEP = range(7)
_CLOSING = frozenset("]}")
_NOT_A_KEY = frozenset("[]{},:\"'")
_NOT_A_VALUE = frozenset("]},:")


class _Flow:
    """Reads a flow collection that may nest, a token at a time, as a small state machine."""

    def __init__(self, reader: _Reader, number: int) -> None:
        self.reader, self.number = reader, number
        self.room = reader.max_depth - len(reader.stack)
        # Open collections as [value, path, state, key, key position].
        self.stack: list[list[Any]] = []

    def read(self, rest: str, start: int, path: Path, key_pos: tuple[int, int]) -> Any:
        """The collection opening at ``rest[0]`` (column ``start``); the line must end after it."""
        root: Any = [] if rest[0] == "[" else {}
        self.stack.append([root, path, _ITEM_FIRST if rest[0] == "[" else _KEY_FIRST, None, None])
        column = start + 1
        tokens = _TOKEN.findall(rest, 1)
        for spaces, token, bad in tokens:
            if bad:
                raise Unsupported("a character a flow collection cannot hold")
            column += len(spaces)
            if self.take(token, column) and not self.stack:
                if _FLOW_END.fullmatch(rest, column - start + len(token)) is None:
                    raise Unsupported("text after a flow collection")
                return root
            column += len(token)
        raise Unsupported("a flow collection over several lines")

    def take(self, token: str, column: int) -> bool:
        """Consume one token; True when it closed a collection."""
        top = self.stack[-1]
        state, container, first = top[2], top[0], token[0]
        if first in _CLOSING and state in (_SEP, _ITEM_FIRST, _KEY_FIRST):
            if (first == "]") is not (container.__class__ is list):
                raise Unsupported("unbalanced brackets")
            self.stack.pop()
            return True
        if state == _SEP:
            if first != ",":
                raise Unsupported("an unexpected sign in a flow collection")
            top[2] = _ITEM if container.__class__ is list else _KEY_NEXT
        elif state in (_KEY_NEXT, _KEY_FIRST):
            self.key(top, token, column)
        elif state == _COLON:
            if token != ": ":
                raise Unsupported("a flow mapping entry without ': '")
            top[2] = _VALUE
        else:
            self.item(top, token, column)
        return False

    def key(self, top: list[Any], token: str, column: int) -> None:
        if token[0] in _NOT_A_KEY:
            raise Unsupported("a flow mapping key that is not a plain scalar")
        name = self.reader.keys.get(token)
        if name is None:
            name = self.reader.key(token)
        if name in top[0]:
            raise Unsupported("a duplicate key")
        top[2], top[3], top[4] = _COLON, name, (self.number, column)

    def item(self, top: list[Any], token: str, column: int) -> None:
        """A value: a scalar, or a nested collection that opens here."""
        container, first = top[0], token[0]
        if container.__class__ is list:
            path, key_pos = (*top[1], len(container)), (0, 0)
        else:
            path, key_pos = (*top[1], top[3]), top[4]
        top[2] = _SEP
        value: Any
        if first == "[" or first == "{":
            if len(self.stack) >= self.room:
                raise Unsupported("nesting at the depth limit")
            value = [] if first == "[" else {}
            self.stack.append(
                [value, path, _ITEM_FIRST if first == "[" else _KEY_FIRST, None, None]
            )
        elif first in _NOT_A_VALUE:
            raise Unsupported("an empty flow entry or a mapping inside a sequence")
        elif first == '"':
            value = token[1:-1]
        elif first == "'":
            value = token[1:-1].replace("''", "'")
        elif first in _NUMERIC_START or token in _SPECIAL_WORDS:
            value = self.reader.scalar(token)
        else:
            value = token
        if self.reader.every or value.__class__ in (list, dict):
            self.reader.positions[path] = (*key_pos, self.number, column)
        if container.__class__ is list:
            container.append(value)
        else:
            container[top[3]] = value


def _plain(rest: str) -> str:
    """The plain scalar ``rest`` holds (before any comment), or ``""`` when it is something else."""
    if rest[0] in "[{'\"#":
        return ""
    found = _PLAIN_REST.fullmatch(rest)
    return found.group(1) if found is not None else ""


def read_block_yaml(
    text: str, file: str, max_depth: int, max_nodes: int, *, every: bool = False
) -> list[Document]:
    """Every document of ``text``, exactly as the libyaml composer would build them.

    Args:
        text: the file's text.
        file: the file name the documents carry.
        max_depth: nesting limit; a file that reaches it is left to the composer to report.
        max_nodes: value limit, likewise.
        every: record every position now, rather than scalars' on first use.

    Raises:
        Unsupported: the text uses YAML this reader does not handle (the composer must read it).
    """
    if _SUSPECT.search(text) is not None:
        raise Unsupported("characters libyaml reads specially")
    documents = _Reader(file, max_depth, every=every).run(text)
    # A value takes at least one character, so only a long text can hold too many.
    if len(text) > max_nodes and sum(_count(d.data) for d in documents) > max_nodes:
        raise Unsupported("more values than the limit")
    return documents


def _count(value: Any) -> int:
    """Values in ``value``, counting keys and collections, as the composer counts them."""
    if value.__class__ is dict:
        return 1 + sum(1 + _count(item) for item in value.values())
    if value.__class__ is list:
        return 1 + sum(_count(item) for item in value)
    return 1
