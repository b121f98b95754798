"""What every format parser shares: opening (gzip or not), numbered lines, bad-line bookkeeping.

A parser is a generator ``parse(lines, ctx) -> Iterator[FlowRecord]``: it reads ``(line number,
bytes)`` pairs, yields good records, and tells ``ctx`` about every line it could not use
(:meth:`ParseContext.malformed`) or that holds no flow (:meth:`ParseContext.skip`). It never
raises for bad input, so one broken line never costs the good ones around it.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.errors import InputError
from trustmap.observe.record import FlowRecord

__all__ = [
    "MAX_EXAMPLES",
    "Bad",
    "Lines",
    "ParseContext",
    "Parser",
    "as_dict",
    "as_int",
    "as_str",
    "as_strs",
    "decode",
    "is_gzip",
    "numbered_lines",
    "open_flow_file",
]

MAX_EXAMPLES = 5
"""Malformed lines shown per file; the rest are counted."""

GZIP_MAGIC = b"\x1f\x8b"
_PROGRESS_EVERY = 4096

Lines = Iterable[tuple[int, bytes]]
"""``(1-based line number, raw line)`` pairs."""


class Bad(ValueError):
    """A line that cannot be used; the message says what was expected."""


@dataclass(slots=True)
class ParseContext:
    """Per-file state a parser reports into: counts and the first malformed examples."""

    path: str
    """File as the user named it."""
    reporter: str | None = None
    """``namespace/pod`` of the proxy whose log this is (Istio, Envoy), if given."""
    year: int = 1970
    """Year for timestamps printed without one (Hubble compact output)."""
    malformed_count: int = 0
    """Lines that could not be used."""
    skipped: int = 0
    """Lines that hold no flow (Hubble node status, Linkerd end-of-stream, ...)."""
    lost_events: int = 0
    """Events Hubble reports it lost (``lost_events`` lines)."""
    examples: list[Diagnostic] = field(default_factory=list)
    """TM501 diagnostics for the first :data:`MAX_EXAMPLES` malformed lines."""

    def malformed(self, line: int, message: str, hint: str | None = None) -> None:
        """Count a malformed line; keep a diagnostic for the first few."""
        self.malformed_count += 1
        if len(self.examples) < MAX_EXAMPLES:
            span = Span(self.path, line, 1)
            self.examples.append(diagnostic("TM501", span, message, hint))

    def skip(self) -> None:
        """Count a line that holds no flow."""
        self.skipped += 1


class Parser(Protocol):
    """A format parser: good records out, bad lines reported into ``ctx``."""

    def __call__(self, lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]: ...


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes (the name does not matter)."""
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_flow_file(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """Open ``path`` for reading, transparently gunzipping it.

    Returns:
        ``(stream, raw)``: decoded bytes to read, and the file whose position tracks progress.

    Raises:
        InputError: when the path does not exist, is a directory or cannot be read.
    """
    try:
        raw: IO[bytes] = path.open("rb")
    except OSError as err:
        raise InputError(f"{path}: {err.strerror or err}") from err
    try:
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb")), raw
        raw.seek(0)
    except OSError as err:
        raw.close()
        raise InputError(f"{path}: {err.strerror or err}") from err
    return raw, raw


def numbered_lines(
    stream: IO[bytes], raw: IO[bytes], progress: Callable[[int], None] | None = None
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(number, line)``; call ``progress(bytes read)`` now and then.

    Raises:
        InputError: when the stream breaks mid-way (truncated gzip, I/O error).
    """
    number = 0
    try:
        for number, line in enumerate(stream, start=1):
            if progress is not None and number % _PROGRESS_EVERY == 0:
                progress(raw.tell())
            yield number, line
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise InputError(f"cannot read past line {number}: {err}") from err
    if progress is not None:
        progress(raw.tell())


def decode(line: bytes) -> str:
    """A line as text without its line break.

    Raises:
        Bad: when the line is not UTF-8.
    """
    try:
        return line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise Bad(f"not UTF-8 text (byte {err.start + 1})") from err


def as_dict(value: object, where: str) -> dict[str, object]:
    """``value`` if it is a JSON object; ``{}`` for null.

    Raises:
        Bad: for any other JSON type.
    """
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    raise Bad(f"'{where}' must be an object, got {_kind(value)}")


def as_str(value: object, where: str) -> str | None:
    """A non-empty string, or ``None`` for null/empty/absent.

    Raises:
        Bad: for numbers, lists, objects.
    """
    if isinstance(value, str):
        return value or None
    if value is None:
        return None
    raise Bad(f"'{where}' must be a string, got {_kind(value)}")


def as_int(value: object, where: str) -> int | None:
    """An integer (JSON number or numeric string, as protojson writes 64-bit values); ``None``
    for null/absent.

    Raises:
        Bad: for anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise Bad(f"'{where}' must be an integer, got {_kind(value)}")


def as_strs(value: object, where: str) -> list[str]:
    """A list of strings; ``[]`` for null/absent.

    Raises:
        Bad: when it is not a list of strings.
    """
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise Bad(f"'{where}' must be a list of strings, got {_kind(value)}")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__
