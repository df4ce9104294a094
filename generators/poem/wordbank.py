"""Kavi's own word bank for haiku: seasons, times of day, images, what they do, and places.

Every entry carries the seasons and times of day it belongs to, so a poem never has
fireflies at noon or frogs in the snow. Images name one keyword each (the word the painter
paints); the keyword, or its plural, is always a word of the image's nouns. Words are
chosen to have a single dictionary pronunciation, so 5-7-5 holds however a reader says
them (tests/generators/test_grammar.py checks this).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

SEASONS: tuple[str, ...] = ("spring", "summer", "autumn", "winter")
# When in the day a poem is set; each image and time word names those it suits.
TIME_TAGS: tuple[str, ...] = ("dawn", "day", "dusk", "night")
# The cut between two images: mostly a dash, sometimes a trailing ellipsis.
TURNS: tuple[str, ...] = (" —", " —", " —", "...")

Number = Literal["one", "many", "mass"]


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


ANY_SEASON = frozenset(SEASONS)
ANY_TIME = frozenset(TIME_TAGS)
LIGHT = _tags("dawn day dusk")
DARK = _tags("dusk night")
WARM = _tags("spring summer")
COLD = _tags("autumn winter")


@dataclass(frozen=True)
class Modifier:
    """An adjective and when it fits ("frozen" only in winter, "evening" only at dusk)."""

    text: str
    seasons: frozenset[str] = ANY_SEASON
    times: frozenset[str] = ANY_TIME
    # "lone" suits "a lone crow" but not "lone crows".
    numbers: frozenset[str] = frozenset({"one", "many", "mass"})


@dataclass(frozen=True)
class Noun:
    """A way to name an image, with its grammatical number and the determiners it takes."""

    text: str
    number: Number
    determiners: tuple[str, ...] = ()

    def articles(self) -> tuple[str, ...]:
        """The determiners this noun takes ("" for none): explicit, or the usual for its number."""
        if self.determiners:
            return self.determiners
        return {"one": ("a", "the", "one"), "many": ("", "the"), "mass": ("", "the")}[self.number]


@dataclass(frozen=True)
class Action:
    """Something an image is doing, as a participle, and where: `relation` picks the preposition.

    Relations: "down" (falling onto), "over" (above or across), "at" (staying by or in),
    "in" (within water), "perch" (a bird alighting), "from" (a sound or smoke coming from),
    "surface" (on water), "behind" (sinking behind).
    """

    ing: str
    relation: str
    seasons: frozenset[str] = ANY_SEASON
    times: frozenset[str] = ANY_TIME
    # Place kinds ("water", "land", "tree", "building") this action makes sense at.
    kinds: frozenset[str] = frozenset({"water", "land", "tree", "building"})
    # Narrows the place's prepositions for the relation ("sighing" only "in" a pine).
    preps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verb:
    """A finite verb for the closing image, in both numbers, with tails that may follow it."""

    one: str
    many: str
    tails: tuple[str, ...] = ("",)
    seasons: frozenset[str] = ANY_SEASON
    times: frozenset[str] = ANY_TIME


@dataclass(frozen=True)
class Image:
    """A concrete thing a haiku can show: a bird, the moon, rain, a bell."""

    keyword: str
    nouns: tuple[Noun, ...]
    seasons: frozenset[str] = ANY_SEASON
    times: frozenset[str] = ANY_TIME
    adjectives: tuple[Modifier, ...] = ()
    actions: tuple[Action, ...] = ()
    verbs: tuple[Verb, ...] = ()
    # Whether the season's own name may stand before the noun ("the autumn moon", "spring rain").
    season_name: bool = False

    @property
    def is_kigo(self) -> bool:
        """Whether naming this image alone tells the reader the season."""
        return len(self.seasons) <= 2


@dataclass(frozen=True)
class Place:
    """Where an image is: a noun phrase after "the", and prepositions for each relation."""

    keyword: str
    nouns: tuple[str, ...]
    kind: Literal["water", "land", "tree", "building"]
    preps: Mapping[str, tuple[str, ...]]
    adjectives: tuple[Modifier, ...] = ()
    seasons: frozenset[str] = ANY_SEASON


@dataclass(frozen=True)
class TimeWord:
    """A time of day ("dusk", "the long night") and the phrases that can lead into it."""

    text: str
    tags: frozenset[str]
    adjectives: tuple[Modifier, ...] = ()
    # Leads for a closing time phrase; one ending in "the" may take an adjective.
    leads: tuple[str, ...] = field(default=("in the",))


def _m(text: str, seasons: str = "", times: str = "", one_only: bool = False) -> Modifier:
    return Modifier(
        text,
        _tags(seasons) if seasons else ANY_SEASON,
        _tags(times) if times else ANY_TIME,
        frozenset({"one"}) if one_only else frozenset({"one", "many", "mass"}),
    )


def _a(
    ing: str, relation: str, *, seasons: str = "", times: str = "", kinds: str = "", preps: str = ""
) -> Action:
    return Action(
        ing,
        relation,
        _tags(seasons) if seasons else ANY_SEASON,
        _tags(times) if times else ANY_TIME,
        _tags(kinds) if kinds else frozenset({"water", "land", "tree", "building"}),
        tuple(preps.split()),
    )


def _v(one: str, many: str, tails: str = "", *, seasons: str = "", times: str = "") -> Verb:
    # Tails are comma-separated so that they may hold spaces ("one by one").
    return Verb(
        one,
        many,
        ("",) + tuple(tail.strip() for tail in tails.split(",") if tail.strip()),
        _tags(seasons) if seasons else ANY_SEASON,
        _tags(times) if times else ANY_TIME,
    )


_BIRD_PERCHES = "tree building land"

IMAGES: tuple[Image, ...] = (
    # --- birds -----------------------------------------------------------------------
    Image(
        "crow",
        (Noun("crow", "one"), Noun("crows", "many")),
        times=LIGHT,
        adjectives=(_m("black"), _m("lone", one_only=True), _m("old", one_only=True)),
        actions=(
            _a("calling", "from"),
            _a("cawing", "from"),
            _a("resting", "perch"),
            _a("flying", "over"),
            _a("landing", "perch"),
            _a("waiting", "perch"),
        ),
        verbs=(
            _v("calls", "call", "once, again, twice, out"),
            _v("flies off", "fly off"),
            _v("settles", "settle"),
        ),
    ),
    Image(
        "heron",
        (Noun("heron", "one"), Noun("herons", "many")),
        seasons=_tags("spring summer autumn"),
        times=LIGHT,
        adjectives=(_m("grey"), _m("white"), _m("lone", one_only=True)),
        actions=(
            _a("wading", "in"),
            _a("standing", "in"),
            _a("fishing", "in"),
            _a("waiting", "at", kinds="water"),
            _a("flying", "over"),
        ),
        verbs=(_v("takes flight", "take flight"), _v("flies off", "fly off")),
    ),
    Image(
        "geese",
        (Noun("geese", "many"),),
        seasons=COLD,
        adjectives=(_m("wild"), _m("grey")),
        actions=(
            _a("flying", "over"),
            _a("calling", "over"),
            _a("crying", "over"),
            _a("resting", "at", kinds="water"),
        ),
        verbs=(
            _v("cries", "cry", "out, overhead"),
            _v("passes", "pass", "overhead"),
            _v("flies south", "fly south"),
        ),
    ),
    Image(
        "sparrow",
        (Noun("sparrow", "one"), Noun("sparrows", "many")),
        times=LIGHT,
        adjectives=(_m("small"), _m("brown"), _m("little")),
        actions=(
            _a("hopping", "perch"),
            _a("chirping", "from"),
            _a("huddled", "perch", seasons="winter"),
        ),
        verbs=(_v("chirps", "chirp", "again, once"), _v("flies off", "fly off")),
    ),
    Image(
        "swallow",
        (Noun("swallow", "one"), Noun("swallows", "many")),
        seasons=WARM,
        times=_tags("dawn day"),
        actions=(_a("darting", "over"), _a("skimming", "over", kinds="water land")),
        verbs=(_v("darts past", "dart past"),),
    ),
    Image(
        "cuckoo",
        (Noun("cuckoo", "one"),),
        seasons=_tags("summer"),
        adjectives=(_m("distant", one_only=True), _m("lone", one_only=True)),
        actions=(_a("calling", "from", kinds=_BIRD_PERCHES), _a("singing", "from")),
        verbs=(_v("calls", "call", "once, again, twice, out"),),
    ),
    Image(
        "owl",
        (Noun("owl", "one"),),
        seasons=COLD,
        times=DARK,
        adjectives=(_m("grey"), _m("white"), _m("old")),
        actions=(
            _a("calling", "from", kinds=_BIRD_PERCHES),
            _a("waiting", "perch"),
            _a("watching", "perch"),
            _a("gliding", "over"),
        ),
        verbs=(_v("calls", "call", "once, again, twice"),),
    ),
    # --- small creatures --------------------------------------------------------------
    Image(
        "frog",
        (Noun("frog", "one"), Noun("frogs", "many")),
        seasons=WARM,
        adjectives=(_m("small"), _m("green"), _m("little")),
        actions=(
            _a("croaking", "at", kinds="water land"),
            _a("calling", "at", kinds="water land"),
            _a("singing", "at", kinds="water land"),
            _a("sitting", "at", kinds="water land"),
        ),
        verbs=(_v("croaks", "croak", "once, again"), _v("falls silent", "fall silent")),
    ),
    Image(
        "cicada",
        (Noun("cicada", "one"), Noun("cicadas", "many")),
        seasons=_tags("summer"),
        times=_tags("day dusk"),
        actions=(
            _a("singing", "at", kinds="tree"),
            _a("droning", "at", kinds="tree"),
            _a("crying", "at", kinds="tree"),
        ),
        verbs=(
            _v("drones on", "drone on"),
            _v("falls silent", "fall silent"),
            _v("cries", "cry", "on, out"),
        ),
    ),
    Image(
        "firefly",
        (Noun("firefly", "one"), Noun("fireflies", "many")),
        seasons=_tags("summer"),
        times=DARK,
        adjectives=(_m("small"), _m("lone", one_only=True)),
        actions=(
            _a("drifting", "over"),
            _a("glowing", "over"),
            _a("blinking", "over"),
            _a("wandering", "over"),
            _a("glowing", "at"),
        ),
        verbs=(_v("drifts by", "drift by"), _v("glows", "glow", "again, faintly")),
    ),
    Image(
        "cricket",
        (Noun("cricket", "one"), Noun("crickets", "many")),
        seasons=_tags("autumn"),
        times=DARK,
        adjectives=(_m("small"), _m("lone", one_only=True)),
        actions=(
            _a("singing", "at", kinds="land building"),
            _a("chirping", "at", kinds="land building"),
            _a("calling", "at", kinds="land building"),
        ),
        verbs=(_v("sings", "sing", "on, again"), _v("falls silent", "fall silent")),
    ),
    Image(
        "butterfly",
        (Noun("butterfly", "one"), Noun("butterflies", "many")),
        seasons=WARM,
        times=_tags("day"),
        adjectives=(_m("white"), _m("small"), _m("yellow")),
        actions=(
            _a("drifting", "over"),
            _a("dancing", "over"),
            _a("resting", "perch"),
            _a("fluttering", "over"),
        ),
        verbs=(_v("drifts by", "drift by"), _v("flutters off", "flutter off")),
    ),
    Image(
        "deer",
        (Noun("deer", "one", ("a", "the", "one")),),
        seasons=_tags("autumn"),
        times=_tags("dawn dusk night"),
        adjectives=(_m("young"), _m("lone", one_only=True)),
        actions=(
            _a("calling", "from", kinds="land"),
            _a("grazing", "at", kinds="land water"),
            _a("standing", "at", kinds="land water"),
        ),
        verbs=(_v("calls", "call", "once, again, out"),),
    ),
    # --- plants -----------------------------------------------------------------------
    Image(
        "blossom",
        (Noun("cherry blossoms", "many"), Noun("blossoms", "many")),
        seasons=_tags("spring"),
        adjectives=(_m("white"), _m("pale"), _m("first"), _m("late")),
        actions=(
            _a("falling", "down"),
            _a("drifting", "down"),
            _a("drifting", "over"),
            _a("scattering", "down"),
            _a("blooming", "at", kinds="land building water"),
        ),
        verbs=(
            _v("falls", "fall", "softly, slowly"),
            _v("scatters", "scatter"),
            _v("opens", "open", "at last"),
        ),
    ),
    Image(
        "plum",
        (Noun("plum blossoms", "many"),),
        seasons=_tags("spring"),
        adjectives=(_m("white"), _m("pale"), _m("first"), _m("red")),
        actions=(
            _a("falling", "down"),
            _a("scattering", "down"),
            _a("blooming", "at", kinds="land building"),
        ),
    ),
    Image(
        "leaves",
        (Noun("maple leaves", "many"), Noun("leaves", "many")),
        seasons=_tags("autumn"),
        times=LIGHT,
        adjectives=(_m("red"), _m("last"), _m("yellow"), _m("dry")),
        actions=(
            _a("falling", "down"),
            _a("drifting", "down"),
            _a("scattering", "down"),
            _a("floating", "surface"),
        ),
        verbs=(
            _v("falls", "fall", "slowly, softly, one by one"),
            _v("drifts down", "drift down"),
            _v("scatters", "scatter"),
        ),
    ),
    Image(
        "lotus",
        (Noun("lotus", "one"),),
        seasons=_tags("summer"),
        times=_tags("dawn day"),
        adjectives=(_m("white"), _m("pink")),
        actions=(_a("floating", "surface"), _a("opening", "surface"), _a("blooming", "surface")),
        verbs=(_v("opens", "open", "slowly"),),
    ),
    Image(
        "grass",
        (Noun("grass", "mass"),),
        seasons=_tags("spring summer autumn"),
        adjectives=(_m("tall"), _m("green", "spring summer"), _m("dry", "autumn"), _m("long")),
        actions=(
            _a("swaying", "at", kinds="land water"),
            _a("bending", "at", kinds="land water"),
            _a("rustling", "at", kinds="land water"),
        ),
        verbs=(_v("sways", "sway"), _v("bends", "bend", "low"), _v("rustles", "rustle")),
        season_name=True,
    ),
    Image(
        "willow",
        (Noun("willow", "one"), Noun("willows", "many")),
        adjectives=(_m("old"), _m("green", "spring summer"), _m("bare", "winter")),
        verbs=(_v("sways", "sway", "softly"), _v("bends", "bend", "low")),
    ),
    Image(
        "pine",
        (Noun("pine", "one", ("the", "a", "one")), Noun("pines", "many")),
        adjectives=(_m("old"), _m("tall"), _m("lone", one_only=True), _m("dark")),
        verbs=(_v("sighs", "sigh", "softly, again"), _v("sways", "sway", "slowly")),
    ),
    # --- weather, sky and light --------------------------------------------------------
    Image(
        "rain",
        (Noun("rain", "mass"),),
        adjectives=(
            _m("soft"),
            _m("cold", "autumn winter"),
            _m("warm", "spring summer"),
            _m("fine"),
            _m("steady"),
        ),
        actions=(
            _a("falling", "down"),
            _a("drumming", "down", kinds="building"),
            _a("dripping", "from", kinds="tree building"),
            _a("sweeping", "over", kinds="land water"),
        ),
        verbs=(
            _v("falls", "fall", "softly, again"),
            _v("begins", "begin", "again"),
            _v("stops", "stop", "at last"),
            _v("keeps falling", "keep falling"),
        ),
        season_name=True,
    ),
    Image(
        "snow",
        (Noun("snow", "mass"),),
        seasons=_tags("winter"),
        adjectives=(_m("first"), _m("soft"), _m("new"), _m("light"), _m("deep")),
        actions=(
            _a("falling", "down"),
            _a("drifting", "down"),
            _a("drifting", "over"),
            _a("piling up", "down", kinds="land tree building"),
        ),
        verbs=(
            _v("falls", "fall", "softly, again"),
            _v("deepens", "deepen"),
            _v("keeps falling", "keep falling"),
            _v("begins", "begin", "again"),
        ),
    ),
    Image(
        "frost",
        (Noun("frost", "mass"),),
        seasons=COLD,
        times=_tags("dawn night"),
        adjectives=(_m("white"), _m("first"), _m("hard")),
        actions=(
            _a("gleaming", "down", kinds="land tree building"),
            _a("glittering", "down", kinds="land tree building"),
            _a("spreading", "down", kinds="land water"),
        ),
        verbs=(_v("glitters", "glitter"), _v("deepens", "deepen")),
    ),
    Image(
        "ice",
        (Noun("ice", "mass"),),
        seasons=_tags("winter"),
        adjectives=(_m("thin"), _m("new"), _m("white")),
        actions=(_a("cracking", "surface"), _a("gleaming", "surface"), _a("creaking", "surface")),
        verbs=(_v("cracks", "crack", "again, once"),),
    ),
    Image(
        "mist",
        (Noun("mist", "mass"),),
        adjectives=(_m("thin"), _m("white"), _m("cold", "autumn winter"), _m("grey")),
        actions=(
            _a("rising", "from", kinds="water land", preps="from"),
            _a("drifting", "over"),
            _a("hanging", "over"),
            _a("lifting", "from", kinds="water land", preps="from"),
        ),
        verbs=(
            _v("lifts", "lift", "slowly, at last"),
            _v("rolls in", "roll in"),
            _v("clears", "clear", "at last"),
        ),
        season_name=True,
    ),
    Image(
        "wind",
        (Noun("wind", "mass", ("the",)),),
        adjectives=(
            _m("cold", "autumn winter"),
            _m("warm", "spring summer"),
            _m("soft"),
            _m("first"),
        ),
        actions=(
            _a("sweeping", "over"),
            _a("blowing", "over"),
            _a("sighing", "at", kinds="tree", preps="in"),
        ),
        verbs=(
            _v("rises", "rise", "again"),
            _v("dies down", "die down"),
            _v("turns cold", "turn cold", seasons="autumn winter"),
        ),
        season_name=True,
    ),
    Image(
        "moon",
        (Noun("moon", "one", ("the",)),),
        times=_tags("dawn dusk night"),
        adjectives=(
            _m("pale"),
            _m("full"),
            _m("thin"),
            _m("bright"),
            _m("harvest", "autumn"),
            _m("cold", "autumn winter"),
            _m("hazy", "spring"),
        ),
        actions=(
            _a("rising", "over", times="dusk night"),
            _a("shining", "down", times="night"),
            _a("hanging", "over"),
            _a("setting", "behind", times="dawn night"),
            _a("mirrored", "in"),
        ),
        verbs=(
            _v("rises", "rise", "slowly, at last", times="dusk night"),
            _v("climbs", "climb", "higher, slowly", times="night"),
            _v("hides", "hide", "again"),
            _v("appears", "appear", "at last"),
        ),
        season_name=True,
    ),
    Image(
        "sun",
        (Noun("sun", "one", ("the",)),),
        times=LIGHT,
        adjectives=(
            _m("red"),
            _m("pale", "winter"),
            _m("hot", "summer"),
            _m("low", "autumn winter"),
        ),
        actions=(
            _a("rising", "over", times="dawn"),
            _a("setting", "behind", times="dusk"),
            _a("sinking", "behind", times="dusk"),
            _a("shining", "down", times="day"),
        ),
        verbs=(
            _v("sets", "set", "slowly, at last", times="dusk"),
            _v("rises", "rise", "slowly", times="dawn"),
            _v("breaks through", "break through", times="day"),
            _v("goes down", "go down", times="dusk"),
        ),
        season_name=True,
    ),
    Image(
        "stars",
        (Noun("stars", "many", ("the", "", "a few")),),
        times=_tags("dusk night dawn"),
        adjectives=(
            _m("first", times="dusk"),
            _m("cold", "autumn winter"),
            _m("bright"),
            _m("faint"),
        ),
        actions=(
            _a("shining", "over", times="dusk night"),
            _a("glittering", "over", times="dusk night"),
            _a("fading", "over", times="dawn"),
        ),
        verbs=(
            _v("appears", "appear", "at last, one by one", times="dusk"),
            _v("comes out", "come out", "one by one", times="dusk"),
            _v("fades", "fade", "slowly, away", times="dawn"),
            _v("glitters", "glitter", times="night"),
        ),
        season_name=True,
    ),
    Image(
        "clouds",
        (Noun("clouds", "many"),),
        times=LIGHT,
        adjectives=(_m("white"), _m("dark"), _m("grey"), _m("high")),
        actions=(
            _a("drifting", "over"),
            _a("gathering", "over"),
            _a("passing", "over"),
            _a("building", "over", seasons="summer"),
        ),
        verbs=(
            _v("parts", "part", "slowly, at last"),
            _v("gathers", "gather", "again"),
            _v("passes", "pass", "slowly"),
        ),
        season_name=True,
    ),
    Image(
        "dew",
        (Noun("dew", "mass"),),
        seasons=_tags("autumn"),
        times=_tags("dawn"),
        adjectives=(_m("cold"), _m("white"), _m("first")),
        actions=(
            _a("gleaming", "down", kinds="land tree building"),
            _a("shining", "down", kinds="land tree building"),
        ),
        verbs=(_v("dries", "dry", "slowly"),),
    ),
    # --- people's things ---------------------------------------------------------------
    Image(
        "boat",
        (Noun("boat", "one"), Noun("boats", "many")),
        times=LIGHT,
        adjectives=(_m("small"), _m("old"), _m("fishing"), _m("lone", one_only=True)),
        actions=(_a("drifting", "surface"), _a("rocking", "surface")),
        verbs=(_v("drifts by", "drift by"), _v("comes home", "come home")),
    ),
    Image(
        "smoke",
        (Noun("smoke", "mass"),),
        times=LIGHT,
        adjectives=(_m("thin"), _m("blue"), _m("grey"), _m("white")),
        actions=(
            _a("rising", "from", kinds="land building", preps="from"),
            _a("drifting", "over"),
            _a("curling", "from", kinds="land building", preps="from"),
        ),
        verbs=(_v("rises", "rise", "slowly, straight up"),),
    ),
    Image(
        "lantern",
        (Noun("lantern", "one"), Noun("lanterns", "many"), Noun("paper lanterns", "many")),
        times=DARK,
        adjectives=(_m("small"), _m("red")),
        actions=(
            _a("glowing", "at", kinds="water land building", preps="by on in"),
            _a("glowing", "at", kinds="tree", preps="beneath"),
            _a("swaying", "at", kinds="building tree"),
            _a("floating", "surface", seasons="summer"),
        ),
        verbs=(
            _v("goes out", "go out"),
            _v("flickers", "flicker", "out"),
            _v("glows", "glow", "faintly"),
        ),
    ),
    Image(
        "bell",
        (Noun("temple bell", "one", ("the", "a")), Noun("bell", "one", ("a", "the"))),
        adjectives=(_m("distant"), _m("evening", times="dusk"), _m("morning", times="dawn")),
        verbs=(
            _v("rings", "ring", "once, out, again, twice"),
            _v("tolls", "toll", "once, again, slowly"),
            _v("fades", "fade", "away"),
        ),
    ),
    # --- landscape, closing a poem -----------------------------------------------------
    Image(
        "river",
        (Noun("river", "one", ("the",)),),
        adjectives=(_m("wide"), _m("slow"), _m("dark"), _m("cold", "autumn winter")),
        verbs=(_v("flows", "flow", "on, slowly"), _v("runs on", "run on")),
    ),
    Image(
        "pond",
        (Noun("pond", "one", ("the",)),),
        adjectives=(_m("still"), _m("dark"), _m("small")),
        verbs=(_v("grows still", "grow still"), _v("freezes", "freeze", "over", seasons="winter")),
    ),
    Image(
        "sea",
        (Noun("sea", "one", ("the",)),),
        adjectives=(_m("grey"), _m("dark"), _m("wide"), _m("cold", "autumn winter")),
        verbs=(_v("grows calm", "grow calm"), _v("roars", "roar", "on")),
        season_name=True,
    ),
    Image(
        "mountain",
        (Noun("mountain", "one", ("the",)), Noun("mountains", "many", ("the",))),
        adjectives=(_m("far"), _m("high"), _m("blue")),
        verbs=(_v("grows dark", "grow dark", times="dusk"), _v("fades", "fade", "slowly, away")),
    ),
)

# Prepositions by relation for each kind of place; a place may narrow or add to them.
_WATER = {
    "down": ("on", "into"),
    "over": ("over", "across"),
    "at": ("by", "beside"),
    "in": ("in",),
    "from": ("from", "across"),
    "surface": ("on",),
    "behind": ("into",),
}
_LAND = {
    "down": ("on", "across"),
    "over": ("over", "across"),
    "at": ("in", "across"),
    "perch": ("in",),
    "from": ("from", "across"),
}
_TREE = {
    "down": ("on",),
    "over": ("over", "above"),
    "at": ("in", "beneath"),
    "perch": ("in", "on"),
    "from": ("from", "in"),
    "behind": ("behind",),
}
_BUILDING = {
    "down": ("on",),
    "over": ("over", "above"),
    "at": ("on", "by"),
    "perch": ("on",),
    "from": ("from", "on"),
    "behind": ("behind",),
}

PLACES: tuple[Place, ...] = (
    Place(
        "pond",
        ("pond",),
        "water",
        _WATER,
        (_m("still"), _m("dark"), _m("quiet"), _m("small"), _m("frozen", "winter")),
    ),
    Place(
        "river",
        ("river",),
        "water",
        _WATER,
        (_m("wide"), _m("slow"), _m("dark"), _m("cold", "autumn winter"), _m("shallow")),
    ),
    Place(
        "sea",
        ("sea",),
        "water",
        {**_WATER, "in": ()},
        (_m("grey"), _m("dark"), _m("calm"), _m("wide"), _m("cold", "autumn winter")),
    ),
    Place(
        "lake",
        ("lake",),
        "water",
        _WATER,
        (_m("still"), _m("wide"), _m("dark"), _m("calm"), _m("frozen", "winter")),
    ),
    Place(
        "field",
        ("field", "rice field"),
        "land",
        _LAND,
        (
            _m("wide"),
            _m("empty"),
            _m("bare", "autumn winter"),
            _m("green", "spring summer"),
            _m("golden", "autumn"),
        ),
    ),
    Place(
        "mountain",
        ("mountain",),
        "land",
        {
            **_LAND,
            "at": ("on",),
            "over": ("over", "above"),
            "behind": ("behind",),
            "perch": ("on",),
        },
        (_m("far"), _m("dark"), _m("high"), _m("distant"), _m("snowy", "winter")),
    ),
    Place(
        "hill",
        ("hill",),
        "land",
        {**_LAND, "at": ("on",), "behind": ("behind",), "perch": ("on",)},
        (_m("far"), _m("low"), _m("dark"), _m("green", "spring summer"), _m("bare", "winter")),
    ),
    Place(
        "garden",
        ("garden", "moss garden"),
        "land",
        {**_LAND, "at": ("in",)},
        (_m("small"), _m("quiet"), _m("empty")),
    ),
    Place(
        "path",
        ("path",),
        "land",
        {**_LAND, "at": ("on", "along"), "perch": ("on",)},
        (_m("narrow"), _m("long"), _m("empty")),
    ),
    Place(
        "village",
        ("village",),
        "land",
        {**_LAND, "at": ("in",), "behind": ("beyond",)},
        (_m("small"), _m("quiet"), _m("sleeping"), _m("distant")),
    ),
    Place(
        "shore",
        ("shore",),
        "land",
        {**_LAND, "at": ("on", "along"), "perch": ("on",)},
        (_m("grey"), _m("empty"), _m("long")),
    ),
    Place(
        "pine",
        ("pine",),
        "tree",
        _TREE,
        (_m("old"), _m("tall"), _m("lone"), _m("dark"), _m("bent")),
    ),
    Place(
        "willow",
        ("willow",),
        "tree",
        {**_TREE, "behind": ()},
        (_m("old"), _m("green", "spring summer"), _m("bare", "winter")),
    ),
    Place(
        "bamboo",
        ("bamboo", "bamboo grove"),
        "tree",
        {**_TREE, "perch": ("in",)},
        (_m("dark"), _m("tall"), _m("green")),
    ),
    Place("temple", ("temple", "temple roof", "temple gate"), "building", _BUILDING, (_m("old"),)),
    Place(
        "bridge",
        ("bridge",),
        "building",
        {**_BUILDING, "at": ("on", "under")},
        (_m("old"), _m("small"), _m("wooden")),
    ),
)

TIME_WORDS: tuple[TimeWord, ...] = (
    TimeWord(
        "dawn",
        _tags("dawn"),
        (_m("pale"), _m("grey"), _m("cold", "autumn winter"), _m("still")),
        ("at", "in the", "until the", "just before the"),
    ),
    TimeWord("daybreak", _tags("dawn"), (), ("at",)),
    TimeWord(
        "morning",
        _tags("day"),
        (
            _m("early"),
            _m("grey"),
            _m("still"),
            _m("quiet"),
            _m("cold", "autumn winter"),
            _m("warm", "spring summer"),
            _m("bright"),
        ),
        ("in the", "all through the"),
    ),
    TimeWord("noon", _tags("day"), (_m("hot", "summer"), _m("still"), _m("bright")), ("at",)),
    TimeWord(
        "afternoon",
        _tags("day"),
        (_m("long"), _m("late"), _m("hot", "summer"), _m("quiet"), _m("warm", "spring summer")),
        ("in the", "all through the"),
    ),
    TimeWord(
        "day",
        _tags("day"),
        (
            _m("long", "spring summer"),
            _m("hot", "summer"),
            _m("short", "winter"),
            _m("grey"),
            _m("bright"),
        ),
        ("all through the",),
    ),
    TimeWord(
        "evening",
        _tags("dusk"),
        (
            _m("long", "spring summer"),
            _m("cool", "spring summer autumn"),
            _m("still"),
            _m("quiet"),
            _m("grey"),
            _m("cold", "autumn winter"),
        ),
        ("in the", "late in the"),
    ),
    TimeWord(
        "dusk",
        _tags("dusk"),
        (_m("cold", "autumn winter"), _m("grey"), _m("still"), _m("warm", "spring summer")),
        ("at", "in the"),
    ),
    TimeWord(
        "twilight",
        _tags("dusk"),
        (
            _m("cool", "spring summer autumn"),
            _m("cold", "autumn winter"),
            _m("long"),
            _m("grey"),
            _m("deep"),
        ),
        ("in the",),
    ),
    TimeWord("nightfall", _tags("dusk"), (), ("at",)),
    TimeWord(
        "night",
        _tags("night"),
        (
            _m("long", "autumn winter"),
            _m("short", "summer"),
            _m("cold", "autumn winter"),
            _m("warm", "spring summer"),
            _m("still"),
            _m("dark"),
            _m("deep"),
            _m("clear"),
        ),
        ("all through the", "deep in the", "late into the", "in the", "at"),
    ),
    TimeWord("midnight", _tags("night"), (_m("still"), _m("cold", "autumn winter")), ("at",)),
)
