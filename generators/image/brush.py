"""Ink on paper: brush strokes with pressure, taper and dry-brush texture, washes, paper, seal.

Strokes are drawn supersampled into one Pillow "L" layer of ink density, so a nearer stroke
covers a farther one (painting far to near gives depth order) and a stroke of density 0
reserves white paper. Soft washes live in a small float field, upscaled once at the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Point = tuple[float, float]
Box = tuple[float, float, float, float]
Colour = tuple[float, float, float]

PAPER: Colour = (0.955, 0.925, 0.86)
INK: Colour = (0.07, 0.07, 0.08)
SEAL: Colour = (0.78, 0.16, 0.11)
# Washes are computed this many pixels across at most, then upscaled.
_WASH_RES = 256
_BICUBIC = Image.Resampling.BICUBIC


def _curve(points: Sequence[Point], samples: int) -> np.ndarray:
    """A Catmull-Rom spline through `points`, sampled at `samples` points."""
    pts = np.asarray(points, np.float64)
    if len(pts) == 1:
        return np.repeat(pts, 2, axis=0)
    if len(pts) == 2:
        t = np.linspace(0.0, 1.0, samples)[:, None]
        return pts[0] + (pts[1] - pts[0]) * t
    padded = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    segments = len(pts) - 1
    per = max(2, samples // segments)
    out = []
    t = np.linspace(0.0, 1.0, per, endpoint=False)[:, None]
    for i in range(segments):
        p0, p1, p2, p3 = padded[i : i + 4]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    out.append(pts[-1:])
    return np.vstack(out)


def _normals(line: np.ndarray) -> np.ndarray:
    d = np.gradient(line, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    length[length < 1e-9] = 1.0
    return np.stack([-d[:, 1] / length, d[:, 0] / length], axis=1)


def pressure(n: int, start: float, end: float) -> np.ndarray:
    """Brush pressure along a stroke: rising over `start`, falling over `end` (fractions)."""
    t = np.linspace(0.0, 1.0, n)
    rise = np.clip(t / max(start, 1e-3), 0.0, 1.0)
    fall = np.clip((1.0 - t) / max(end, 1e-3), 0.0, 1.0)
    return np.maximum(np.sin(np.minimum(rise, fall) * math.pi / 2), 0.08)


class InkCanvas:
    """One painting's ink density (crisp strokes), accent density and wash field."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.rng = rng
        self.ss = 2 if size <= 2048 else 1
        self.ink = Image.new("L", (size * self.ss, size * self.ss), 0)
        self.accent = Image.new("L", (size * self.ss, size * self.ss), 0)
        self._draw = {"ink": ImageDraw.Draw(self.ink), "accent": ImageDraw.Draw(self.accent)}
        self.res = min(size, _WASH_RES)
        self.wash = np.zeros((self.res, self.res), np.float32)
        # Where washes must stay white (a moon, a firefly's glow): 1 keeps, 0 clears.
        self.keep = np.ones((self.res, self.res), np.float32)
        # Set by the composer for a night scene: the sky is washed dark, so lights are
        # reserved as bare paper rather than painted in ink.
        self.night = False

    # --- crisp strokes --------------------------------------------------------------------

    def _fill(self, tone: float) -> int:
        return int(round(min(max(tone, 0.0), 1.0) * 255))

    def stroke(
        self,
        points: Sequence[Point],
        width: float,
        *,
        tone: float = 1.0,
        taper: tuple[float, float] = (0.25, 0.35),
        dry: float = 0.0,
        accent: bool = False,
    ) -> None:
        """One brush stroke through `points`: width follows pressure, dry strokes break up."""
        ss = self.ss
        length = sum(math.dist(a, b) for a, b in zip(points, points[1:], strict=False))
        samples = int(min(max(length / 3.0, 8), 160))
        line = _curve(points, samples) * ss
        widths = width * ss * pressure(len(line), *taper)
        normals = _normals(line)
        draw = self._draw["accent" if accent else "ink"]
        fill = self._fill(tone)
        if dry <= 0.0 or width < 3.0:
            half = (widths / 2)[:, None]
            outline = np.vstack([line + normals * half, (line - normals * half)[::-1]])
            draw.polygon([tuple(p) for p in outline.tolist()], fill=fill)
            return
        # Dry brush: separate bristles, each running out of ink at its own point.
        bristles = int(min(max(width / 2.5, 3), 14))
        rng = self.rng
        for b in range(bristles):
            offset = (b + 0.5) / bristles - 0.5
            path = line + normals * (widths * offset)[:, None]
            end = int(len(path) * (1.0 - dry * float(rng.uniform(0.0, 0.7))))
            start = int(len(path) * dry * float(rng.uniform(0.0, 0.15)))
            gaps = rng.random(len(path)) < dry * 0.12
            segment: list[tuple[float, float]] = []
            for i in range(start, max(end, start + 2)):
                if gaps[i] and len(segment) > 1:
                    draw.line(segment, fill=fill, width=max(1, round(width * ss / bristles * 1.5)))
                    segment = []
                segment.append((float(path[i, 0]), float(path[i, 1])))
            if len(segment) > 1:
                draw.line(segment, fill=fill, width=max(1, round(width * ss / bristles * 1.5)))

    def blob(
        self, cx: float, cy: float, rx: float, ry: float, *, tone: float = 1.0, accent: bool = False
    ) -> None:
        """A filled ellipse: a dab of the brush's belly, an eye, a berry, a reserved white disc."""
        ss = self.ss
        self._draw["accent" if accent else "ink"].ellipse(
            ((cx - rx) * ss, (cy - ry) * ss, (cx + rx) * ss, (cy + ry) * ss), fill=self._fill(tone)
        )

    def shape(self, points: Sequence[Point], *, tone: float = 1.0, accent: bool = False) -> None:
        """A filled polygon (a roof, a hull, a mountain's mass) in flat ink."""
        ss = self.ss
        self._draw["accent" if accent else "ink"].polygon(
            [(x * ss, y * ss) for x, y in points], fill=self._fill(tone)
        )

    # --- washes ---------------------------------------------------------------------------

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        axis = (np.arange(self.res, dtype=np.float32) + 0.5) / self.res * self.size
        return axis[None, :], axis[:, None]

    def wash_band(self, y0: float, y1: float, tone: float, *, soft: float = 0.3) -> None:
        """A horizontal graded band, darkest at `y0` fading to nothing by `y1` (mist, water)."""
        _, ys = self._grid()
        t = np.clip((ys - y0) / (y1 - y0), 0.0, 1.0)
        edge = np.clip((ys - y0) / max(abs(y1 - y0) * soft, 1.0) + 1.0, 0.0, 1.0)
        band = tone * (1.0 - t) * edge
        self.wash = np.maximum(self.wash, np.broadcast_to(band, self.wash.shape))

    def veil(self, tone: float) -> None:
        """An even wash over the whole sheet (the dark of night)."""
        self.wash = np.maximum(self.wash, np.float32(tone))

    def wash_blob(self, cx: float, cy: float, rx: float, ry: float, tone: float) -> None:
        """A soft elliptical wash (a cloud, a pond, a distant hill's body)."""
        xs, ys = self._grid()
        d = ((xs - cx) / max(rx, 1.0)) ** 2 + ((ys - cy) / max(ry, 1.0)) ** 2
        self.wash = np.maximum(self.wash, tone * np.clip(1.0 - d, 0.0, 1.0) ** 0.7)

    def wash_profile(
        self, x0: float, x1: float, tops: np.ndarray, bottom: float, tone: float
    ) -> None:
        """A wash under a skyline `tops` (y per column across x0..x1), fading down to `bottom`."""
        xs, ys = self._grid()
        column = np.clip((xs - x0) / max(x1 - x0, 1.0), 0.0, 1.0)
        top = np.interp(column[0], np.linspace(0, 1, len(tops)), tops)[None, :]
        # The sides fade out over a tenth of the width, so a range never ends in a cut edge.
        sides = np.clip(np.minimum(xs - x0, x1 - xs) / max((x1 - x0) * 0.1, 1.0), 0.0, 1.0)
        fade = np.clip(1.0 - (ys - top) / max(bottom - top.min(), 1.0), 0.0, 1.0) ** 0.6
        self.wash = np.maximum(self.wash, np.where(ys >= top, tone * fade * sides, 0.0))

    def clear(self, cx: float, cy: float, r: float, *, halo: float = 1.6) -> None:
        """Keep washes off a disc (a moon, a glow), softening into a halo."""
        xs, ys = self._grid()
        d = np.hypot(xs - cx, ys - cy) / max(r, 1.0)
        self.keep = np.minimum(self.keep, np.clip((d - 1.0) / (halo - 1.0), 0.0, 1.0))

    # --- finishing ------------------------------------------------------------------------

    def density(self) -> np.ndarray:
        """Total ink density per pixel (strokes over washes), 0..1, at canvas size."""
        ink = self.ink.reduce(self.ss) if self.ss > 1 else self.ink
        # A touch of blur is ink bleeding into the paper's fibres.
        ink = ink.filter(ImageFilter.GaussianBlur(max(0.5, self.size / 1400)))
        strokes = np.asarray(ink, np.float32) / 255.0
        wash = _upscale(self.wash * self.keep, self.size)
        return 1.0 - (1.0 - strokes) * (1.0 - wash)

    def coverage(self) -> np.ndarray:
        """How much paint (ink, wash or accent) lies on each pixel, 0..1, at canvas size."""
        acc = self.accent.reduce(self.ss) if self.ss > 1 else self.accent
        return np.maximum(self.density(), np.asarray(acc, np.float32) / 255.0)

    def render(self, accent: Colour, *, paper: Colour = PAPER, ink: Colour = INK) -> Image.Image:
        """The painting: paper with fibres, ink laid by density, the accent over it."""
        size, rng = self.size, self.rng
        fibre = _fibres(rng, size)
        density = np.clip(self.density() * (1.0 + 0.12 * fibre), 0.0, 1.0)[..., None]
        base = np.asarray(paper, np.float32) * (1.0 + 0.012 * fibre[..., None])
        rgb = base + (np.asarray(ink, np.float32) - base) * density
        acc = self.accent.reduce(self.ss) if self.ss > 1 else self.accent
        a = (np.asarray(acc, np.float32) / 255.0)[..., None] * 0.9
        # The accent is a watercolour: it tints the paper and lets the ink beneath show.
        tint = rgb * np.asarray(accent, np.float32) / np.asarray(paper, np.float32)
        rgb = rgb + (tint - rgb) * a
        return Image.fromarray((np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8))


def _upscale(field: np.ndarray, size: int) -> np.ndarray:
    if field.shape[0] == size:
        return field.astype(np.float32)
    image = Image.fromarray(field.astype(np.float32)).resize((size, size), _BICUBIC)
    return np.clip(np.asarray(image, np.float32), 0.0, 1.0)


def _fibres(rng: np.random.Generator, size: int) -> np.ndarray:
    """Washi fibres: long soft streaks over fine grain, mean 0, roughly -1..1."""
    small = max(8, size // 4)
    grain = rng.standard_normal((small, small)).astype(np.float32)
    # Fibres lie mostly along the sheet: noise stretched eight times wider than tall.
    streaks = rng.standard_normal((small, small // 8 + 2)).astype(np.float32)
    long = (
        np.asarray(Image.fromarray(streaks).resize((small, small), _BICUBIC), np.float32) * 0.6
        + 0.4 * grain
    )
    field = np.asarray(Image.fromarray(long).resize((size, size), _BICUBIC), np.float32)
    return np.clip(field / 2.5, -1.0, 1.0)


def stamp_seal(image: Image.Image, box: Box) -> None:
    """Kavi's seal: a small red square with a carved mark (a brush-stroke 'K' and a dot)."""
    x0, y0, x1, y1 = box
    draw = ImageDraw.Draw(image)
    red = tuple(int(c * 255) for c in SEAL)
    draw.rounded_rectangle(box, radius=(x1 - x0) * 0.08, fill=red)
    paper = tuple(int(c * 255) for c in PAPER)
    w = x1 - x0
    line = max(1, round(w * 0.09))

    def at(u: float, v: float) -> tuple[float, float]:
        return (x0 + u * w, y0 + v * (y1 - y0))

    draw.rectangle((*at(0.1, 0.1), *at(0.9, 0.9)), outline=paper, width=max(1, line // 2))
    draw.line([at(0.35, 0.22), at(0.35, 0.78)], fill=paper, width=line)
    draw.line([at(0.68, 0.24), at(0.37, 0.52), at(0.7, 0.78)], fill=paper, width=line)
    r = w * 0.05
    cx, cy = at(0.72, 0.5)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=paper)
