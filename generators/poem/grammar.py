"""The offline poem writer: haiku built from Kavi's word bank and a few templates with a turn.

Each poem pairs two images across a cut (a dash or an ellipsis), in one of three shapes:

- scene:  a time of the season / an image doing something somewhere — / a closing image
- image:  an image doing something / somewhere, perhaps when — / a closing image
- kigo:   a seasonal image — / another doing something somewhere / a time of day

Lines are assembled from slots (noun phrase, participle and preposition, place...) whose
fillers have their syllables counted by `generators.poem.syllables`; a bounded search picks
fillers that add up to 5, 7 and 5, never repeating a content word.

Which pair of images opens and closes a poem is not left to chance: the pairs are listed
once, and a seed picks `pairs[(seed * step + offset) % len(pairs)]` with `step` coprime to
the length, so any run of `len(pairs)` (over 365) consecutive seeds opens and closes on
different pairs, and so writes different poems.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from generators.errors import GenerationError
from generators.poem.base import Poem
from generators.poem.syllables import HAIKU_PATTERN, count_line, haiku_problems
from generators.poem.wordbank import (
    IMAGES,
    PLACES,
    SEASONS,
    TIME_TAGS,
    TIME_WORDS,
    TURNS,
    Action,
    Image,
    Modifier,
    Place,
)

# Words that carry no image or feeling; repeating them within a poem is fine.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "one",
        "in",
        "on",
        "into",
        "over",
        "across",
        "by",
        "beside",
        "from",
        "beneath",
        "above",
        "behind",
        "beyond",
        "under",
        "along",
        "at",
        "of",
        "all",
        "through",
        "up",
        "off",
        "out",
        "down",
    ]
)
_WORD = re.compile(r"[a-z]+")
# Determiners before a season-and-time phrase ("" for none: "cold winter dawn").
_DETERMINERS = ("", "a", "this", "one")
# Steps for walking the pair list; the first coprime with its length is used.
_STEPS = (7919, 7907, 7901, 7883, 7879)
# How many places (or companions) one plan tries before moving to the next plan.
_TRIES_PER_PLAN = 12
# Fresh draws of the same pair before the writer gives up on a seed.
_RESEEDS = 4


@dataclass(frozen=True)
class _Fragment:
    """A piece of a line: its text, syllables, content words and grammatical number."""

    text: str
    syllables: int
    words: frozenset[str]
    # "one" or "many": a noun phrase provides it, a finite verb requires it; None for neither.
    number: str | None = None


@dataclass(frozen=True)
class _Plan:
    """One way to write a poem for a pair of images: a shape, a season and a time of day."""

    shape: str
    season: str
    time: str


@dataclass(frozen=True)
class _Pair:
    """The images that open and close a poem, and the plans that can join them."""

    first: str
    last: str
    plans: tuple[_Plan, ...]


class GrammarPoemWriter:
    """Writes haiku from the curated word bank, deterministically for a seed."""

    name = "grammar"

    def write(self, *, seed: int) -> Poem:
        """Write the haiku for `seed`: three lines checked 5-7-5, with imagery and season."""
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"`seed` must be an int, got {seed!r}")
        bank = _bank()
        pair = bank.pairs[(seed * bank.step + bank.offset) % len(bank.pairs)]
        attempts = 0
        # Now and then a seed's random draws leave no draft that fits (seed 19113 did); the
        # same pair with freshly seeded draws almost always does, so try those too.
        for retry in range(_RESEEDS):
            rng = random.Random(seed if retry == 0 else f"{seed}:{retry}")
            plans = rng.sample(pair.plans, len(pair.plans))
            for plan in plans:
                for lines, used_images in _drafts(bank, pair, plan, rng):
                    attempts += 1
                    poem = _finish(bank, pair, plan, lines, used_images)
                    if poem is not None:
                        return poem
        raise GenerationError(
            f"the grammar writer could not fit a 5-7-5 haiku for seed {seed} "
            f"({pair.first} ... {pair.last}) in {_RESEEDS} draws of {len(pair.plans)} plans "
            f"and {attempts} drafts; the word bank lacks phrases of the right lengths"
        )


class _Bank:
    """The word bank indexed for writing: images and places by keyword, and the pair list."""

    def __init__(self) -> None:
        self.images = {image.keyword: image for image in IMAGES}
        self.places = {place.keyword: place for place in PLACES}
        self.keyword_of = _keyword_tokens()
        # Noun texts that may open a poem (their first keyword is the image's own) or close it.
        self.opening_nouns = {
            image.keyword: tuple(n for n in image.nouns if self.scan(n.text)[:1] == [image.keyword])
            for image in IMAGES
        }
        self.closing_nouns = {
            image.keyword: tuple(
                n for n in image.nouns if self.scan(n.text)[-1:] == [image.keyword]
            )
            for image in IMAGES
        }
        self.pairs = self._pairs()
        if len(self.pairs) < 365:
            raise GenerationError(
                f"the word bank yields only {len(self.pairs)} image pairs; a year needs 365"
            )
        self.step = next(step for step in _STEPS if math.gcd(step, len(self.pairs)) == 1)
        self.offset = len(self.pairs) // 3

    def scan(self, text: str) -> list[str]:
        """The image keywords `text` names, in order (with repeats)."""
        words = _WORD.findall(text.lower())
        return [self.keyword_of[word] for word in words if word in self.keyword_of]

    def places_for(self, action: Action, season: str, exclude: frozenset[str]) -> list[Place]:
        """Places where `action` makes sense in `season`, other than the excluded keywords."""
        return [
            place
            for place in PLACES
            if season in place.seasons
            and place.keyword not in exclude
            and _prepositions(action, place)
        ]

    def can_act(self, image: Image, season: str, time: str, exclude: frozenset[str]) -> bool:
        """Whether `image` can be the subject of a scene line at some place."""
        return _fits(image.seasons, image.times, season, time) and any(
            self.places_for(action, season, exclude | {image.keyword})
            for action in _actions(image, season, time)
        )

    def can_close(self, image: Image, season: str, time: str) -> bool:
        """Whether `image` can be the subject of the closing clause."""
        return (
            _fits(image.seasons, image.times, season, time)
            and bool(self.closing_nouns[image.keyword])
            and any(_fits(verb.seasons, verb.times, season, time) for verb in image.verbs)
        )

    def _pairs(self) -> tuple[_Pair, ...]:
        plans: dict[tuple[str, str], list[_Plan]] = {}
        for season, time in itertools.product(SEASONS, TIME_TAGS):
            for first in IMAGES:
                if not self.opening_nouns[first.keyword]:
                    continue
                if not _fits(first.seasons, first.times, season, time):
                    continue
                # Images the opening names ("plum blossoms" names the blossom too).
                named = {
                    k for noun in self.opening_nouns[first.keyword] for k in self.scan(noun.text)
                }
                # The shapes without a season line need the season named by an image.
                seasonal = first.is_kigo or first.season_name
                if self.can_act(first, season, time, frozenset()):
                    for last in IMAGES:
                        if last.keyword in named or not self.can_close(last, season, time):
                            continue
                        shapes = ["scene"]
                        if seasonal or last.is_kigo:
                            shapes.append("image")
                        for shape in shapes:
                            plans.setdefault((first.keyword, last.keyword), []).append(
                                _Plan(shape, season, time)
                            )
                if not seasonal:
                    continue
                for place in PLACES:
                    if place.keyword == first.keyword or season not in place.seasons:
                        continue
                    exclude = frozenset({first.keyword, place.keyword})
                    if any(
                        companion.keyword not in exclude
                        and self.can_act(companion, season, time, exclude)
                        and any(_prepositions(a, place) for a in _actions(companion, season, time))
                        for companion in IMAGES
                    ):
                        key = (first.keyword, place.keyword)
                        plans.setdefault(key, []).append(_Plan("kigo", season, time))
        return tuple(
            _Pair(first, last, tuple(found)) for (first, last), found in sorted(plans.items())
        )


@functools.cache
def _bank() -> _Bank:
    return _Bank()


def _drafts(
    bank: _Bank, pair: _Pair, plan: _Plan, rng: random.Random
) -> Iterator[tuple[list[str], list[str]]]:
    """Draft poems for one plan: three lines (turn marks included) and the images they use."""
    season, time = plan.season, plan.time
    first = bank.images[pair.first]
    if plan.shape == "kigo":
        yield from _kigo_drafts(bank, first, bank.places[pair.last], season, time, rng)
        return
    last = bank.images[pair.last]
    closing = _clause_slots(bank, last, season, time)
    pairs = [
        (action, place)
        for action in _actions(first, season, time)
        for place in bank.places_for(action, season, frozenset({first.keyword, last.keyword}))
    ]
    rng.shuffle(pairs)
    seasonal = first.is_kigo or last.is_kigo
    for action, place in pairs[:_TRIES_PER_PLAN]:
        if plan.shape == "scene":
            slots = [[_fragment(d) for d in _DETERMINERS], _time_phrases(season, time)]
            middle = [
                _noun_phrases(bank, first, season, time, opening=True),
                [_fragment(f"{action.ing} {prep}") for prep in _prepositions(action, place)],
                _place_phrases(place, season),
            ]
            plan_slots = [slots, middle, closing]
        else:
            opening = _noun_phrases(
                bank, first, season, time, opening=True, name_season=not seasonal
            )
            middle = [
                [_fragment(prep) for prep in _prepositions(action, place)],
                _place_phrases(place, season),
                [_fragment("")] + _time_tails(time, season, with_adjectives=False),
            ]
            plan_slots = [[opening, [_fragment(action.ing)]], middle, closing]
        lines = _solve_lines(plan_slots, rng)
        if lines is not None:
            lines[1] += rng.choice(TURNS)
            yield lines, [first.keyword, place.keyword, last.keyword]


def _kigo_drafts(
    bank: _Bank, first: Image, place: Place, season: str, time: str, rng: random.Random
) -> Iterator[tuple[list[str], list[str]]]:
    """Drafts of the kigo shape: a seasonal image, a companion at `place`, a time of day."""
    exclude = frozenset({first.keyword, place.keyword})
    companions = [
        image
        for image in IMAGES
        if image.keyword not in exclude and bank.can_act(image, season, time, exclude)
    ]
    rng.shuffle(companions)
    opening = _kigo_openings(bank, first, season, time)
    for companion in companions[:_TRIES_PER_PLAN]:
        acts = [
            _fragment(f"{action.ing} {prep}")
            for action in _actions(companion, season, time)
            for prep in _prepositions(action, place)
        ]
        if not acts:
            continue
        plan_slots = [
            [opening],
            [_noun_phrases(bank, companion, season, time), acts, _place_phrases(place, season)],
            [_time_tails(time, season, with_adjectives=True)],
        ]
        lines = _solve_lines(plan_slots, rng)
        if lines is not None:
            lines[0] += rng.choice(TURNS)
            yield lines, [first.keyword, companion.keyword, place.keyword]


def _kigo_openings(bank: _Bank, image: Image, season: str, time: str) -> list[_Fragment]:
    """Opening lines that name a seasonal image: "the pale autumn moon", "the first snow
    of winter", "cicadas droning"."""
    phrases = _noun_phrases(bank, image, season, time, opening=True)
    tails = [_fragment(""), _fragment(f"of {season}")]
    tails += [_fragment(action.ing) for action in _actions(image, season, time)]
    openings = []
    for phrase, tail in itertools.product(phrases, tails):
        if phrase.words & tail.words:
            continue
        # "of winter" follows only a definite phrase: "the first snow of winter", not "a snow of".
        if tail.text.startswith("of ") and not phrase.text.startswith("the "):
            continue
        words = phrase.words | tail.words
        if image.is_kigo or season in words:
            openings.append(_fragment(f"{phrase.text} {tail.text}".strip(), phrase.number))
    return openings


def _finish(
    bank: _Bank, pair: _Pair, plan: _Plan, lines: list[str], used_images: list[str]
) -> Poem | None:
    """Check a draft and make it a Poem; None when it fails a check (the caller tries again)."""
    # "a" becomes "an" before a vowel only now, when the next word is known; both are one syllable.
    lines = [re.sub(r"\ba (?=[aeiou])", "an ", line) for line in lines]
    if haiku_problems(lines):
        return None
    named = bank.scan(" ".join(lines))
    # The first and last images named are what keep a year of seeds distinct (see module doc).
    if not named or named[0] != pair.first or named[-1] != pair.last:
        return None
    imagery = tuple(dict.fromkeys(named))
    if not set(used_images) <= set(imagery):
        return None
    return Poem(
        lines=(lines[0], lines[1], lines[2]),
        engine=GrammarPoemWriter.name,
        imagery=imagery,
        season=plan.season,
    )


def _solve_lines(
    plan_slots: Sequence[Sequence[Sequence[_Fragment]]], rng: random.Random
) -> list[str] | None:
    """Fill each line's slots to its 5, 7 or 5 syllables, no content word used twice."""
    used: frozenset[str] = frozenset()
    lines = []
    for slots, target in zip(plan_slots, HAIKU_PATTERN, strict=True):
        found = _solve(slots, target, used, rng)
        if found is None:
            return None
        lines.append(" ".join(piece.text for piece in found if piece.text))
        used = used.union(*(piece.words for piece in found))
    return lines


def _solve(
    slots: Sequence[Sequence[_Fragment]], target: int, used: frozenset[str], rng: random.Random
) -> list[_Fragment] | None:
    """Pick one fragment per slot adding up to `target` syllables, or None when none do."""
    orders = [rng.sample(list(slot), len(slot)) for slot in slots]
    # Fewest and most syllables the remaining slots can add, to prune hopeless branches.
    least = [0] * (len(orders) + 1)
    most = [0] * (len(orders) + 1)
    for index in range(len(orders) - 1, -1, -1):
        counts = [piece.syllables for piece in orders[index]] or [0]
        least[index] = least[index + 1] + min(counts)
        most[index] = most[index + 1] + max(counts)

    chosen: list[_Fragment] = []

    def walk(index: int, total: int, words: frozenset[str], number: str | None) -> bool:
        if index == len(orders):
            return total == target
        if not least[index] <= target - total <= most[index]:
            return False
        for piece in orders[index]:
            if piece.words & words:
                continue
            if piece.number is not None and number is not None and piece.number != number:
                continue
            chosen.append(piece)
            if walk(
                index + 1, total + piece.syllables, words | piece.words, number or piece.number
            ):
                return True
            chosen.pop()
        return False

    if any(not order for order in orders):
        return None
    return list(chosen) if walk(0, 0, used, None) else None


@functools.cache
def _fragment(text: str, number: str | None = None) -> _Fragment:
    words = frozenset(_WORD.findall(text)) - FUNCTION_WORDS
    return _Fragment(text, count_line(text), words, number)


def _fits(seasons: frozenset[str], times: frozenset[str], season: str, time: str) -> bool:
    return season in seasons and time in times


def _modifiers(modifiers: Sequence[Modifier], season: str, time: str, number: str) -> list[str]:
    return [
        m.text for m in modifiers if _fits(m.seasons, m.times, season, time) and number in m.numbers
    ]


def _actions(image: Image, season: str, time: str) -> list[Action]:
    return [a for a in image.actions if _fits(a.seasons, a.times, season, time)]


def _prepositions(action: Action, place: Place) -> tuple[str, ...]:
    """The prepositions joining `action` to `place`; empty when the two do not go together."""
    if place.kind not in action.kinds:
        return ()
    preps = place.preps.get(action.relation, ())
    return tuple(p for p in preps if p in action.preps) if action.preps else preps


def _noun_phrases(
    bank: _Bank,
    image: Image,
    season: str,
    time: str,
    *,
    opening: bool = False,
    name_season: bool = False,
) -> list[_Fragment]:
    """Noun phrases for `image`: "a lone crow", "the autumn moon" (always so if `name_season`)."""
    if name_season and not image.season_name:
        return []
    nouns = bank.opening_nouns[image.keyword] if opening else image.nouns
    phrases = []
    for noun in nouns:
        adjectives = ["", *_modifiers(image.adjectives, season, time, noun.number)]
        names = [season] if name_season else (["", season] if image.season_name else [""])
        number = _agreement(noun.number)
        for det, adjective, name in itertools.product(noun.articles(), adjectives, names):
            text = " ".join(word for word in (det, adjective, name, noun.text) if word)
            phrases.append(_fragment(text, number))
    return phrases


def _clause_slots(bank: _Bank, image: Image, season: str, time: str) -> list[list[_Fragment]]:
    """Slots of a closing clause: a noun phrase, then a verb (agreeing) and its tail."""
    subjects = [
        _fragment(" ".join(w for w in (det, adjective, noun.text) if w), _agreement(noun.number))
        for noun in bank.closing_nouns[image.keyword]
        for det in noun.articles()
        for adjective in ["", *_modifiers(image.adjectives, season, time, noun.number)]
    ]
    predicates = [
        _fragment(f"{form} {tail}".strip(), number)
        for verb in image.verbs
        if _fits(verb.seasons, verb.times, season, time)
        for number, form in (("one", verb.one), ("many", verb.many))
        for tail in verb.tails
    ]
    return [subjects, predicates]


def _agreement(number: str) -> str:
    return "many" if number == "many" else "one"


def _place_phrases(place: Place, season: str) -> list[_Fragment]:
    adjectives = ["", *(m.text for m in place.adjectives if season in m.seasons)]
    return [
        _fragment(" ".join(w for w in ("the", adjective, noun) if w))
        for noun in place.nouns
        for adjective in adjectives
    ]


def _time_phrases(season: str, time: str) -> list[_Fragment]:
    """Season-and-time phrases to follow a determiner: "long autumn night", "spring dawn"."""
    return [
        _fragment(" ".join(w for w in (adjective, season, word.text) if w))
        for word in TIME_WORDS
        if time in word.tags
        for adjective in ["", *_modifiers(word.adjectives, season, time, "one")]
    ]


def _time_tails(time: str, season: str, *, with_adjectives: bool) -> list[_Fragment]:
    """Closing time phrases: "at dusk", "all through the long night"."""
    tails = []
    for word in TIME_WORDS:
        if time not in word.tags:
            continue
        for lead in word.leads:
            adjectives = [""]
            if with_adjectives and lead.endswith("the"):
                adjectives += _modifiers(word.adjectives, season, time, "one")
            for adjective in adjectives:
                if adjective in lead.split():
                    continue  # not "deep in the deep night"
                tails.append(_fragment(" ".join(w for w in (lead, adjective, word.text) if w)))
    return tails


def _keyword_tokens() -> dict[str, str]:
    """Map each word that names an image ("crows", "fireflies", "temple") to its keyword."""
    found: dict[str, str] = {}
    named = [(image.keyword, [noun.text for noun in image.nouns]) for image in IMAGES]
    named += [(place.keyword, list(place.nouns)) for place in PLACES]
    for keyword, texts in named:
        forms = {keyword, keyword + "s", keyword + "es", keyword[:-1] + "ies"}
        for text in texts:
            for word in text.split():
                if word in forms:
                    found[word] = keyword
    return found
