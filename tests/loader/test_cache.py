"""The parse cache returns what parsing returns, under the file's own name, and never fails a load."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustmap.loader import cache as cache_module
from trustmap.loader import load_paths
from trustmap.loader.cache import PARSING_CODE, ParseCache, code_fingerprint
from trustmap.loader.compose import Limits
from trustmap.loader.files import load_file

DOC = "apiVersion: trustmap.dev/v1alpha1\nkind: Team\nmetadata: {name: payments}\nspec: {owners: [a], namespaces: [shop]}\n"


def test_a_hit_equals_a_fresh_parse_relabelled_with_the_requesting_file(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(DOC)
    second.write_text(DOC)
    key = cache.key(str(first), Limits())
    cache.put(key, load_file(str(first)))
    hit = cache.get(cache.key(str(second), Limits()), str(second))
    assert hit is not None
    documents, problems = hit
    assert [d.file for d in documents] == [str(second)]
    assert documents[0].data == load_file(str(second))[0][0].data
    assert documents[0].span(("metadata", "name")).line == 3
    assert problems == []


def test_diagnostics_come_back_with_the_right_file(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n")
    cache.put(cache.key(str(bad), Limits()), load_file(str(bad)))
    hit = cache.get(cache.key(str(bad), Limits()), "renamed.yaml")
    assert hit is not None
    assert [str(p) for p in hit[1]] == [
        "renamed.yaml:2:1: error TM102 duplicate key 'a' (first defined on line 1)"
    ]


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    file = tmp_path / "a.yaml"
    file.write_text(DOC)
    key = cache.key(str(file), Limits())
    assert key is not None
    (tmp_path / "cache" / key[:2]).mkdir(parents=True)
    (tmp_path / "cache" / key[:2] / key).write_bytes(b"not a pickle")
    assert cache.get(key, str(file)) is None


def test_a_changed_file_or_limit_misses(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    file = tmp_path / "a.yaml"
    file.write_text(DOC)
    before = cache.key(str(file), Limits())
    assert cache.key(str(file), Limits(max_depth=5)) != before
    file.write_text(DOC + "# changed\n")
    assert cache.key(str(file), Limits()) != before


def test_loading_twice_gives_identical_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTMAP_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "decl").mkdir()
    (tmp_path / "decl" / "teams.yaml").write_text(DOC + "---\n" + DOC.replace("payments", "cart"))
    cold = load_paths([tmp_path / "decl"])
    warm = load_paths([tmp_path / "decl"])
    assert any((tmp_path / "cache").rglob("*"))
    assert warm == cold


def test_no_cache_setting_disables_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTMAP_NO_CACHE", "1")
    assert ParseCache.default().directory is None


def test_a_change_to_the_parsing_code_misses(tmp_path: Path) -> None:
    file = tmp_path / "a.yaml"
    file.write_text(DOC)
    cache = ParseCache(tmp_path / "cache")
    before = cache.key(str(file), Limits())
    changed = ParseCache(tmp_path / "cache")
    changed._code = "the loader as another commit has it"
    assert before is not None
    assert changed.key(str(file), Limits()) not in (None, before)


def test_the_fingerprint_follows_the_source_of_the_parsing_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "fake_parser_for_cache_test.py"
    module.write_text("RULE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cache_module, "PARSING_CODE", ("fake_parser_for_cache_test",))
    before = code_fingerprint()
    module.write_text("RULE = 2\n")
    assert code_fingerprint() not in ("", before)


def test_every_module_of_the_loader_is_part_of_what_keys_the_cache() -> None:
    import pkgutil

    import trustmap.loader

    modules = {f"trustmap.loader.{m.name}" for m in pkgutil.iter_modules(trustmap.loader.__path__)}
    assert modules | {"trustmap.loader", "trustmap.diagnostics"} <= set(PARSING_CODE)
    assert code_fingerprint() != ""
