"""Parsing on several processes gives, in file order, what parsing one file after another gives:
whether a worker's result comes through the pipe or its cache entry, and whatever this process
takes over from a lagging worker."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

from trustmap.loader import _collect, _parse_remote, _received, load_paths
from trustmap.loader.cache import ParseCache
from trustmap.loader.compose import Limits
from trustmap.loader.files import load_file

TEAM = "apiVersion: trustmap.dev/v1alpha1\nkind: Team\nmetadata: {{name: t{n}}}\nspec: {{owners: [a], namespaces: [ns{n}]}}\n"
BROKEN = "apiVersion: trustmap.dev/v1alpha1\nkind: [unclosed\n"


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    paths = []
    for n in range(8):
        path = tmp_path / "org" / f"f{n}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(BROKEN if n == 5 else "---\n".join([TEAM.format(n=n)] * (n + 1)))
        paths.append(str(path))
    return paths


def test_workers_hand_results_over_through_the_cache_or_the_pipe(
    files: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequential = load_paths([tmp_path / "org"], workers=1)
    monkeypatch.setenv("TRUSTMAP_CACHE_DIR", str(tmp_path / "cache"))
    assert load_paths([tmp_path / "org"], workers=2) == sequential  # handed over in the cache
    monkeypatch.setenv("TRUSTMAP_NO_CACHE", "1")
    assert load_paths([tmp_path / "org"], workers=2) == sequential  # sent through the pipe
    assert [p.code for p in sequential.diagnostics] == ["TM101"]


def test_a_worker_sends_the_bytes_only_when_the_cache_cannot_hold_them(
    files: list[str], tmp_path: Path
) -> None:
    cache = ParseCache(tmp_path / "cache")
    key = cache.key(files[0], Limits())
    assert _parse_remote(files[0], key, Limits(), cache.directory) is None
    assert cache.get(key, files[0]) == load_file(files[0], keep_broken=True)
    entry = _parse_remote(files[0], key, Limits(), None)
    assert entry is not None
    assert ParseCache.loads(entry, files[0]) == load_file(files[0], keep_broken=True)


def test_a_cache_entry_gone_before_it_is_read_is_parsed_again(
    files: list[str], tmp_path: Path
) -> None:
    cache = ParseCache(tmp_path / "cache")
    key = cache.key(files[1], Limits())
    assert _received(cache, files[1], key, Limits(), None) == load_file(files[1], keep_broken=True)


def test_files_no_worker_started_are_parsed_here_in_order(files: list[str], tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    keys = [cache.key(f, Limits()) for f in files]
    remote: list[Future[bytes | None]] = [Future() for _ in files]
    for n in (0, 3):  # finished by a worker, one through the cache and one through the pipe
        remote[n].set_running_or_notify_cancel()
        remote[n].set_result(
            _parse_remote(files[n], keys[n], Limits(), cache.directory if n else None)
        )
    results = list(_collect(cache, files, keys, Limits(), remote))
    assert results == [load_file(f, keep_broken=True) for f in files]
    assert [f.cancelled() for f in remote] == [n not in (0, 3) for n in range(len(files))]
