"""``ingest``: read flow files of one format into the flow database as one batch (window).

Files are streamed (never loaded whole), gzip or not, and parsed by the format's parser; Hubble
JSON first goes through the compiled reader (:mod:`trustmap.observe.native`; DuckDB's parallel
JSON reader where it is not built or ``engine="duckdb"``), and a file it cannot vouch for is read
by the Python parser. Bad lines are counted and the first few reported with their
line numbers; they never stop the run or cost the good lines. Everything staged is collapsed
into ``flows`` in one transaction at the end, so a batch is either fully there or absent.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.errors import InputError, UsageError
from trustmap.names import did_you_mean, is_dns1123_label, is_dns1123_subdomain
from trustmap.observe.formats import FORMATS, hubble_native, hubble_sql, sniff
from trustmap.observe.formats.base import (
    MAX_EXAMPLES,
    ParseContext,
    is_gzip,
    numbered_lines,
    open_flow_file,
)
from trustmap.observe.formats.csv import HeaderError
from trustmap.observe.native import Abandoned, NativeStager, Unvouched
from trustmap.observe.store import FileRow, FlowStore, OutOfMemory, StageRejected, StoreError

__all__ = [
    "DEFAULT_DB",
    "DEFAULT_MEMORY",
    "DEFAULT_WINDOW",
    "FileReport",
    "IngestReport",
    "Progress",
    "ingest",
]

DEFAULT_DB: Final = Path(".trustmap/flows.duckdb")
DEFAULT_WINDOW: Final = dt.timedelta(seconds=5)
"""Observations of one flow key in the same bucket of this length are one row."""
DEFAULT_MEMORY: Final = "1GB"
"""DuckDB's memory cap while ingesting (10 million Hubble flows stay under 1.1 GiB of RSS)."""

Progress = Callable[[int, int], None]
"""Called with (bytes read so far, bytes to read) over all files of the run."""
Engine = Literal["auto", "native", "duckdb", "python"]
_NATIVE_ROUNDS: Final = 1_000_000_000
"""Staged rows of file ``n`` read by the compiled reader are marked ``-(_NATIVE_ROUNDS + n)``."""


@dataclass(frozen=True, slots=True)
class FileReport:
    """What happened to one input file."""

    path: str
    """File as given."""
    records_read: int
    """Records (lines, objects, rows) the parser looked at."""
    records_staged: int
    """Good flow records, before deduplication."""
    malformed: int
    """Records that could not be used."""
    skipped: int
    """Records that hold no flow (Hubble node status, lost-event notices, ...)."""
    lost_events: int
    """Events Hubble said it lost."""
    engine: str
    """``duckdb`` or ``python`` (which parser read it), or ``none`` when it was not read."""
    readable: bool
    """False when the file could not be opened or read to the end."""


@dataclass(frozen=True, slots=True)
class IngestReport:
    """The outcome of one ingest run."""

    db_path: str
    """Database written."""
    format: str
    """Input format."""
    batch_id: int | None
    """The batch (window) recorded, ``None`` when nothing could be read."""
    files: tuple[FileReport, ...]
    """Per file, in the order given."""
    read: int
    """Records read over all files."""
    stored: int
    """Rows written to ``flows``."""
    duplicates: int
    """Good records merged into another row (observation points, both nodes, retransmits)."""
    malformed: int
    """Records that could not be used."""
    skipped: int
    """Records that hold no flow."""
    lost_events: int
    """Events Hubble said it lost."""
    first_time: dt.datetime | None
    """Earliest observation of the batch."""
    last_time: dt.datetime | None
    """Latest observation of the batch."""
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    """TM5xx findings, sorted by file and line."""

    @property
    def unreadable(self) -> bool:
        """Whether some file could not be read (the CLI exits 2)."""
        return any(not f.readable for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (diagnostics excluded; render them separately)."""
        return {
            "db": self.db_path,
            "format": self.format,
            "batch_id": self.batch_id,
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "malformed": self.malformed,
            "skipped": self.skipped,
            "lost_events": self.lost_events,
            "first_time": _iso(self.first_time),
            "last_time": _iso(self.last_time),
            "files": [
                {
                    "path": f.path,
                    "read": f.records_read,
                    "staged": f.records_staged,
                    "malformed": f.malformed,
                    "skipped": f.skipped,
                    "lost_events": f.lost_events,
                    "engine": f.engine,
                    "readable": f.readable,
                }
                for f in self.files
            ],
        }


@dataclass(frozen=True, slots=True)
class _Job:
    """A file to read: its number in the run, path and size."""

    file_no: int
    path: str
    size: int


@dataclass(slots=True)
class _Staged:
    """What the Hubble SQL statements staged: how many did, and how many flows had a side
    without an address (their peers are told apart by identity when the batch is written)."""

    statements: int = 0
    anonymous: int = 0


@dataclass(frozen=True, slots=True)
class _Options:
    fmt: str
    reporter: str | None
    year: int
    engine: Engine
    force: bool
    window: dt.timedelta


class _Bytes:
    """Progress over several files: bytes of the files done plus the current position."""

    def __init__(self, total: int, sink: Progress | None) -> None:
        self.total, self.base, self.sink = total, 0, sink

    def at(self, position: int) -> None:
        if self.sink is not None:
            self.sink(min(self.base + position, self.total), self.total)

    def fraction(self, size: int) -> Callable[[float], None] | None:
        if self.sink is None:
            return None
        return lambda done: self.at(int(done * size))

    def finish(self, size: int) -> None:
        self.base += size
        self.at(0)


def ingest(
    paths: Iterable[str | Path],
    fmt: str,
    db_path: str | Path = DEFAULT_DB,
    *,
    reporter: str | None = None,
    progress: Progress | None = None,
    window: dt.timedelta = DEFAULT_WINDOW,
    year: int | None = None,
    engine: Engine = "auto",
    force: bool = False,
    memory_limit: str | None = DEFAULT_MEMORY,
) -> IngestReport:
    """Read flow files of format ``fmt`` into the DuckDB database ``db_path`` as one batch.

    Args:
        paths: flow files, plain or gzip (detected by magic bytes).
        fmt: one of :data:`trustmap.observe.formats.FORMATS`.
        db_path: database file, created with its folder when missing.
        reporter: ``namespace/pod`` that wrote the logs (Istio/Envoy), recorded with each flow.
        progress: called with (bytes read, bytes total) while reading.
        window: observations of one flow key in the same bucket of this length become one row.
        year: year for timestamps printed without one (Hubble compact); default this year.
        engine: ``auto`` (for Hubble JSON the compiled reader, or DuckDB's where it is not
            built, then Python's for files they refuse; Python for other formats), ``native``,
            ``duckdb`` (DuckDB's reader, then Python's) or ``python``.
        force: ingest files that an earlier batch already holds (same path, size and mtime).
        memory_limit: DuckDB's memory cap (``1GB``, ``512MB``...); collapsing spills to a
            ``<db>.tmp`` folder beyond it. ``None``: DuckDB's default, 80 % of the machine.

    Returns:
        Counts and TM5xx diagnostics; unreadable files are reported, not raised.

    Raises:
        UsageError: for an unknown format or engine, a malformed ``reporter`` or memory limit,
            or when DuckDB runs out of the memory it was allowed.
        InputError: when the database cannot be opened or written.
    """
    options = _options(fmt, reporter, year, engine, force, window)
    files = [str(p) for p in paths]
    try:
        store = FlowStore(Path(db_path), memory_limit=memory_limit)
    except StoreError as err:
        if memory_limit and "memory limit" in str(err):
            raise UsageError(str(err)) from err
        raise InputError(str(err)) from err
    with store:
        try:
            return _run(store, files, options, str(db_path), window, progress)
        except OutOfMemory as err:
            raise UsageError(str(err)) from err
        except StoreError as err:
            raise InputError(str(err)) from err


def _options(
    fmt: str,
    reporter: str | None,
    year: int | None,
    engine: str,
    force: bool,
    window: dt.timedelta,
) -> _Options:
    if fmt not in FORMATS:
        raise UsageError(f"unknown flow format '{fmt}'{did_you_mean(fmt, FORMATS)}")
    if engine not in ("auto", "native", "duckdb", "python"):
        raise UsageError(f"unknown engine '{engine}': use auto, native, duckdb or python")
    if engine == "native" and not hubble_native.AVAILABLE:
        raise UsageError(
            "the compiled Hubble reader is not built (no C compiler when trustmap was "
            "installed); use engine auto or duckdb"
        )
    if reporter is not None:
        namespace, _, pod = reporter.partition("/")
        if not (is_dns1123_label(namespace) and is_dns1123_subdomain(pod)):
            raise UsageError(f"--reporter must be NAMESPACE/POD, got '{reporter}'")
    if window < dt.timedelta(microseconds=1):
        raise UsageError("the dedup window must be positive")
    this_year = dt.datetime.now(dt.UTC).year
    return _Options(fmt, reporter, year or this_year, engine, force, window)  # type: ignore[arg-type]


def _run(
    store: FlowStore,
    files: Sequence[str],
    options: _Options,
    db_path: str,
    window: dt.timedelta,
    progress: Progress | None,
) -> IngestReport:
    stats = [_stat(Path(f)) for f in files]
    meter = _Bytes(sum(size or 0 for size, _ in stats), progress)
    diagnostics: list[Diagnostic] = []
    reports: dict[int, FileReport] = {}
    pending: list[_Job] = []
    for file_no, (path, (size, mtime)) in enumerate(zip(files, stats, strict=True), start=1):
        early = _precheck(store, path, size, mtime, options, diagnostics)
        if early is None:
            pending.append(_Job(file_no, path, size or 0))
        else:
            reports[file_no] = early
    collapsed = _read(store, pending, options, meter, reports, diagnostics)
    ordered = [reports[n] for n in range(1, len(files) + 1)]
    if not pending:
        return _report(db_path, options.fmt, None, ordered, 0, 0, None, None, diagnostics)
    rows = [
        FileRow(job.path, *stats[job.file_no - 1], reports[job.file_no].records_read,
                reports[job.file_no].malformed, reports[job.file_no].skipped)
        for job in pending
    ]  # fmt: skip
    totals = store.commit_batch(
        source_format=options.fmt,
        reporter=options.reporter,
        files=rows,
        window=window,
        lost_events=sum(r.lost_events for r in ordered),
        collapsed=collapsed,
    )
    return _report(
        db_path, options.fmt, totals.batch_id, ordered, totals.stored,
        totals.staged - totals.stored, totals.first_time, totals.last_time, diagnostics,
    )  # fmt: skip


def _read(
    store: FlowStore,
    pending: Sequence[_Job],
    options: _Options,
    meter: _Bytes,
    reports: dict[int, FileReport],
    diagnostics: list[Diagnostic],
) -> bool:
    """Stage every pending file into ``reports``: Hubble files through the compiled reader (or
    DuckDB's), the rest (and what they could not read) through the Python parsers. Returns
    whether the staged flows are collapsed already (one statement staged them all)."""
    fast = options.fmt == "hubble" and options.engine != "python"
    staged, native = _Staged(), _Staged()
    if fast and options.engine in ("auto", "native") and hubble_native.AVAILABLE:
        # What the compiled reader refuses goes to the Python parser, as strict as it is:
        # DuckDB's reader accepts some values Python reports (a "true" string as a boolean).
        done, native = _hubble_native(store, pending, meter, options.window)
        reports.update(done)
    elif fast:
        reports.update(_hubble_fast(store, pending, meter, options.window, staged))
    for job in pending:
        if job.file_no not in reports:
            meter.total += job.size if fast else 0  # read again, by the Python parser
            reports[job.file_no] = _python(
                store, job.path, job.file_no, options, meter, diagnostics
            )
            meter.finish(job.size)
        _file_findings(reports[job.file_no], options.fmt, diagnostics)
    engines = {reports[job.file_no].engine for job in pending}
    if engines == {"native"}:
        return native.statements == 1 and not native.anonymous
    return engines == {"duckdb"} and staged.statements == 1 and not staged.anonymous


def _report(
    db_path: str,
    fmt: str,
    batch_id: int | None,
    files: list[FileReport],
    stored: int,
    duplicates: int,
    first: dt.datetime | None,
    last: dt.datetime | None,
    diagnostics: list[Diagnostic],
) -> IngestReport:
    return IngestReport(
        db_path=db_path,
        format=fmt,
        batch_id=batch_id,
        files=tuple(files),
        read=sum(f.records_read for f in files),
        stored=stored,
        duplicates=duplicates,
        malformed=sum(f.malformed for f in files),
        skipped=sum(f.skipped for f in files),
        lost_events=sum(f.lost_events for f in files),
        first_time=first,
        last_time=last,
        diagnostics=tuple(sort_diagnostics(diagnostics)),
    )


def _stat(path: Path) -> tuple[int | None, dt.datetime | None]:
    try:
        info = path.stat()
    except OSError:
        return None, None
    mtime = dt.datetime.fromtimestamp(info.st_mtime, dt.UTC).replace(tzinfo=None)
    return info.st_size, mtime


def _precheck(
    store: FlowStore,
    path: str,
    size: int | None,
    mtime: dt.datetime | None,
    options: _Options,
    diagnostics: list[Diagnostic],
) -> FileReport | None:
    """The report of a file that will not be read (missing, or ingested before), else None."""
    if size is None or not Path(path).is_file():
        diagnostics.append(_unreadable(path, "no such file" if size is None else "not a file"))
        return FileReport(path, 0, 0, 0, 0, 0, "none", False)
    earlier = store.ingested_before(path, size, mtime)
    if earlier is not None and not options.force:
        diagnostics.append(
            diagnostic(
                "TM504", Span(path), f"file already ingested in batch {earlier}; skipped",
                "pass --force to ingest it again (its flows would be counted twice)",
            )
        )  # fmt: skip
        return FileReport(path, 0, 0, 0, 0, 0, "none", True)
    return None


def _hubble_native(
    store: FlowStore, jobs: Sequence[_Job], meter: _Bytes, window: dt.timedelta
) -> tuple[dict[int, FileReport], _Staged]:
    """Reports of the Hubble files the compiled reader vouched for (the others are left to the
    Python parser), and what it staged."""
    done: dict[int, FileReport] = {}
    anonymous = 0
    with NativeStager(store, _us(window), -_NATIVE_ROUNDS) as stager:
        try:
            for job in jobs:
                try:
                    counts = stager.stage(Path(job.path), meter.at)
                except (Unvouched, InputError):
                    meter.total += job.size  # read again by the Python parser
                    continue
                finally:
                    meter.finish(job.size)
                read = counts.flows + counts.skipped + counts.lost_lines
                anonymous += counts.anonymous
                done[job.file_no] = FileReport(
                    job.path, read, counts.flows, 0, counts.skipped + counts.lost_lines,
                    counts.lost_events, "native", True,
                )  # fmt: skip
            statements = stager.finish()
        except Abandoned:
            meter.total += sum(job.size for job in jobs if job.file_no in done)
            return {}, _Staged()
    return done, _Staged(statements, anonymous)


def _hubble_fast(
    store: FlowStore, jobs: Sequence[_Job], meter: _Bytes, window: dt.timedelta, staged: _Staged
) -> dict[int, FileReport]:
    """Reports of the Hubble files DuckDB read cleanly; the others are left to Python."""
    done: dict[int, FileReport] = {}
    rounds = itertools.count(1)
    for compression, group in _rounds(jobs):
        done.update(_fast_round(store, group, compression, meter, window, (rounds, staged)))
    return done


def _rounds(jobs: Sequence[_Job]) -> list[tuple[str, list[_Job]]]:
    """Files that can share one statement: same compression, each path at most once."""
    rounds: dict[tuple[str, int], list[_Job]] = {}
    seen: dict[tuple[str, str], int] = {}
    for job in jobs:
        try:
            compression = "gzip" if is_gzip(Path(job.path)) else "none"
        except OSError:
            continue  # the Python reader reports it
        occurrence = seen.get((compression, job.path), 0)
        seen[(compression, job.path)] = occurrence + 1
        rounds.setdefault((compression, occurrence), []).append(job)
    return [(compression, group) for (compression, _), group in rounds.items()]


def _fast_round(
    store: FlowStore,
    group: list[_Job],
    compression: str,
    meter: _Bytes,
    window: dt.timedelta,
    state: tuple[Iterator[int], _Staged],
) -> dict[int, FileReport]:
    """Stage ``group`` in one statement; files DuckDB rejects, or holding lines it cannot vouch
    for, are left out (the others are read again without them)."""
    size = sum(job.size for job in group)
    params: dict[str, object] = {
        "paths": [job.path for job in group],
        "files": [job.file_no for job in group],
        "round": -next(state[0]),
        "columns": hubble_sql.COLUMNS,
        "window": _us(window),
    }
    try:
        store.stage_sql(hubble_sql.stage_sql(compression), params, meter.fraction(size))
    except StageRejected:
        store.unstage(hubble_sql.UNSTAGE_SQL, {k: params[k] for k in ("round", "files")})
        if len(group) == 1:
            return {}
        meter.total += size  # each file is read again on its own to find the one DuckDB rejects
        done: dict[int, FileReport] = {}
        for job in group:
            done.update(_fast_round(store, [job], compression, meter, window, state))
        return done
    meter.finish(size)
    reports, anonymous = _fast_reports(store, group)
    if len(reports) == len(group):
        store.query(hubble_sql.PRUNE_SQL)
        state[1].statements += 1
        state[1].anonymous += anonymous
        return reports
    store.unstage(hubble_sql.UNSTAGE_SQL, {k: params[k] for k in ("round", "files")})
    clean = [job for job in group if job.file_no in reports]
    if not clean:
        return {}
    meter.total += sum(job.size for job in clean)
    return _fast_round(store, clean, compression, meter, window, state)


def _fast_reports(store: FlowStore, group: list[_Job]) -> tuple[dict[int, FileReport], int]:
    """Reports of the files of ``group`` without a line DuckDB could not vouch for, and how
    many flows of the group had a side without an address."""
    counts = {
        row[0]: row[1:]
        for row in store.query(hubble_sql.COUNTS_SQL, {"files": [j.file_no for j in group]})
    }
    done: dict[int, FileReport] = {}
    anonymous = 0
    for job in group:
        flows, skipped, bad, lost, lost_lines, nameless = counts.get(job.file_no, (0,) * 6)
        anonymous += int(nameless)
        if not bad:
            read = flows + skipped + lost_lines
            done[job.file_no] = FileReport(
                job.path, read, flows, 0, skipped + lost_lines, int(lost), "duckdb", True
            )
    return done, anonymous


def _python(
    store: FlowStore,
    path: str,
    file_no: int,
    options: _Options,
    meter: _Bytes,
    diagnostics: list[Diagnostic],
) -> FileReport:
    ctx = ParseContext(path, reporter=options.reporter, year=options.year)
    parser = FORMATS[options.fmt]
    staged, broken = 0, list[InputError]()
    try:
        stream, raw = open_flow_file(Path(path))
        with stream, raw:
            lines = _until_broken(numbered_lines(stream, raw, meter.at), broken)
            staged = store.stage(parser(lines, ctx), file_no)
    except HeaderError as err:
        diagnostics.append(
            diagnostic("TM505", Span(path, 1, 1), str(err), "see docs/observe.md for the columns")
        )
    except InputError as err:
        broken.append(err)
    readable = not broken
    diagnostics.extend(_unreadable(path, str(err)) for err in broken)
    diagnostics.extend(ctx.examples)
    read = staged + ctx.malformed_count + ctx.skipped
    return FileReport(
        path, read, staged, ctx.malformed_count, ctx.skipped, ctx.lost_events, "python", readable
    )


def _until_broken(
    lines: Iterator[tuple[int, bytes]], broken: list[InputError]
) -> Iterator[tuple[int, bytes]]:
    """The lines, ending quietly (and noting why) when the file breaks mid-way, so the good
    lines before the break are still stored."""
    try:
        yield from lines
    except InputError as err:
        broken.append(err)


def _unreadable(path: str, why: str) -> Diagnostic:
    return diagnostic(
        "TM500", Span(path), f"cannot read flow file: {why}", "check the path and permissions"
    )


def _file_findings(report: FileReport, fmt: str, diagnostics: list[Diagnostic]) -> None:
    path = report.path
    hidden = report.malformed - MAX_EXAMPLES
    if hidden > 0:
        diagnostics.append(
            diagnostic("TM502", Span(path), f"{hidden} more malformed record(s) not shown")
        )
    if report.lost_events:
        diagnostics.append(
            diagnostic(
                "TM503", Span(path),
                f"Hubble lost {report.lost_events} event(s) while capturing; counts are incomplete",
                "raise the Hubble event buffer (hubble.eventBufferCapacity) or filter the capture",
            )
        )  # fmt: skip
    if report.records_read and report.malformed == report.records_read:
        guess = _guess(path)
        hint = (
            f"it looks like '{guess}': use --format {guess}"
            if guess and guess != fmt
            else "check --format and the file"
        )
        diagnostics.append(
            diagnostic("TM506", Span(path), f"no record could be read as '{fmt}'", hint)
        )


def _guess(path: str) -> str | None:
    try:
        stream, raw = open_flow_file(Path(path))
        with stream, raw:
            for _, line in numbered_lines(stream, raw):
                if line.strip():
                    return sniff(line)
    except InputError:
        return None
    return None


def _us(window: dt.timedelta) -> int:
    return window // dt.timedelta(microseconds=1)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"
