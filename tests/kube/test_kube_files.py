"""The walker's rules: which files a folder means, in which order, and unreadable input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kube_helpers import write

from trustmap.kube import load_kube, manifest_files

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"


def _names(files: list[str], root: Path) -> list[str]:
    return [Path(f).relative_to(root).as_posix() for f in files]


def test_folders_are_walked_for_yaml_yml_and_json_in_any_case_in_path_order(tmp_path: Path) -> None:
    for name in ("b/x.YAML", "a.yml", "c.Json", "b/a.yaml", "notes.txt", "chart/values.tpl"):
        write(tmp_path, name, POD)
    files, problems = manifest_files([tmp_path])
    assert problems == []
    assert _names(files, tmp_path) == ["a.yml", "b/a.yaml", "b/x.YAML", "c.Json"]


def test_hidden_folders_and_hidden_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, ".git/config.yaml", POD)
    write(tmp_path, ".github/workflows/ci.yml", POD)
    write(tmp_path, ".prettierrc.yaml", POD)
    write(tmp_path, "app/deploy.yaml", POD)
    files, _ = manifest_files([tmp_path])
    assert _names(files, tmp_path) == ["app/deploy.yaml"]


def test_a_file_named_explicitly_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, ".hidden/manifest.txt", POD)
    kset, problems = load_kube([path])
    assert problems == []
    assert [o.name for o in kset.objects] == ["p"]


def test_a_file_reached_twice_is_read_once_at_its_first_place(tmp_path: Path) -> None:
    first = write(tmp_path, "m/a.yaml", POD)
    os.symlink(first, tmp_path / "m" / "b.yaml")
    files, _ = manifest_files([first, tmp_path / "m", tmp_path])
    assert files == [str(first)]


def test_links_to_folders_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "real/a.yaml", POD)
    os.symlink(tmp_path / "real", tmp_path / "loop", target_is_directory=True)
    os.symlink(tmp_path, tmp_path / "real" / "up", target_is_directory=True)
    files, _ = manifest_files([tmp_path])
    assert _names(files, tmp_path) == ["real/a.yaml"]


def test_arguments_keep_their_order(tmp_path: Path) -> None:
    z = write(tmp_path, "z.yaml", POD)
    a = write(tmp_path, "a.yaml", POD)
    files, _ = manifest_files([z, a])
    assert files == [str(z), str(a)]


def test_a_missing_path_is_tm100_naming_the_path(tmp_path: Path) -> None:
    kset, problems = load_kube([tmp_path / "nope"])
    assert kset.objects == ()
    assert [(d.code, d.span.file if d.span else "") for d in problems] == [
        ("TM100", str(tmp_path / "nope"))
    ]
    assert problems[0].message == "no such file or directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_an_unreadable_file_is_tm100_with_the_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", POD)
    path.chmod(0)
    try:
        _, problems = load_kube([tmp_path])
    finally:
        path.chmod(0o644)
    assert [d.code for d in problems] == ["TM100"]
    assert problems[0].message == "cannot read file: permission denied"


def test_a_file_that_is_not_utf8_is_tm106_at_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"kind: Pod\nmetadata:\n  name: \xff\n")
    _, problems = load_kube([path])
    assert [(d.code, d.span.line if d.span else 0) for d in problems] == [("TM106", 3)]


def test_a_syntax_error_keeps_the_documents_before_it(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", POD + "---\nkind: [unclosed\n")
    kset, problems = load_kube([path])
    assert [o.name for o in kset.objects] == ["p"]
    assert [d.code for d in problems] == ["TM101"]
    assert problems[0].span is not None
    assert problems[0].span.line >= 5


def test_an_empty_file_is_not_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "comment.yaml", "# placeholder\n")
    kset, problems = load_kube([tmp_path])
    assert (kset.objects, problems) == ((), [])
    assert len(kset.files) == 2


def test_json_is_read_with_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pods.json",
        '{"kind": "List", "items": [\n  {"apiVersion": "v1", "kind": "Pod",\n'
        '   "metadata": {"name": "web", "namespace": "shop"}}\n]}\n',
    )
    kset, problems = load_kube([path])
    assert problems == []
    (pod,) = kset.objects
    assert (pod.kind, pod.namespace, pod.name) == ("Pod", "shop", "web")
    assert (pod.span.line, pod.span.col) == (3, 25)


_NAME = st.sampled_from(["a", "B", "c", ".h", "_x", "z9"])
_SUFFIX = st.sampled_from([".yaml", ".YML", ".json", ".txt", ".Yaml", ""])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.lists(_NAME, max_size=2), _NAME, _SUFFIX), max_size=8))
def test_the_walk_is_sorted_unique_and_keeps_only_visible_manifests(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[list[str], str, str]]
) -> None:
    root = tmp_path_factory.mktemp("walk")
    for folders, name, suffix in entries:
        path = root.joinpath(*folders, name + suffix)
        if not any(p.exists() and p.is_file() for p in path.parents if p != root):
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_dir():
                path.write_text(POD)
    files, problems = manifest_files([root, root])
    names = _names(files, root)
    assert problems == []
    assert names == sorted(set(names))
    for name in names:
        assert not any(part.startswith(".") for part in name.split("/"))
        assert name.lower().endswith((".yaml", ".yml", ".json"))
    expected = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file()
        and p.name.lower().endswith((".yaml", ".yml", ".json"))
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }
    assert set(names) == expected
