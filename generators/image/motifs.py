"""Kavi's motif library: each concrete subject of the word bank drawn in a few brush strokes.

A motif draws inside a box in unit coordinates (0..1 across and down), mirrored when it
faces left, with seeded variation in pose and count. The composer in `ink.py` decides the
box (place, scale by distance) and the tone (fainter with distance).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from generators.image.brush import Box, InkCanvas, Point

Kind = Literal["figure", "sky", "far", "ground", "overlay"]


class Pen:
    """Draws in a box's unit coordinates, mirrored if `flip`, at a tone scaled by distance."""

    def __init__(
        self,
        canvas: InkCanvas,
        box: Box,
        rng: np.random.Generator,
        *,
        tone: float = 1.0,
        flip: bool = False,
    ) -> None:
        self.canvas, self.box, self.rng, self.tone, self.flip = canvas, box, rng, tone, flip
        x0, y0, x1, y1 = box
        self.w, self.h = x1 - x0, y1 - y0
        self.unit = min(self.w, self.h)

    def p(self, u: float, v: float) -> Point:
        """The canvas point at unit coordinates (u, v) of the box."""
        x0, y0, _, _ = self.box
        return (x0 + (1.0 - u if self.flip else u) * self.w, y0 + v * self.h)

    def r(self, low: float, high: float) -> float:
        """A seeded uniform number: the painter's hand never repeats exactly."""
        return float(self.rng.uniform(low, high))

    def stroke(
        self,
        pts: Sequence[Point],
        width: float,
        *,
        tone: float = 1.0,
        accent: bool = False,
        **brush: Any,
    ) -> None:
        """A stroke through unit points; `width` is a fraction of the box's short side.

        `brush` takes `InkCanvas.stroke`'s `taper` and `dry`.
        """
        self.canvas.stroke(
            [self.p(u, v) for u, v in pts],
            max(1.0, width * self.unit),
            tone=tone * (1.0 if accent else self.tone),
            accent=accent,
            **brush,
        )

    def dab(self, u: float, v: float, ru: float, rv: float | None = None, **kw: float) -> None:
        """An elliptical dab; radii are fractions of the box's short side."""
        x, y = self.p(u, v)
        tone = kw.get("tone", 1.0)
        accent = bool(kw.get("accent", False))
        self.canvas.blob(
            x,
            y,
            max(0.6, ru * self.unit),
            max(0.6, (rv if rv is not None else ru) * self.unit),
            tone=tone * (1.0 if accent else self.tone),
            accent=accent,
        )

    def shape(self, pts: Sequence[Point], *, tone: float = 1.0, accent: bool = False) -> None:
        """A flat filled polygon in unit points."""
        self.canvas.shape(
            [self.p(u, v) for u, v in pts],
            tone=tone * (1.0 if accent else self.tone),
            accent=accent,
        )

    def wash(self, u: float, v: float, ru: float, rv: float, tone: float) -> None:
        """A soft wash blob; radii are fractions of the box's width and height."""
        x, y = self.p(u, v)
        self.canvas.wash_blob(x, y, ru * self.w, rv * self.h, tone * self.tone)


Draw = Callable[[Pen], None]


@dataclass(frozen=True)
class Motif:
    """A drawable subject: how to draw it, where it belongs, its size and how to name it."""

    name: str
    draw: Draw
    kind: Kind
    # Height of its box as a fraction of the canvas when near, and width over height.
    scale: float
    aspect: float
    phrase: str
    # Whether it can fill a close-up on its own (one frog, one branch).
    close_up: bool = False


MOTIFS: dict[str, Motif] = {}
# Scene vocabulary and plural forms that are drawn by another motif.
ALIASES: dict[str, str] = {
    "mountains": "mountain",
    "hills": "hill",
    "pines": "pine",
    "blossoms": "blossom",
    "maples": "leaves",
    "fireflies": "firefly",
    "butterflies": "butterfly",
}


def motif(
    kind: Kind, scale: float, aspect: float, phrase: str, *, close_up: bool = False
) -> Callable[[Draw], Draw]:
    """Register a drawing function as the motif of its own name."""

    def register(draw: Draw) -> Draw:
        name = draw.__name__.strip("_").replace("_", " ")
        MOTIFS[name] = Motif(name, draw, kind, scale, aspect, phrase, close_up)
        return draw

    return register


def motif_for(name: str) -> Motif | None:
    """The motif that draws `name` (a word-bank keyword or scene value), or None."""
    return MOTIFS.get(ALIASES.get(name, name))


# --- shared parts ----------------------------------------------------------------------


def _branch(pen: Pen, y: float, *, reach: float = 1.0, tone: float = 0.9) -> None:
    """A perch: one branch entering from the side with a twig or two."""
    sag = pen.r(-0.04, 0.04)
    pen.stroke(
        [(0.0, y + 0.03), (0.45 * reach, y + sag), (reach, y - 0.02)],
        0.045,
        tone=tone,
        taper=(0.02, 0.6),
        dry=0.35,
    )
    for _ in range(2):
        u = pen.r(0.3, 0.8) * reach
        pen.stroke([(u, y), (u + 0.1, y - pen.r(0.06, 0.14))], 0.015, tone=tone, taper=(0.05, 0.8))


def _perched_bird(pen: Pen, *, tail: float, round_body: float, size: float) -> None:
    """A small bird on a branch: belly stroke, head dab, beak, tail, one dark wing."""
    _branch(pen, 0.82)
    cx, cy = 0.5, 0.82 - size * 0.55
    pen.stroke(
        [
            (cx - size * 0.45, cy + size * 0.05),
            (cx, cy + size * 0.3 * round_body),
            (cx + size * 0.35, cy - size * 0.05),
        ],
        size * 0.55,
        tone=0.55,
        taper=(0.3, 0.3),
    )
    pen.dab(cx + size * 0.35, cy - size * 0.2, size * 0.17)
    pen.stroke(
        [(cx + size * 0.5, cy - size * 0.2), (cx + size * 0.62, cy - size * 0.16)],
        size * 0.05,
        taper=(0.05, 0.9),
    )
    pen.stroke(
        [
            (cx + size * 0.25, cy - size * 0.05),
            (cx - size * 0.1, cy + size * 0.02),
            (cx - size * 0.4, cy + size * 0.15),
        ],
        size * 0.2,
        dry=0.3,
    )
    pen.stroke(
        [(cx - size * 0.4, cy + size * 0.1), (cx - size * (0.4 + tail), cy + size * 0.35)],
        size * 0.12,
        taper=(0.1, 0.7),
    )
    pen.dab(cx + size * 0.38, cy - size * 0.23, size * 0.03, tone=0.0)


def _flying(pen: Pen, u: float, v: float, span: float, flap: float, *, tone: float = 1.0) -> None:
    """A bird in flight as the brush writes it: two curved wing strokes meeting at the body."""
    pen.stroke(
        [(u - span, v - flap), (u - span * 0.45, v - flap * 0.2), (u, v)],
        span * 0.18,
        tone=tone,
        taper=(0.6, 0.1),
    )
    pen.stroke(
        [(u, v), (u + span * 0.45, v - flap * 0.2), (u + span, v - flap)],
        span * 0.18,
        tone=tone,
        taper=(0.1, 0.6),
    )
    pen.dab(u, v + span * 0.03, span * 0.07, tone=tone)


def _ripples(pen: Pen, count: int, v0: float, v1: float, *, tone: float = 0.6) -> None:
    for i in range(count):
        v = v0 + (v1 - v0) * (i + pen.r(0.0, 0.6)) / count
        u = pen.r(0.0, 0.7)
        pen.stroke(
            [(u, v), (u + pen.r(0.12, 0.3), v + pen.r(-0.004, 0.004))],
            0.012 + 0.02 * v,
            tone=tone,
            taper=(0.4, 0.4),
        )


def _five_petals(pen: Pen, u: float, v: float, r: float, *, tone: float = 1.0) -> None:
    turn = pen.r(0.0, math.tau)
    for k in range(5):
        a = turn + k * math.tau / 5
        pen.dab(
            u + math.cos(a) * r * 0.6, v + math.sin(a) * r * 0.6, r * 0.45, tone=tone, accent=True
        )
    pen.dab(u, v, r * 0.12, tone=0.8)


def _leaf(pen: Pen, u: float, v: float, r: float, angle: float, *, accent: bool) -> None:
    """A maple leaf: five pointed lobes round a stem."""
    for k, reach in enumerate((1.0, 0.8, 0.8, 0.55, 0.55)):
        a = angle + (0, 1, -1, 2, -2)[k] * 0.75
        tip = (u + math.cos(a) * r * reach, v + math.sin(a) * r * reach)
        pen.stroke([(u, v), tip], r * 0.5, taper=(0.2, 0.8), accent=accent, tone=0.9)
    pen.stroke(
        [(u, v), (u - math.cos(angle) * r * 0.6, v - math.sin(angle) * r * 0.6)], r * 0.08, tone=0.7
    )


# --- birds -----------------------------------------------------------------------------


@motif("figure", 0.2, 1.0, "a crow", close_up=True)
def crow(pen: Pen) -> None:
    _branch(pen, 0.85)
    body = [(0.25, 0.62), (0.45, 0.72), (0.7, 0.5)]
    pen.stroke(body, 0.32, taper=(0.3, 0.2))
    pen.dab(0.72, 0.4, 0.11)
    pen.shape([(0.8, 0.36), (0.97, 0.42), (0.8, 0.45)])
    pen.stroke([(0.3, 0.65), (0.05, 0.8)], 0.12, taper=(0.05, 0.6))
    pen.stroke([(0.5, 0.72), (0.5, 0.85)], 0.02)
    pen.stroke([(0.58, 0.7), (0.6, 0.85)], 0.02)


@motif("figure", 0.38, 0.62, "a heron")
def heron(pen: Pen) -> None:
    lean = pen.r(-0.04, 0.04)
    # The five strokes: back, neck, head and beak, crest, legs.
    pen.stroke([(0.2, 0.42), (0.45, 0.5), (0.62, 0.42)], 0.3, tone=0.35, taper=(0.4, 0.3))
    pen.stroke(
        [(0.6, 0.42), (0.66 + lean, 0.3), (0.55, 0.2), (0.62, 0.1)],
        0.07,
        tone=0.8,
        taper=(0.1, 0.2),
    )
    pen.stroke([(0.6, 0.1), (0.95, 0.13)], 0.04, taper=(0.05, 0.95))
    pen.stroke([(0.6, 0.08), (0.42, 0.06)], 0.025, taper=(0.05, 0.9))
    pen.stroke([(0.18, 0.42), (0.35, 0.52), (0.1, 0.58)], 0.1, dry=0.4)
    pen.stroke([(0.43, 0.55), (0.42 + lean, 0.98)], 0.025, taper=(0.05, 0.1))
    pen.stroke([(0.5, 0.55), (0.56 + lean, 0.97)], 0.025, taper=(0.05, 0.1))
    pen.dab(0.64, 0.1, 0.018, tone=0.0)


@motif("sky", 0.3, 2.0, "geese in flight")
def geese(pen: Pen) -> None:
    count = int(pen.rng.integers(4, 8))
    for i in range(count):
        side = 1 if i % 2 else -1
        u = 0.12 + 0.12 * ((i + 1) // 2) * 1.4
        v = 0.25 + 0.09 * ((i + 1) // 2) * side + pen.r(-0.03, 0.03) + 0.3
        _goose(pen, u, v, pen.r(0.05, 0.07))


def _goose(pen: Pen, u: float, v: float, s: float) -> None:
    pen.stroke([(u - s, v), (u + s * 1.8, v - s * 0.2)], s * 0.5, taper=(0.2, 0.5))
    flap = pen.r(-0.9, 0.9)
    pen.stroke([(u, v), (u + s * 0.2, v - s * 1.2 * flap - s * 0.4)], s * 0.35, taper=(0.1, 0.9))
    pen.stroke([(u + s * 0.2, v), (u + s * 0.5, v + s * flap)], s * 0.3, tone=0.6, taper=(0.1, 0.9))


@motif("figure", 0.12, 1.0, "a sparrow", close_up=True)
def sparrow(pen: Pen) -> None:
    _perched_bird(pen, tail=0.25, round_body=1.2, size=0.55)


@motif("sky", 0.18, 1.4, "swallows")
def swallow(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(1, 4))):
        u, v, s = pen.r(0.2, 0.8), pen.r(0.3, 0.7), pen.r(0.12, 0.2)
        pen.stroke(
            [(u - s * 1.2, v - s * 0.6), (u - s * 0.4, v - s * 0.1), (u, v)],
            s * 0.25,
            taper=(0.7, 0.1),
        )
        pen.stroke(
            [(u, v), (u + s * 0.5, v - s * 0.2), (u + s * 1.3, v - s * 0.7)],
            s * 0.25,
            taper=(0.1, 0.7),
        )
        pen.dab(u, v, s * 0.12)
        pen.stroke([(u, v), (u - s * 0.25, v + s * 0.7)], s * 0.07, taper=(0.2, 0.9))
        pen.stroke([(u, v), (u + s * 0.2, v + s * 0.7)], s * 0.07, taper=(0.2, 0.9))


@motif("figure", 0.18, 0.9, "a cuckoo", close_up=True)
def cuckoo(pen: Pen) -> None:
    _perched_bird(pen, tail=0.55, round_body=0.6, size=0.5)


@motif("figure", 0.22, 0.8, "an owl", close_up=True)
def owl(pen: Pen) -> None:
    _branch(pen, 0.9)
    pen.stroke([(0.5, 0.25), (0.5, 0.55), (0.5, 0.86)], 0.52, tone=0.45, taper=(0.35, 0.25))
    pen.stroke([(0.22, 0.4), (0.28, 0.65), (0.42, 0.85)], 0.12, dry=0.4)
    pen.stroke([(0.78, 0.4), (0.72, 0.65), (0.58, 0.85)], 0.12, dry=0.4)
    for u in (0.4, 0.6):
        pen.dab(u, 0.33, 0.09, tone=0.0)
        pen.stroke([(u - 0.08, 0.33), (u, 0.25), (u + 0.08, 0.33)], 0.02)
        pen.dab(u, 0.34, 0.035)
    pen.shape([(0.47, 0.4), (0.53, 0.4), (0.5, 0.46)])
    pen.stroke([(0.32, 0.24), (0.27, 0.1)], 0.05, taper=(0.1, 0.8))
    pen.stroke([(0.68, 0.24), (0.73, 0.1)], 0.05, taper=(0.1, 0.8))


# --- small creatures ------------------------------------------------------------------


@motif("figure", 0.1, 1.3, "a frog", close_up=True)
def frog(pen: Pen) -> None:
    # A frog sitting in profile, facing right: a pale body under one dark line of back,
    # an eye standing up from the head, the hind leg folded beneath.
    lift = pen.r(-0.04, 0.04)
    body = [(0.12, 0.8), (0.2, 0.55), (0.42, 0.38 + lift), (0.64, 0.34), (0.8, 0.38), (0.95, 0.52)]
    pen.shape([*body, (0.86, 0.62), (0.62, 0.74), (0.35, 0.82)], tone=0.22)
    pen.stroke(body, 0.05, taper=(0.3, 0.5), dry=0.25)
    pen.stroke([(0.95, 0.52), (0.8, 0.56), (0.68, 0.54)], 0.02, taper=(0.1, 0.7))
    pen.dab(0.7, 0.33, 0.075)
    pen.dab(0.715, 0.32, 0.03, tone=0.0)
    pen.stroke([(0.32, 0.6), (0.12, 0.84), (0.38, 0.9), (0.6, 0.9)], 0.07, taper=(0.4, 0.2))
    pen.stroke([(0.74, 0.64), (0.76, 0.86), (0.88, 0.9)], 0.045, taper=(0.3, 0.2))
    pen.dab(0.9, 0.9, 0.025)
    pen.dab(0.62, 0.91, 0.025)
    pen.stroke([(0.0, 0.95), (0.5, 0.97), (1.0, 0.94)], 0.02, tone=0.5, dry=0.5)


@motif("figure", 0.08, 1.0, "a cicada", close_up=True)
def cicada(pen: Pen) -> None:
    pen.stroke([(0.15, 0.0), (0.18, 0.5), (0.12, 1.0)], 0.22, tone=0.5, dry=0.6, taper=(0.0, 0.0))
    pen.stroke([(0.45, 0.25), (0.48, 0.55)], 0.16, taper=(0.2, 0.6))
    pen.dab(0.46, 0.22, 0.06)
    for side in (-1, 1):
        pen.stroke(
            [(0.47, 0.3), (0.47 + side * 0.22, 0.62), (0.47 + side * 0.08, 0.8)], 0.03, tone=0.8
        )
        pen.shape([(0.47, 0.3), (0.47 + side * 0.22, 0.62), (0.47 + side * 0.08, 0.8)], tone=0.2)


@motif("figure", 0.22, 1.6, "fireflies")
def firefly(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(5, 11))):
        u, v = pen.r(0.05, 0.95), pen.r(0.1, 0.9)
        x, y = pen.p(u, v)
        pen.canvas.clear(x, y, pen.unit * 0.04, halo=3.0)
        pen.dab(u, v, 0.02, tone=0.9)
        pen.dab(u + 0.015, v - 0.01, 0.014, tone=0.4, accent=True)


@motif("figure", 0.08, 1.3, "a cricket", close_up=True)
def cricket(pen: Pen) -> None:
    pen.stroke([(0.0, 0.95), (0.5, 0.8), (1.0, 0.85)], 0.04, tone=0.5, dry=0.4)
    pen.stroke([(0.3, 0.6), (0.65, 0.55)], 0.16, taper=(0.3, 0.4))
    pen.dab(0.7, 0.54, 0.06)
    pen.stroke([(0.45, 0.6), (0.3, 0.4), (0.15, 0.78)], 0.05, taper=(0.2, 0.5))
    pen.stroke([(0.6, 0.62), (0.62, 0.8)], 0.02)
    pen.stroke([(0.52, 0.62), (0.48, 0.82)], 0.02)
    pen.stroke([(0.74, 0.52), (0.85, 0.3), (1.0, 0.2)], 0.012, taper=(0.05, 0.9))
    pen.stroke([(0.74, 0.52), (0.9, 0.4), (1.0, 0.42)], 0.012, taper=(0.05, 0.9))


@motif("figure", 0.1, 1.2, "butterflies", close_up=True)
def butterfly(pen: Pen) -> None:
    for i in range(int(pen.rng.integers(1, 3))):
        u, v, s = (0.5, 0.5, 0.38) if i == 0 else (pen.r(0.1, 0.3), pen.r(0.15, 0.35), 0.16)
        tilt = pen.r(-0.15, 0.15)
        for side in (-1, 1):
            pen.stroke(
                [(u, v), (u + side * s * 0.8, v - s * (0.7 + tilt * side))],
                s * 0.75,
                tone=0.6,
                taper=(0.2, 0.35),
            )
            pen.stroke(
                [(u, v + s * 0.05), (u + side * s * 0.5, v + s * 0.55)],
                s * 0.5,
                tone=0.8,
                taper=(0.2, 0.4),
            )
        pen.stroke([(u, v - s * 0.3), (u, v + s * 0.4)], s * 0.1, taper=(0.2, 0.5))
        pen.stroke([(u, v - s * 0.3), (u - s * 0.25, v - s * 0.75)], s * 0.03)
        pen.stroke([(u, v - s * 0.3), (u + s * 0.25, v - s * 0.75)], s * 0.03)


@motif("figure", 0.26, 1.2, "a deer")
def deer(pen: Pen) -> None:
    head_up = pen.r(0.0, 1.0) > 0.35
    pen.stroke([(0.2, 0.45), (0.45, 0.42), (0.7, 0.44)], 0.2, tone=0.55, taper=(0.2, 0.2))
    neck_top = (0.82, 0.15) if head_up else (0.9, 0.55)
    pen.stroke([(0.68, 0.42), neck_top], 0.08, tone=0.7, taper=(0.1, 0.1))
    hx, hy = neck_top
    pen.stroke([(hx - 0.02, hy), (hx + 0.12, hy + 0.06)], 0.07, taper=(0.1, 0.7))
    pen.stroke([(hx - 0.02, hy - 0.01), (hx - 0.08, hy - 0.08)], 0.03, taper=(0.1, 0.8))
    if head_up:
        pen.stroke([(hx, hy - 0.02), (hx - 0.03, hy - 0.14), (hx - 0.1, hy - 0.2)], 0.015)
        pen.stroke([(hx - 0.02, hy - 0.1), (hx + 0.05, hy - 0.17)], 0.012)
    for u, bend in ((0.25, -0.02), (0.32, 0.03), (0.62, -0.03), (0.68, 0.02)):
        pen.stroke([(u, 0.5), (u + bend, 0.75), (u, 0.97)], 0.025, taper=(0.1, 0.2))
    pen.stroke([(0.2, 0.42), (0.15, 0.5)], 0.04, taper=(0.1, 0.8))
    for _ in range(4):
        pen.dab(pen.r(0.3, 0.6), pen.r(0.4, 0.47), 0.012, tone=0.0)


# --- plants ----------------------------------------------------------------------------


def _flowering_branch(pen: Pen, *, petals: bool) -> None:
    pts = [(0.0, 0.15), (0.35, 0.3 + pen.r(-0.05, 0.05)), (0.6, 0.28), (0.95, 0.45)]
    pen.stroke(pts, 0.05, taper=(0.02, 0.7), dry=0.4)
    twigs = [(0.35, 0.3), (0.6, 0.28), (0.75, 0.35)]
    for u, v in twigs:
        end = (u + pen.r(0.05, 0.15), v + pen.r(0.12, 0.28))
        pen.stroke([(u, v), end], 0.02, taper=(0.05, 0.7))
        for _ in range(int(pen.rng.integers(2, 4))):
            t = pen.r(0.3, 1.0)
            fu, fv = u + (end[0] - u) * t + pen.r(-0.05, 0.05), v + (end[1] - v) * t
            if petals:
                _five_petals(pen, fu, fv, pen.r(0.04, 0.06))
            else:
                pen.dab(fu, fv, pen.r(0.025, 0.045), accent=True)
                pen.dab(fu, fv, 0.01, tone=0.7)


@motif("figure", 0.45, 1.3, "cherry blossoms", close_up=True)
def blossom(pen: Pen) -> None:
    _flowering_branch(pen, petals=True)
    for _ in range(int(pen.rng.integers(3, 7))):
        pen.dab(pen.r(0.2, 0.9), pen.r(0.6, 0.95), 0.012, accent=True)


@motif("figure", 0.45, 1.3, "plum blossoms", close_up=True)
def plum(pen: Pen) -> None:
    pen.stroke(
        [(0.05, 1.0), (0.2, 0.55), (0.12, 0.3), (0.3, 0.05)], 0.07, dry=0.5, taper=(0.0, 0.5)
    )
    pen.stroke(
        [(0.18, 0.55), (0.5, 0.45), (0.7, 0.5), (0.95, 0.35)], 0.035, dry=0.3, taper=(0.05, 0.7)
    )
    for u, v in ((0.3, 0.5), (0.55, 0.46), (0.72, 0.5), (0.9, 0.37), (0.17, 0.3), (0.28, 0.1)):
        _five_petals(pen, u + pen.r(-0.02, 0.02), v - 0.04, pen.r(0.035, 0.05))


@motif("figure", 0.3, 1.3, "maple leaves", close_up=True)
def leaves(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(3, 6))):
        _leaf(
            pen,
            pen.r(0.15, 0.85),
            pen.r(0.2, 0.8),
            pen.r(0.09, 0.15),
            pen.r(-2.0, -1.2),
            accent=True,
        )


@motif("figure", 0.22, 1.3, "a lotus", close_up=True)
def lotus(pen: Pen) -> None:
    pen.wash(0.3, 0.82, 0.32, 0.1, 0.35)
    pen.stroke([(0.02, 0.82), (0.3, 0.74), (0.6, 0.82)], 0.04, tone=0.7)
    pen.stroke([(0.65, 0.85), (0.62, 0.55)], 0.02, tone=0.8)
    for a in (-0.7, -0.25, 0.25, 0.7, 0.0):
        tip = (0.62 + math.sin(a) * 0.22, 0.55 - math.cos(a) * 0.32)
        pen.stroke(
            [(0.62, 0.56), tip], 0.13 if a else 0.15, tone=0.25, accent=True, taper=(0.4, 0.5)
        )
        pen.stroke([(0.62, 0.56), tip], 0.01, tone=0.7)
    _ripples(pen, 3, 0.88, 0.98)


@motif("figure", 0.14, 1.4, "tall grass", close_up=True)
def grass(pen: Pen) -> None:
    lean = pen.r(-0.2, 0.2)
    for _ in range(int(pen.rng.integers(7, 14))):
        u = pen.r(0.1, 0.9)
        h = pen.r(0.4, 0.95)
        bend = lean + pen.r(-0.15, 0.15)
        pen.stroke(
            [(u, 1.0), (u + bend * 0.3, 1.0 - h * 0.6), (u + bend, 1.0 - h)],
            0.03,
            taper=(0.05, 0.9),
            tone=pen.r(0.6, 1.0),
        )


@motif("figure", 0.6, 0.7, "a willow")
def willow(pen: Pen) -> None:
    pen.stroke([(0.45, 1.0), (0.5, 0.6), (0.42, 0.3), (0.5, 0.1)], 0.09, dry=0.4, taper=(0.0, 0.4))
    pen.stroke([(0.46, 0.35), (0.7, 0.2)], 0.04, dry=0.3)
    for _ in range(int(pen.rng.integers(14, 22))):
        u = pen.r(0.2, 0.85)
        top = pen.r(0.08, 0.3)
        drop = pen.r(0.35, 0.7)
        sway = pen.r(-0.06, 0.06)
        pen.stroke(
            [(u, top), (u + sway, top + drop * 0.5), (u + sway * 2, top + drop)],
            0.01,
            taper=(0.05, 0.8),
            tone=0.7,
        )


@motif("figure", 0.55, 0.8, "a pine")
def pine(pen: Pen) -> None:
    lean = pen.r(-0.12, 0.12)
    trunk = [(0.45, 1.0), (0.5 + lean, 0.65), (0.42 + lean, 0.35), (0.55 + lean * 2, 0.08)]
    pen.stroke(trunk, 0.08, dry=0.5, taper=(0.0, 0.5))
    for i in range(int(pen.rng.integers(3, 6))):
        v = 0.15 + i * 0.16 + pen.r(-0.03, 0.03)
        side = 1 if i % 2 else -1
        u0 = 0.47 + lean * (1.2 - v)
        u1 = u0 + side * pen.r(0.25, 0.42)
        pen.stroke([(u0, v + 0.05), (u1, v)], 0.025, dry=0.3, taper=(0.05, 0.5))
        # Needle clusters: flat dry-brush masses above each limb.
        pen.stroke(
            [(u0 + side * 0.02, v - 0.01), ((u0 + u1) / 2, v - 0.04), (u1 + side * 0.05, v)],
            0.085,
            tone=0.8,
            dry=0.7,
            taper=(0.3, 0.3),
        )


@motif("figure", 0.5, 0.8, "bare trees")
def bare_trees(pen: Pen) -> None:
    def grow(u: float, v: float, angle: float, length: float, width: float, depth: int) -> None:
        end = (u + math.cos(angle) * length, v + math.sin(angle) * length)
        pen.stroke([(u, v), end], width, dry=0.3 if depth < 2 else 0.0, taper=(0.02, 0.5))
        if depth >= 3:
            return
        for turn in (-0.45, 0.4):
            grow(*end, angle + turn + pen.r(-0.2, 0.2), length * 0.68, width * 0.6, depth + 1)

    grow(0.5, 1.0, -math.pi / 2 + pen.r(-0.15, 0.15), 0.38, 0.07, 0)


@motif("figure", 0.5, 0.9, "trees")
def trees(pen: Pen) -> None:
    for k in range(int(pen.rng.integers(1, 4))):
        u, s = 0.5 + (k - 1) * 0.28 + pen.r(-0.05, 0.05), 1.0 - 0.25 * k
        pen.stroke(
            [(u, 1.0), (u + pen.r(-0.03, 0.03), 1.0 - 0.5 * s)], 0.05 * s, dry=0.3, taper=(0.0, 0.3)
        )
        for _ in range(9):
            pen.dab(
                u + pen.r(-0.18, 0.18) * s,
                1.0 - pen.r(0.45, 0.95) * s,
                pen.r(0.05, 0.09) * s,
                tone=pen.r(0.4, 0.8),
            )


@motif("figure", 0.14, 1.3, "wildflowers", close_up=True)
def flowers(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(4, 8))):
        u, h = pen.r(0.1, 0.9), pen.r(0.35, 0.85)
        top = (u + pen.r(-0.08, 0.08), 1.0 - h)
        pen.stroke([(u, 1.0), top], 0.02, tone=0.7, taper=(0.05, 0.4))
        pen.stroke([(u, 0.9), (u + 0.08, 0.8)], 0.04, tone=0.5, taper=(0.2, 0.8))
        _five_petals(pen, top[0], top[1], pen.r(0.04, 0.07))


@motif("figure", 0.55, 0.6, "bamboo", close_up=True)
def bamboo(pen: Pen) -> None:
    for k in range(int(pen.rng.integers(2, 4))):
        u = 0.3 + k * 0.2 + pen.r(-0.05, 0.05)
        v = 1.0
        while v > 0.05:
            nxt = v - pen.r(0.14, 0.22)
            pen.stroke(
                [(u, v - 0.01), (u + 0.005, max(nxt, 0.0) + 0.01)],
                0.06,
                tone=0.55 + k * 0.15,
                taper=(0.05, 0.05),
            )
            v = nxt
        for _ in range(3):
            lv = pen.r(0.1, 0.5)
            side = 1 if pen.r(0, 1) > 0.5 else -1
            pen.stroke(
                [(u, lv), (u + side * pen.r(0.18, 0.3), lv + pen.r(0.02, 0.12))],
                0.05,
                taper=(0.05, 0.9),
            )


# --- weather (drawn over the whole picture) --------------------------------------------


@motif("overlay", 1.0, 1.0, "falling rain")
def rain(pen: Pen) -> None:
    slant = pen.r(-0.1, 0.1)
    for _ in range(int(pen.rng.integers(70, 110))):
        u, v, length = pen.r(0.0, 1.0), pen.r(0.0, 0.95), pen.r(0.03, 0.08)
        pen.stroke([(u, v), (u + slant * length, v + length)], 0.003, tone=0.45, taper=(0.3, 0.3))


@motif("overlay", 1.0, 1.0, "falling snow")
def snow(pen: Pen) -> None:
    pen.canvas.wash_band(pen.box[1], pen.box[3] * 0.6, 0.16 * pen.tone)
    for _ in range(int(pen.rng.integers(60, 100))):
        u, v = pen.r(0.0, 1.0), pen.r(0.0, 1.0)
        x, y = pen.p(u, v)
        pen.canvas.clear(x, y, pen.unit * 0.004, halo=2.0)
        pen.dab(u, v, 0.003, tone=0.3)


@motif("ground", 0.1, 4.0, "frost")
def frost(pen: Pen) -> None:
    # Frost: withered stalks bent over a cold pale ground, their tips left white with rime.
    pen.wash(0.5, 0.75, 0.6, 0.4, 0.2)
    for _ in range(int(pen.rng.integers(9, 15))):
        u, lean, height = pen.r(0.03, 0.97), pen.r(-0.12, 0.12), pen.r(0.35, 0.8)
        top = (u + lean, 1.0 - height)
        pen.stroke(
            [(u, 1.0), (u + lean * 0.4, 1.0 - height * 0.6), top],
            0.012,
            tone=0.65,
            taper=(0.05, 0.9),
            dry=0.3,
        )
        for t in (0.0, pen.r(0.2, 0.5)):
            x, y = pen.p(top[0] - lean * t, top[1] + height * t * 0.6)
            pen.canvas.clear(x, y, max(pen.unit * 0.02, 1.0), halo=1.8)
            pen.dab(top[0] - lean * t, top[1] + height * t * 0.6, 0.012, tone=0.25)


@motif("ground", 0.15, 4.0, "ice")
def ice(pen: Pen) -> None:
    pen.wash(0.5, 0.6, 0.55, 0.45, 0.18)
    u, v = pen.r(0.1, 0.3), 0.5
    for _ in range(6):
        nu, nv = u + pen.r(0.08, 0.16), v + pen.r(-0.3, 0.3)
        pen.stroke([(u, v), (nu, min(max(nv, 0.1), 0.95))], 0.03, tone=0.6, taper=(0.1, 0.1))
        pen.stroke([(u, v), (u + pen.r(-0.05, 0.05), v + pen.r(-0.3, 0.3))], 0.02, tone=0.45)
        u, v = nu, min(max(nv, 0.1), 0.95)


@motif("overlay", 1.0, 1.0, "drifting mist")
def mist(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(2, 4))):
        v = pen.r(0.3, 0.85)
        y = pen.p(0, v)[1]
        pen.canvas.wash_band(y, y + pen.h * pen.r(0.06, 0.12), 0.2 * pen.tone, soft=2.0)
        pen.stroke(
            [(pen.r(0.0, 0.4), v), (pen.r(0.6, 1.0), v + pen.r(-0.02, 0.02))],
            0.004,
            tone=0.25,
            dry=0.5,
        )


@motif("overlay", 1.0, 1.0, "the wind")
def wind(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(3, 6))):
        v = pen.r(0.15, 0.75)
        pen.stroke(
            [(0.05, v), (0.35, v - 0.06), (0.65, v + 0.02), (0.85, v - 0.08)],
            0.006,
            tone=0.5,
            dry=0.6,
            taper=(0.1, 0.6),
        )
    for _ in range(3):
        _leaf(pen, pen.r(0.3, 0.9), pen.r(0.2, 0.7), 0.025, pen.r(0, 6.0), accent=False)


@motif("ground", 0.08, 2.0, "dew", close_up=True)
def dew(pen: Pen) -> None:
    for _ in range(3):
        u = pen.r(0.15, 0.85)
        pen.stroke([(u, 1.0), (u + 0.1, 0.5), (u + 0.3, 0.3)], 0.04, tone=0.7, taper=(0.05, 0.9))
        for t in (0.4, 0.7):
            du, dv = u + 0.1 + 0.2 * (t - 0.4), 0.6 - 0.3 * (t - 0.4)
            pen.dab(du, dv, 0.03, tone=0.7)
            pen.dab(du - 0.006, dv - 0.006, 0.015, tone=0.0)


# --- sky -------------------------------------------------------------------------------


@motif("sky", 0.16, 1.0, "the moon")
def moon(pen: Pen) -> None:
    x, y = pen.p(0.5, 0.5)
    r = pen.unit * 0.45
    pen.canvas.wash_blob(x, y, r * 3.0, r * 2.2, 0.3 * pen.tone)
    pen.canvas.clear(x, y, r, halo=1.25)
    pen.stroke(
        [(0.5 + 0.45 * math.cos(a), 0.5 + 0.45 * math.sin(a)) for a in np.linspace(-2.2, 3.4, 12)],
        0.015,
        tone=0.35,
        dry=0.3,
    )


@motif("sky", 0.12, 1.0, "the sun")
def sun(pen: Pen) -> None:
    pen.dab(0.5, 0.5, 0.45, accent=True, tone=0.85)


@motif("sky", 0.35, 2.0, "stars")
def stars(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(12, 24))):
        u, v, r = pen.r(0.0, 1.0), pen.r(0.0, 1.0), pen.r(0.006, 0.016)
        if pen.canvas.night:
            # On a night sky a star is paper left bare, with a faint halo.
            x, y = pen.p(u, v)
            pen.canvas.clear(x, y, max(pen.unit * r, 1.2), halo=2.2)
        else:
            pen.dab(u, v, r, tone=0.8)


@motif("sky", 0.2, 2.5, "clouds")
def clouds(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(2, 4))):
        u, v = pen.r(0.2, 0.8), pen.r(0.35, 0.65)
        pen.wash(u, v, pen.r(0.2, 0.35), pen.r(0.15, 0.3), 0.22)
        arc = [(u - 0.25 + 0.1 * k, v - 0.12 * math.sin(k * 0.9) - 0.05) for k in range(6)]
        pen.stroke(arc, 0.025, tone=0.45, dry=0.4)


@motif("sky", 0.18, 2.2, "birds in flight")
def birds(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(3, 7))):
        _flying(pen, pen.r(0.1, 0.9), pen.r(0.3, 0.8), pen.r(0.04, 0.08), pen.r(0.01, 0.05))


# --- things people made ----------------------------------------------------------------


@motif("figure", 0.14, 2.2, "a boat")
def boat(pen: Pen) -> None:
    pen.shape([(0.05, 0.55), (0.95, 0.5), (0.8, 0.72), (0.2, 0.72)], tone=0.85)
    pen.stroke([(0.05, 0.55), (0.5, 0.58), (0.95, 0.5)], 0.04)
    pen.stroke([(0.45, 0.55), (0.5, 0.3)], 0.08, taper=(0.1, 0.3))
    pen.dab(0.5, 0.26, 0.06)
    pen.stroke([(0.62, 0.05), (0.38, 0.9)], 0.02, taper=(0.05, 0.1))
    _ripples(pen, 3, 0.8, 0.98, tone=0.45)


@motif("figure", 0.3, 0.7, "smoke rising")
def smoke(pen: Pen) -> None:
    pen.shape([(0.2, 0.82), (0.5, 0.68), (0.8, 0.82)], tone=0.9)
    pen.shape([(0.27, 0.82), (0.73, 0.82), (0.73, 1.0), (0.27, 1.0)], tone=0.4)
    u = 0.55
    pts = []
    for k in range(7):
        v = 0.7 - k * 0.11
        pts.append((u + 0.1 * math.sin(k * 1.3 + pen.r(0, 1)) * (k / 3), v))
    pen.stroke(pts, 0.06, tone=0.35, dry=0.6, taper=(0.1, 0.6))


@motif("figure", 0.16, 0.5, "a lantern", close_up=True)
def lantern(pen: Pen) -> None:
    pen.stroke([(0.5, 0.0), (0.5, 0.15)], 0.03)
    pen.shape([(0.35, 0.15), (0.65, 0.15), (0.65, 0.22), (0.35, 0.22)])
    pen.dab(0.5, 0.52, 0.45, 0.6, accent=True, tone=0.85)
    for v in (0.3, 0.42, 0.54, 0.66, 0.76):
        half = 0.42 * math.sqrt(max(0.0, 1.0 - ((v - 0.52) / 0.33) ** 2))
        pen.stroke([(0.5 - half, v), (0.5, v + 0.015), (0.5 + half, v)], 0.015, tone=0.6)
    pen.shape([(0.35, 0.82), (0.65, 0.82), (0.65, 0.9), (0.35, 0.9)])
    pen.stroke([(0.5, 0.9), (0.5, 1.0)], 0.05, taper=(0.1, 0.8), dry=0.4)


@motif("figure", 0.2, 0.9, "a temple bell", close_up=True)
def bell(pen: Pen) -> None:
    pen.stroke([(0.0, 0.06), (0.5, 0.04), (1.0, 0.07)], 0.07, dry=0.4, taper=(0.02, 0.02))
    pen.stroke([(0.5, 0.08), (0.5, 0.2)], 0.04)
    pen.shape(
        [
            (0.38, 0.2),
            (0.62, 0.2),
            (0.68, 0.35),
            (0.7, 0.75),
            (0.82, 0.9),
            (0.18, 0.9),
            (0.3, 0.75),
            (0.32, 0.35),
        ],
        tone=0.55,
    )
    for v in (0.42, 0.62):
        pen.stroke([(0.31, v), (0.69, v)], 0.025, tone=0.95)
    pen.stroke([(0.18, 0.9), (0.82, 0.9)], 0.035)
    pen.dab(0.5, 0.78, 0.05, tone=0.95)


@motif("figure", 0.3, 0.8, "a temple")
def temple(pen: Pen) -> None:
    for i, (v, half) in enumerate(((0.2, 0.3), (0.45, 0.4), (0.7, 0.5))):
        pen.stroke(
            [
                (0.5 - half - 0.05, v - 0.04),
                (0.5 - half * 0.5, v + 0.02),
                (0.5, v),
                (0.5 + half * 0.5, v + 0.02),
                (0.5 + half + 0.05, v - 0.04),
            ],
            0.05,
            taper=(0.1, 0.1),
        )
        if i < 2:
            pen.shape(
                [
                    (0.5 - half * 0.6, v + 0.03),
                    (0.5 + half * 0.6, v + 0.03),
                    (0.5 + half * 0.6, v + 0.22),
                    (0.5 - half * 0.6, v + 0.22),
                ],
                tone=0.35,
            )
    pen.stroke([(0.5, 0.2), (0.5, 0.02)], 0.02)
    for u in (0.25, 0.42, 0.58, 0.75):
        pen.stroke([(u, 0.73), (u, 0.98)], 0.03, taper=(0.05, 0.05))
    pen.stroke([(0.1, 0.98), (0.9, 0.98)], 0.03)


@motif("figure", 0.16, 2.4, "a bridge")
def bridge(pen: Pen) -> None:
    arc = [(u, 0.55 - 0.35 * math.sin(math.pi * u)) for u in np.linspace(0.0, 1.0, 9)]
    pen.stroke(arc, 0.08, taper=(0.05, 0.05))
    pen.stroke([(u, v - 0.22) for u, v in arc], 0.025, taper=(0.05, 0.05))
    for u, v in arc[1:-1:2]:
        pen.stroke([(u, v), (u, v - 0.22)], 0.02)
    for u in (0.25, 0.75):
        pen.stroke([(u, 0.55 - 0.35 * math.sin(math.pi * u)), (u, 0.95)], 0.03)
    reflection = [(u, 0.7 + 0.2 * math.sin(math.pi * u)) for u in np.linspace(0.1, 0.9, 7)]
    pen.stroke(reflection, 0.02, tone=0.3, dry=0.6)


@motif("far", 0.2, 2.0, "a village")
def village(pen: Pen) -> None:
    for _ in range(int(pen.rng.integers(3, 6))):
        u, s = pen.r(0.1, 0.85), pen.r(0.1, 0.16)
        v = pen.r(0.45, 0.7)
        pen.shape([(u - s * 0.7, v), (u, v - s * 1.1), (u + s * 0.7, v)], tone=0.9)
        pen.shape(
            [(u - s * 0.5, v), (u + s * 0.5, v), (u + s * 0.5, v + s), (u - s * 0.5, v + s)],
            tone=0.35,
        )
    pen.stroke([(0.0, 0.85), (1.0, 0.82)], 0.02, tone=0.5, dry=0.5)


@motif("ground", 0.25, 1.5, "a garden")
def garden(pen: Pen) -> None:
    for v in np.linspace(0.55, 0.95, 6):
        pen.stroke([(0.0, float(v)), (0.5, float(v) + 0.02), (1.0, float(v))], 0.006, tone=0.4)
    for u, s in ((0.3, 0.1), (0.42, 0.06), (0.75, 0.08)):
        pen.dab(u, 0.7, s * 1.4, s, tone=0.75)
        pen.dab(u - s * 0.3, 0.7 - s * 0.4, s * 0.5, s * 0.25, tone=0.2)
    for _ in range(10):
        pen.dab(pen.r(0.05, 0.25), pen.r(0.3, 0.5), pen.r(0.03, 0.06), tone=pen.r(0.4, 0.7))


@motif("ground", 0.3, 1.4, "a path")
def path(pen: Pen) -> None:
    bend = pen.r(-0.2, 0.2)
    for side in (-1, 1):
        pen.stroke(
            [
                (0.5 + side * 0.4, 1.0),
                (0.5 + bend + side * 0.15, 0.55),
                (0.5 - bend + side * 0.03, 0.1),
            ],
            0.02,
            tone=0.6,
            dry=0.5,
            taper=(0.05, 0.8),
        )
    for _ in range(6):
        v = pen.r(0.3, 0.95)
        pen.dab(0.5 + bend * (1 - v) + pen.r(-0.1, 0.1) * v, v, 0.01 + 0.02 * v, tone=0.5)


# --- land and water --------------------------------------------------------------------


@motif("far", 0.3, 3.0, "mountains")
def mountain(pen: Pen) -> None:
    peaks = int(pen.rng.integers(1, 4))
    tops: list[float] = []
    xs = np.linspace(0.0, 1.0, 33)
    centres = [pen.r(0.15, 0.85) for _ in range(peaks)]
    heights = [pen.r(0.55, 1.0) for _ in range(peaks)]
    widths = [pen.r(0.18, 0.35) for _ in range(peaks)]
    for x in xs:
        h = max(
            hgt * max(0.0, 1.0 - abs(x - c) / w) ** 1.3
            for c, hgt, w in zip(centres, heights, widths, strict=True)
        )
        tops.append(0.98 - h * 0.95 + pen.r(-0.01, 0.01))
    x0, _ = pen.p(0.0, 0.0)
    x1, _ = pen.p(1.0, 0.0)
    ys = np.array([pen.p(0.0, t)[1] for t in tops])
    if pen.flip:
        x0, x1 = x1, x0
    pen.canvas.wash_profile(x0, x1, ys if not pen.flip else ys[::-1], pen.box[3], 0.5 * pen.tone)
    # The ridge line: a dry stroke along the skyline, lifted where the slope is shallow.
    ridge = [(float(x), t) for x, t in zip(xs, tops, strict=True) if t < 0.96]
    if len(ridge) >= 2:
        pen.stroke(ridge, 0.03, dry=0.5, taper=(0.1, 0.1))
    for c, hgt in zip(centres, heights, strict=True):
        top = 0.98 - hgt * 0.95
        pen.stroke([(c, top + 0.03), (c - 0.04, top + 0.3)], 0.02, tone=0.6, dry=0.6)


@motif("far", 0.2, 3.5, "rolling hills")
def hill(pen: Pen) -> None:
    for k in range(2):
        phase, v = pen.r(0, math.tau), 0.35 + k * 0.3
        pts = [(float(u), v + 0.15 * math.sin(u * 4 + phase)) for u in np.linspace(0, 1, 9)]
        x0, _ = pen.p(0.0, 0.0)
        x1, _ = pen.p(1.0, 0.0)
        ys = np.array([pen.p(0.0, t)[1] for _, t in pts])
        pen.canvas.wash_profile(
            min(x0, x1), max(x0, x1), ys, pen.box[3], (0.25 + 0.15 * k) * pen.tone
        )
        pen.stroke(pts, 0.03, tone=0.5 + 0.3 * k, dry=0.4, taper=(0.1, 0.1))


def _water(pen: Pen, tone: float, count: int) -> None:
    x0, y0, x1, y1 = pen.box
    pen.canvas.wash_band(y0, y1, tone * pen.tone, soft=0.05)
    _ripples(pen, count, 0.05, 0.95)


@motif("ground", 0.3, 3.0, "a river")
def river(pen: Pen) -> None:
    # A river winding back to the horizon: grey water between two banks, lit by broken
    # ripples that follow its course; reeds or stones on a bank.
    bend = pen.r(-0.25, 0.25)
    vs = np.linspace(0.0, 1.0, 9)
    centre = 0.5 + bend * np.sin(vs * math.pi * 1.2) * (1.0 - vs * 0.4)
    half = 0.03 + 0.42 * vs**1.5
    left = [(float(c - h), float(v)) for c, h, v in zip(centre, half, vs, strict=True)]
    right = [(float(c + h), float(v)) for c, h, v in zip(centre, half, vs, strict=True)]
    pen.shape([*left, *right[::-1]], tone=0.2)
    for bank in (left, right):
        pen.stroke(bank, 0.02, tone=0.75, dry=0.45, taper=(0.05, 0.1))
    for _ in range(int(pen.rng.integers(6, 10))):
        v = pen.r(0.2, 0.95)
        c = float(np.interp(v, vs, centre)) + pen.r(-0.5, 0.5) * float(np.interp(v, vs, half))
        length = 0.04 + 0.12 * v
        pen.stroke([(c - length / 2, v), (c + length / 2, v + 0.005)], 0.012, tone=0.45)
    for _ in range(int(pen.rng.integers(2, 5))):
        v = pen.r(0.55, 0.95)
        edge = float(np.interp(v, vs, centre - half)) - 0.02
        pen.stroke([(edge, v), (edge - 0.02, v - 0.12 * v)], 0.01, tone=0.8, taper=(0.1, 0.9))


@motif("ground", 0.2, 3.0, "a pond")
def pond(pen: Pen) -> None:
    pen.wash(0.5, 0.5, 0.5, 0.5, 0.3)
    pen.stroke([(0.05, 0.45), (0.3, 0.15), (0.7, 0.12), (0.95, 0.4)], 0.02, tone=0.6, dry=0.4)
    _ripples(pen, 4, 0.3, 0.8, tone=0.5)
    for u in (0.08, 0.12, 0.9):
        pen.stroke([(u, 0.45), (u + 0.02, 0.0)], 0.012, tone=0.8, taper=(0.05, 0.9))


@motif("ground", 0.3, 3.0, "the sea")
def sea(pen: Pen) -> None:
    _water(pen, 0.3, 4)
    for k in range(int(pen.rng.integers(2, 4))):
        u, v = pen.r(0.1, 0.7), 0.4 + k * 0.2
        pen.stroke(
            [(u, v), (u + 0.08, v - 0.12), (u + 0.16, v - 0.1), (u + 0.14, v - 0.04)],
            0.03,
            taper=(0.1, 0.6),
        )
        pen.stroke([(u - 0.1, v + 0.02), (u, v)], 0.02, tone=0.6)


@motif("ground", 0.3, 3.0, "a lake")
def lake(pen: Pen) -> None:
    _water(pen, 0.22, 6)


@motif("ground", 0.3, 3.0, "a rice field")
def field(pen: Pen) -> None:
    for k in range(7):
        v = (k / 6) ** 1.6 * 0.9 + 0.05
        pen.stroke([(0.0, v), (1.0, v + pen.r(-0.02, 0.02))], 0.006 + 0.02 * v, tone=0.5, dry=0.5)
        for _ in range(int(3 + 6 * v)):
            u = pen.r(0.02, 0.98)
            pen.stroke([(u, v), (u + 0.005, v - 0.02 - 0.06 * v)], 0.004 + 0.01 * v, tone=0.7)


@motif("ground", 0.2, 3.0, "the shore")
def shore(pen: Pen) -> None:
    pen.canvas.wash_band(pen.p(0, 0.55)[1], pen.box[3], 0.12 * pen.tone)
    pen.stroke([(0.0, 0.5), (0.3, 0.6), (0.6, 0.52), (1.0, 0.65)], 0.025, dry=0.4)
    pen.stroke([(0.0, 0.4), (0.4, 0.46), (0.9, 0.4)], 0.01, tone=0.5, dry=0.5)
    for _ in range(8):
        pen.dab(pen.r(0.05, 0.95), pen.r(0.7, 0.95), pen.r(0.01, 0.03), tone=0.7)
