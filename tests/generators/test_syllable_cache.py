"""The parsed pronouncing dictionary is cached on disk, and a bad cache is never trusted."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from generators.poem import syllables


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The cache file in a fresh KAVI_CACHE_DIR, with the in-process tables forgotten."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("KAVI_CACHE_DIR", str(folder))
    syllables._pronunciation_tables.cache_clear()
    yield folder / syllables.CACHE_FILE
    syllables._pronunciation_tables.cache_clear()


def _parsed() -> tuple[dict[str, int], dict[str, int]]:
    return syllables._parse_tables(syllables._dictionary_bytes().decode("utf-8"))


def _forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(_text: str) -> None:
        raise AssertionError("the dictionary was parsed although a valid cache exists")

    monkeypatch.setattr(syllables, "_parse_tables", parse)


def test_tables_are_cached_and_read_back_without_parsing(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _parsed()
    assert syllables._pronunciation_tables() == expected
    assert cache.is_file()
    assert sorted(p.name for p in cache.parent.iterdir()) == [cache.name]  # no temp file left
    syllables._pronunciation_tables.cache_clear()
    _forbid_parsing(monkeypatch)
    assert syllables._pronunciation_tables() == expected
    assert syllables.count_word("fire") == 1 and syllables._count_range("fire") == (1, 2)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff not json",
        b'{"key": "',  # torn mid-write
        b"[1, 2, 3]",
        b'{"fewest": {}, "most": {}}',
    ],
)
def test_a_corrupt_cache_is_rebuilt(cache: Path, content: bytes) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_bytes(content)
    assert syllables._pronunciation_tables() == _parsed()
    key = syllables._table_key(syllables._dictionary_bytes())
    assert syllables._read_cached_tables(cache, key) == _parsed()


def test_a_cache_with_the_right_key_but_bad_values_is_rebuilt(cache: Path) -> None:
    key = syllables._table_key(syllables._dictionary_bytes())
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"key": key, "fewest": {"one": 3}, "most": {}}))
    assert syllables._pronunciation_tables() == _parsed()


def test_a_cache_built_from_another_dictionary_is_not_trusted(cache: Path) -> None:
    cache.parent.mkdir(parents=True)
    stale = {"key": "built-from-an-older-cmudict", "fewest": {"7": "moon"}, "most": {}}
    cache.write_text(json.dumps(stale))
    assert syllables.count_word("moon") == 1
    assert json.loads(cache.read_text())["key"] == syllables._table_key(
        syllables._dictionary_bytes()
    )


def test_the_key_follows_the_dictionary() -> None:
    assert syllables._table_key(b"MOON  M UW1 N\n") != syllables._table_key(b"MOON  M UW1 N Z\n")


def test_an_unwritable_cache_still_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KAVI_CACHE_DIR", str(blocker / "cache"))
    syllables._pronunciation_tables.cache_clear()
    try:
        assert syllables._pronunciation_tables() == _parsed()
    finally:
        syllables._pronunciation_tables.cache_clear()


def test_no_home_folder_falls_back_to_the_temp_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # A container run as a uid with no passwd entry and no HOME: Path.home() raises.
    monkeypatch.delenv("KAVI_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert syllables.cache_dir() == Path(tempfile.gettempdir()) / "kavi-cache"
