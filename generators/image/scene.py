"""What a poem shows: a small structured scene parsed from its words, for painters and alt text.

The parser reads both the poem's `imagery` and its text, so it works for any poem,
including ones an LLM wrote without listing imagery.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from generators.poem import wordbank
from generators.poem.base import Poem
from generators.poem.wordbank import IMAGES, PLACES

TIMES = ("dawn", "day", "dusk", "night")
SEASONS = ("spring", "summer", "autumn", "winter")
WEATHERS = ("clear", "rain", "snow", "mist")
CELESTIALS = ("sun", "moon", "stars")
TERRAINS = ("mountains", "hills", "sea", "river", "lake", "field")
FLORAS = ("pines", "bare trees", "blossoms", "maples", "trees", "grass", "flowers")
FAUNAS = ("birds", "fireflies", "butterflies")

# word -> (facet, value). Keys are singular, lower-case; `_singular` folds plurals onto them.
_LEXICON: dict[str, tuple[str, str]] = {}


def _add(facet: str, value: str, words: str) -> None:
    for word in words.split():
        _LEXICON[word] = (facet, value)


_add("time", "dawn", "dawn daybreak sunrise morning sunup aurora")
_add("time", "day", "day noon midday afternoon daylight daytime")
_add("time", "dusk", "dusk evening sunset twilight gloaming sundown nightfall eventide")
_add("time", "night", "night midnight nighttime tonight darkness")
_add("season", "spring", "spring springtime")
_add("season", "summer", "summer summertime midsummer")
_add("season", "autumn", "autumn harvest")
_add("season", "winter", "winter wintertime midwinter")
_add("weather", "rain", "rain raindrop drizzle downpour shower storm rainfall monsoon")
_add("weather", "snow", "snow snowflake snowfall sleet blizzard flurry")
_add("weather", "mist", "mist fog haze misty foggy hazy vapor vapour")
_add("celestial", "sun", "sun sunlight sunshine sunbeam")
_add("celestial", "moon", "moon moonlight moonlit moonbeam crescent")
_add("celestial", "stars", "star starlight starlit constellation galaxy")
_add("terrain", "mountains", "mountain peak summit fuji ridge cliff crag alp volcano")
_add("terrain", "hills", "hill hillside slope valley")
_add("terrain", "sea", "sea ocean wave tide shore beach surf coast bay harbor harbour")
_add("terrain", "river", "river stream creek brook waterfall rapids")
_add("terrain", "lake", "lake pond pool water puddle marsh lagoon")
_add("terrain", "field", "field meadow paddy rice prairie pasture farm garden")
_add("flora", "pines", "pine cedar fir spruce evergreen conifer")
_add("flora", "bare trees", "branch bough twig bare willow")
_add("flora", "blossoms", "blossom petal sakura cherry plum bloom blooming")
_add("flora", "maples", "maple foliage")
_add("flora", "trees", "tree forest wood woods grove orchard oak leaf")
_add("flora", "grass", "grass reed bamboo weed sedge")
_add("flora", "flowers", "flower iris lotus poppy daisy chrysanthemum wildflower")
_add(
    "fauna",
    "birds",
    (
        "bird crow raven heron crane goose geese sparrow swallow hawk owl gull duck swan cuckoo "
        "nightingale lark wren egret warbler kingfisher dove pigeon plover robin wing"
    ),
)
_add("fauna", "fireflies", "firefly")
_add("fauna", "butterflies", "butterfly moth")

# Words whose meaning leans on the season: "leaves" in autumn are maple leaves.
_SEASON_FLORA = {
    "autumn": "maples",
    "winter": "bare trees",
    "spring": "blossoms",
    "summer": "trees",
}
_SEASON_HINTS = {
    "blossoms": "spring",
    "butterflies": "spring",
    "fireflies": "summer",
    "maples": "autumn",
    "snow": "winter",
}
_LIGHT_NAMES = {"dawn": "dawn", "day": "daylight", "dusk": "dusk", "night": "night"}
# Words that name a time of day and also put the sun in the sky.
_SUN_TIMES = frozenset({"sunrise", "sunset", "sunup", "sundown"})
# The vocabulary's own values, as another stage may hand them back in `Poem.imagery`.
_CANONICAL: dict[str, tuple[str, str]] = {
    value: (facet, value)
    for facet, values in (
        ("weather", ("rain", "snow", "mist")),
        ("celestial", CELESTIALS),
        ("terrain", TERRAINS),
        ("flora", FLORAS),
        ("fauna", FAUNAS),
    )
    for value in values
}
_WORD = re.compile(r"[a-z]+")


def _subject_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex over every word-bank noun (longest first, plurals too) and its keyword."""
    keyword_of: dict[str, str] = {}
    for image in IMAGES:
        for noun in image.nouns:
            keyword_of.setdefault(noun.text, image.keyword)
    for place in PLACES:
        for text in (place.keyword, *place.nouns):
            keyword_of.setdefault(text, place.keyword)
    for text, keyword in list(keyword_of.items()):
        keyword_of.setdefault(text + "s", keyword)
    alternatives = "|".join(re.escape(t) for t in sorted(keyword_of, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b"), keyword_of


_SUBJECTS, _KEYWORD_OF = _subject_pattern()


def subjects_in(text: str) -> tuple[str, ...]:
    """The word bank's image and place keywords named in `text`, in order, each once."""
    found = (_KEYWORD_OF[m.group(0)] for m in _SUBJECTS.finditer(text.lower()))
    return tuple(dict.fromkeys(found))


# Subjects (see `Scene._subject`) that are plural, so a description of them takes no article.
_PLURAL_SUBJECTS = frozenset({"hills"})


def _singular(word: str) -> str:
    """Fold a plural or inflected word onto a lexicon key when one matches."""
    if word in _LEXICON:
        return word
    candidates = []
    if word.endswith("ies"):
        candidates.append(word[:-3] + "y")
    if word.endswith("es"):
        candidates.append(word[:-2])
    if word.endswith("s"):
        candidates.append(word[:-1])
    if word.endswith("ves"):
        candidates.append(word[:-3] + "f")
    # "snowy", "rainy", "starry", "blooming", "petaled": an adjective or participle of a key.
    if word.endswith("y"):
        candidates += [word[:-1], word[:-2]]
    if word.endswith("ing"):
        candidates += [word[:-3], word[:-4]]
    for candidate in candidates:
        if candidate in _LEXICON:
            return candidate
    return word


def scene_value(word: str) -> str | None:
    """The scene vocabulary's value for one word ("pond" -> "lake", "crow" -> "birds"), if any."""
    entry = _LEXICON.get(_singular(word.lower()))
    return entry[1] if entry else None


def _ordered(values: set[str], order: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value for value in order if value in values)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class Scene:
    """The concrete things a poem shows, each facet from a fixed vocabulary."""

    time_of_day: str = "day"
    season: str | None = None
    weather: str = "clear"
    celestial: tuple[str, ...] = ()
    terrain: tuple[str, ...] = ()
    flora: tuple[str, ...] = ()
    fauna: tuple[str, ...] = ()
    # True when the poem names nothing that can be painted as a landscape.
    abstract: bool = False
    # The word bank's keywords the poem names ("heron", "bridge"), in the poem's order.
    subjects: tuple[str, ...] = ()
    # Words of the poem that may name something no motif can draw (see `unpainted_words`).
    unknown: tuple[str, ...] = ()

    def describe(self) -> str:
        """A short plain-English description of the picture, for alt text."""
        if self.abstract:
            palette = " ".join(
                word for word in (self.season, _LIGHT_NAMES[self.time_of_day]) if word
            )
            # "composition", not "painting": alt text already says "A painting of ...".
            return f"an abstract composition of flowing, swirling lines in soft {palette} colours"
        words = [self._light()] + ([self.season] if self.season else []) + [self._subject()]
        phrase = " ".join(word for word in words if word)
        if self.time_of_day != "day":
            phrase += " at " + self.time_of_day
        if "mountains" in self.terrain and self._subject() != "mountain landscape":
            snowy = "snowy " if self.season == "winter" or self.weather == "snow" else ""
            phrase += f" beneath {snowy}mountains"
        if "hills" in self.terrain and self._subject() not in ("hills", "mountain landscape"):
            phrase += " among rolling hills"
        extras = self._details()
        if extras:
            phrase += ", with " + _join(extras)
        if self._subject() in _PLURAL_SUBJECTS:
            return phrase  # "summer hills at dawn": a plural takes no article
        article = "an" if phrase[0] in "aeiou" else "a"
        return f"{article} {phrase}"

    @property
    def prompt(self) -> str:
        """A text-to-image prompt of the scene; the engine appends its own style words."""
        if self.abstract:
            palette = " ".join(
                word for word in (self.season, _LIGHT_NAMES[self.time_of_day]) if word
            )
            return f"abstract flowing lines, swirling colour fields, {palette} palette, serene"
        parts = [" ".join(w for w in (self._light(), self._subject()) if w)]
        if self.time_of_day != "day":
            parts.append(f"at {self.time_of_day}")
        if self.season:
            parts.append(self.season)
        for terrain in self.terrain:
            if terrain == "mountains" and self._subject() != "mountain landscape":
                parts.append("distant mountains")
            elif terrain == "hills" and self._subject() != "hills":
                parts.append("rolling hills")
        parts += self._details()
        parts.append("serene landscape")
        return ", ".join(parts)

    def _light(self) -> str:
        if "moon" in self.celestial:
            return "moonlit"
        if "stars" in self.celestial and self.time_of_day == "night":
            return "starlit"
        if self.weather == "mist":
            return "misty"
        if self.weather == "rain":
            return "rainy"
        if "sun" in self.celestial and self.time_of_day == "day":
            return "sunlit"
        return ""

    def _subject(self) -> str:
        for terrain, subject in (
            ("sea", "seashore"),
            ("river", "river valley"),
            ("lake", "lakeside"),
            ("field", "meadow"),
            ("hills", "hills"),
            ("mountains", "mountain landscape"),
        ):
            if terrain in self.terrain:
                return subject
        return "landscape"

    def _details(self) -> list[str]:
        names = {
            "pines": "pine trees",
            "bare trees": "bare trees",
            "blossoms": "cherry blossoms",
            "maples": "red maple leaves",
            "trees": "trees",
            "grass": "tall grass",
            "flowers": "wildflowers",
            "birds": "birds in flight",
            "fireflies": "fireflies",
            "butterflies": "butterflies",
        }
        details = [names[item] for item in self.flora + self.fauna]
        if "sun" in self.celestial and self.time_of_day in ("dawn", "dusk"):
            details.append("a low sun" if self.time_of_day == "dusk" else "a rising sun")
        if "stars" in self.celestial and self._light() != "starlit":
            details.append("stars")
        weather = {"rain": "falling rain", "snow": "falling snow", "mist": "drifting mist"}
        if self.weather in weather and self._light() not in ("misty", "rainy"):
            details.append(weather[self.weather])
        return details


# Common English words that name nothing to paint, for poems written outside the word bank
# (an LLM's): pronouns, auxiliaries, conjunctions, quantifiers and everyday verbs.
_PLAIN_WORDS = frozenset(
    _WORD.findall(
        """
    a an the this that these those there here it its i me my we our you your he she him her
    they them their who what which when where why how and or but nor so yet if as than then
    is are was were be been being am do does did has have had will would can could shall
    should may might must not no yes all some any each every many much more most few less
    one two three four five six seven eight nine ten first last only just still again ever
    never always once too very also even now soon long away back into onto upon with without
    within about around between among toward towards until till while before after since
    of in on at by for from to up down out off over under above below beside through across
    along past near far behind beyond beneath against like my mine ours yours nothing
    something everything someone no one none own same other another such
    """
    )
)
# Everyday verbs (their "-s" forms too), which a poem uses and which name nothing to draw.
_PLAIN_VERBS = frozenset(
    _WORD.findall(
        """
    be go come wait sit stand lie rest sleep wake fall rise sing cry call weep laugh know
    think feel hear see look watch seem remain stay turn return move stir keep hold let
    leave find lose give take make break open close begin end die live grow fade hide
    show shine glow burn fly run walk drift flow pass follow carry bring touch listen speak
    say tell ask answer dream remember forget wander linger sway tremble whisper sigh
    """
    )
)
# Endings of verbs and adverbs ("drifting", "cracked", "slowly"), which name no subject.
_NOT_NOUN_ENDINGS = ("ing", "ed", "ly")


@functools.cache
def _known_words() -> frozenset[str]:
    """Every word the word bank can write and every word the scene vocabulary reads."""
    words: set[str] = set(_LEXICON) | set(_KEYWORD_OF) | _PLAIN_WORDS | _PLAIN_VERBS
    words |= {verb + "s" for verb in _PLAIN_VERBS} | {verb + "es" for verb in _PLAIN_VERBS}

    def walk(value: object) -> None:
        if isinstance(value, str):
            words.update(_WORD.findall(value.lower()))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                walk(getattr(value, field.name))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, tuple | list | set | frozenset):
            for item in value:
                walk(item)

    walk((wordbank.IMAGES, wordbank.PLACES, wordbank.TIME_WORDS, wordbank.SEASONS))
    return frozenset(words)


def unpainted_words(text: str) -> tuple[str, ...]:
    """Words of `text` that may name a subject the painter has no motif for, each once.

    A heuristic, not a parser: a word counts when neither the word bank nor the scene
    vocabulary knows it, it is not a plain function word, and it does not end like a verb or
    an adverb. So an LLM's "teacup" or "kettle" is reported, never silently dropped.
    """
    known = _known_words()
    found: list[str] = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 3 or word in known or _singular(word) in known:
            continue
        if word.endswith(_NOT_NOUN_ENDINGS) or (word.endswith("s") and word[:-1] in known):
            continue
        found.append(word)
    return tuple(dict.fromkeys(found))


def scene_from_poem(poem: Poem) -> Scene:
    """Parse a poem's imagery and text into the scene a painter should show."""
    found: dict[str, list[str]] = {}
    words: list[str] = []
    for item in poem.imagery:
        # Imagery may hold this module's own values ("bare trees"): keep those whole.
        whole = item.lower().strip()
        words += [whole] if whole in _CANONICAL else _WORD.findall(whole)
    words += _WORD.findall(poem.text.lower())
    for word in words:
        if word in _CANONICAL:
            facet, value = _CANONICAL[word]
            found.setdefault(facet, []).append(value)
            continue
        key = _singular(word.lower().strip())
        if key in _SUN_TIMES:
            found.setdefault("celestial", []).append("sun")
        if key == "leaf":
            # Leaves alone are ambiguous; resolved against the season once it is known.
            found.setdefault("leaves", []).append(key)
            continue
        if key in _LEXICON:
            facet, value = _LEXICON[key]
            found.setdefault(facet, []).append(value)

    flora = set(found.get("flora", []))
    fauna = set(found.get("fauna", []))
    celestial = set(found.get("celestial", []))
    terrain = set(found.get("terrain", []))
    weathers = set(found.get("weather", []))

    season = poem.season if poem.season in SEASONS else None
    if season is None and found.get("season"):
        season = found["season"][0]
    if season is None:
        for hint, hinted in _SEASON_HINTS.items():
            if hint in flora | fauna | weathers:
                season = hinted
                break
    if "leaves" in found:
        flora.add(_SEASON_FLORA.get(season or "", "trees"))

    weather = next((w for w in ("snow", "rain", "mist") if w in weathers), "clear")

    if found.get("time"):
        time_of_day = found["time"][0]
    elif "moon" in celestial or "stars" in celestial or "fireflies" in fauna:
        time_of_day = "night"
    else:
        time_of_day = "day"
    if time_of_day == "night" and "sun" in celestial:
        celestial.discard("sun")

    concrete = celestial | terrain | flora | fauna | weathers
    return Scene(
        time_of_day=time_of_day,
        season=season,
        weather=weather,
        celestial=_ordered(celestial, CELESTIALS),
        terrain=_ordered(terrain, TERRAINS),
        flora=_ordered(flora, FLORAS),
        fauna=_ordered(fauna, FAUNAS),
        abstract=not concrete,
        subjects=subjects_in(" ".join((*poem.imagery, poem.text))),
        unknown=unpainted_words(poem.text),
    )
