"""The ink painter: a haiga of the poem's subjects, composed with empty space, in brush and wash.

The scene names the subjects; the composer picks a framing (landscape or close-up), puts
the main subject on a third, scales the others by distance, and records what it drew and
where, so alt text can say what is really in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from generators.image.base import InkOptions, Painting, check_paint_inputs
from generators.image.brush import Box, Colour, InkCanvas, stamp_seal
from generators.image.lettering import letter_poem
from generators.image.motifs import Motif, Pen, motif_for
from generators.image.quality import ensure_usable
from generators.image.scene import Scene, scene_from_poem, scene_value
from generators.poem.base import Poem

# The lettering's ink: a little lighter than the strokes, so the poem does not outweigh them.
_LETTER_COLOUR = (62, 58, 54)
VERMILION: Colour = (0.86, 0.3, 0.2)
BLOSSOM_PINK: Colour = (0.93, 0.55, 0.62)
MAPLE_RED: Colour = (0.85, 0.28, 0.12)
GLOW: Colour = (0.95, 0.8, 0.35)
# Scene values with no subject of their own: the weather "clear" draws nothing.
_UNDRAWN = frozenset({"clear"})
# Ground motifs that fill a place within the land rather than the whole foreground.
_POOLS = frozenset({"pond", "garden", "ice", "dew", "path"})


@dataclass(frozen=True)
class Drawn:
    """One subject as painted: its name and its box (left, top, right, bottom) in pixels."""

    subject: str
    box: tuple[int, int, int, int]


class InkPainter:
    """Paints the poem's subjects as a haiga: ink strokes and washes on paper, a red seal."""

    name = "ink"

    def __init__(self, options: InkOptions | None = None) -> None:
        self.options = options or InkOptions()

    def paint(self, poem: Poem, *, size: int, seed: int) -> Painting:
        """Paint `poem` as a `size` x `size` ink painting, byte-identical for the same seed."""
        check_paint_inputs(size=size, seed=seed)
        scene = scene_from_poem(poem)
        rng = np.random.default_rng(seed)
        canvas = InkCanvas(size, rng)
        composer = _Composer(scene, canvas, rng)
        drawn = composer.compose()
        image = canvas.render(_accent(scene, drawn))
        left, right = composer.strip
        lettered = None
        if self.options.lettering:
            lettered = letter_poem(
                image,
                poem.lines,
                canvas.coverage(),
                # Never over a subject, nor under weather that covers the sheet.
                [d.box for d in drawn],
                strip=composer.strip,
                colour=_LETTER_COLOUR,
            )
        if composer.framing == "scroll":
            mount_scroll(image, left, right)
        s = size * 0.045
        margin = (right - left) * 0.05
        x = left + margin if composer.seal_side < 0 else right - margin - s
        stamp_seal(image, (x, size * 0.92 - s, x + s, size * 0.92))
        ensure_usable(image, what="the ink painter")
        return Painting(
            image=image,
            prompt=scene.prompt + ", ink wash painting on washi paper, sumi-e, haiga",
            engine=self.name,
            model=None,
            description=describe(drawn, composer.framing, scene.time_of_day)
            + (", the poem lettered beside it" if lettered else ""),
            drawn=tuple((d.subject, d.box) for d in drawn),
            not_drawn=not_drawn(scene),
            framing=composer.framing,
            lettering=lettered,
        )


def subjects_of(scene: Scene) -> list[str]:
    """Every subject the scene asks for, named once by its motif (word bank first)."""
    names: list[str] = []
    seen: set[str] = set()
    # The scene's general word for a named subject ("birds" for a crow, "lake" for a pond)
    # is already drawn by that subject.
    covered = {scene_value(k) for k in scene.subjects} - set(scene.subjects)
    general = (*scene.celestial, *scene.terrain, *scene.flora, *scene.fauna, scene.weather)
    for value in (*scene.subjects, *(v for v in general if v not in covered)):
        found = motif_for(value)
        if value in _UNDRAWN or found is None or found.name in seen:
            continue
        seen.add(found.name)
        names.append(found.name)
    return names


def not_drawn(scene: Scene) -> tuple[str, ...]:
    """What the poem names that no motif draws: unknown words, and keywords with no motif."""
    missing = [k for k in scene.subjects if motif_for(k) is None]
    return tuple(dict.fromkeys((*missing, *scene.unknown)))


# The order a describer names things in: the main subjects first, the weather last.
_DESCRIBE_ORDER = {"figure": 0, "ground": 1, "far": 2, "sky": 3, "overlay": 4}
_TIME_PHRASES = {"dawn": " at dawn", "dusk": " at dusk", "night": " at night", "day": ""}


def describe(drawn: list[Drawn], framing: str, time_of_day: str = "day") -> str:
    """Alt-text words for what was drawn: "a heron, a river and mountains at dusk, in ink"."""
    motifs = [m for d in drawn if (m := motif_for(d.subject)) is not None]
    phrases = [m.phrase for m in sorted(motifs, key=lambda m: _DESCRIBE_ORDER[m.kind])]
    if not phrases:
        return "empty paper with a single ink stroke and a red seal"
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    view = {"close-up": ", seen close up", "scroll": ", as a hanging scroll"}.get(framing, "")
    return f"{listed}{_TIME_PHRASES.get(time_of_day, '')}{view}, in ink on paper"


def _accent(scene: Scene, drawn: list[Drawn]) -> Colour:
    names = {d.subject for d in drawn}
    if names & {"blossom", "plum", "flowers", "lotus"}:
        return BLOSSOM_PINK
    if "leaves" in names:
        return MAPLE_RED
    if names & {"lantern", "firefly"} and scene.time_of_day == "night":
        return GLOW
    return VERMILION


# The hanging scroll's silk mount, around the painting's strip, and its edge.
MOUNT: Colour = (0.78, 0.77, 0.72)
MOUNT_EDGE: Colour = (0.42, 0.4, 0.36)
# The scroll's painting: a strip a little under half the sheet wide (about 1:2.2).
SCROLL_WIDTH = 0.46


def mount_scroll(image: Image.Image, left: float, right: float) -> None:
    """Frame the strip [left, right) as a hanging scroll: silk on both sides, a thin edge."""
    size = image.size[1]
    draw = ImageDraw.Draw(image)
    silk = tuple(int(c * 255 + 0.5) for c in MOUNT)
    edge = tuple(int(c * 255 + 0.5) for c in MOUNT_EDGE)
    draw.rectangle((0, 0, int(left) - 1, size), fill=silk)
    draw.rectangle((int(right), 0, size, size), fill=silk)
    line = max(1, round(size * 0.003))
    for x in (int(left) - line, int(right)):
        draw.rectangle((x, 0, x + line - 1, size), fill=edge)


class _Composer:
    """Lays out one painting: framing, horizon, the main subject on a third, the rest by depth."""

    def __init__(self, scene: Scene, canvas: InkCanvas, rng: np.random.Generator) -> None:
        self.scene, self.canvas, self.rng, self.size = scene, canvas, rng, canvas.size
        self.drawn: list[Drawn] = []
        motifs = [m for name in subjects_of(scene) if (m := motif_for(name)) is not None]
        self.figures = [m for m in motifs if m.kind == "figure"]
        self.sky = [m for m in motifs if m.kind == "sky"]
        self.far = [m for m in motifs if m.kind == "far"]
        self.ground = [m for m in motifs if m.kind == "ground"]
        self.overlay = [m for m in motifs if m.kind == "overlay"]
        main = self.figures[0] if self.figures else None
        # A close-up is one subject and little else (one branch, one frog): a poem of many
        # places is a landscape, so that nothing it names is left out.
        few = len(self.ground) <= 1 and len(self.far) <= 1 and len(self.figures) <= 3
        draw_framing = rng.random()
        if main is not None and main.close_up and few and draw_framing < 0.6:
            self.framing = "close-up"
        elif draw_framing > 0.7:
            # A hanging scroll: a tall strip read from the far peaks down to the near figure.
            self.framing = "scroll"
        else:
            self.framing = "landscape"
        s = self.size
        width = s * SCROLL_WIDTH if self.framing == "scroll" else s
        self.strip = ((s - width) / 2, (s + width) / 2)
        # The main subject's third; the seal and the sky's bodies balance it on the other side.
        self.side = 1 if rng.random() < 0.5 else -1
        self.seal_side = -self.side if rng.random() < 0.7 else self.side
        # The horizon sits high or low, never in the middle.
        self.horizon = self.size * float(rng.choice([0.3, 0.36, 0.42, 0.58, 0.64, 0.7]))

    def draw(self, m: Motif, box: Box, *, tone: float = 1.0, flip: bool | None = None) -> None:
        """Draw a motif in a box and record it, clipped to the canvas."""
        facing = bool(self.rng.random() < 0.5) if flip is None else flip
        m.draw(Pen(self.canvas, box, self.rng, tone=tone, flip=facing))
        s = self.size
        left, right = self.strip
        x0, x1 = (int(round(min(max(v, left), right))) for v in (box[0], box[2]))
        y0, y1 = (int(round(min(max(v, 0), s))) for v in (box[1], box[3]))
        self.drawn.append(Drawn(m.name, (x0, y0, x1, y1)))

    def box_at(self, m: Motif, cx: float, bottom: float, scale: float) -> Box:
        """The box of motif `m` standing at (cx, bottom), `scale` of the canvas tall."""
        h = self.size * scale
        w = h * m.aspect
        return (cx - w / 2, bottom - h, cx + w / 2, bottom)

    def compose(self) -> list[Drawn]:
        """Paint far to near, then the weather; returns what was drawn and where."""
        if self.scene.time_of_day == "night":
            # Night: the whole sheet dimmed, the sky darkest at the top; the moon, stars and
            # lights are reserved out of this wash as bare paper.
            self.canvas.night = True
            sky_end = self.horizon if self.framing != "close-up" else self.size * 0.75
            self.canvas.veil(0.16)
            self.canvas.wash_band(-self.size * 0.05, sky_end, 0.5, soft=0.05)
        if self.framing == "close-up":
            self._close_up()
        elif self.framing == "scroll":
            self._scroll()
        else:
            self._landscape()
        left, right = self.strip
        for m in self.overlay:
            self.draw(m, (left, 0.0, right, float(self.size)), tone=0.9, flip=False)
        if not self.drawn:
            self._lone_stroke()
        return self.drawn

    def _sky_bodies(self, top: float, bottom: float, scale: float) -> None:
        s, rng = self.size, self.rng
        for i, m in enumerate(self.sky):
            h = s * m.scale * scale
            cx = s * (0.5 - self.side * float(rng.uniform(0.15, 0.3))) + i * s * 0.08 * self.side
            cy = top + (bottom - top) * float(rng.uniform(0.25, 0.55))
            w = h * m.aspect
            cx = min(max(cx, w / 2 + s * 0.04), s - w / 2 - s * 0.04)
            self.draw(m, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), tone=0.85)

    def _landscape(self) -> None:
        s, rng, hz = self.size, self.rng, self.horizon
        self._sky_bodies(s * 0.04, hz * 0.85, 1.0)
        for i, m in enumerate(self.far):
            width = s * float(rng.uniform(0.6, 0.95))
            x0 = float(rng.uniform(-0.1, 1.0 - width / s + 0.1)) * s
            height = min(s * m.scale * (1.0 - 0.3 * i), hz * 0.8)
            self.draw(m, (x0, hz - height, x0 + width, hz + s * 0.02), tone=0.55 - 0.12 * i)
        for i, m in enumerate(self.ground):
            top = hz if i == 0 else hz + (s - hz) * 0.45
            if m.name in _POOLS:
                # A pond or a garden is a place within the land, not the whole foreground.
                width = s * float(rng.uniform(0.5, 0.7))
                x0 = s * (0.5 - self.side * 0.15) - width / 2
                box = (x0, top + (s - top) * 0.3, x0 + width, top + (s - top) * 0.3 + width / 3)
                self.draw(m, box, tone=0.75)
                continue
            self.draw(m, (0.0, top, float(s), float(s) * 0.98), tone=0.75)
        if not self.ground and self.figures:
            # A few strokes of bank under the figures, so they stand somewhere.
            y = hz + (s - hz) * float(rng.uniform(0.55, 0.8))
            self.canvas.stroke(
                [(s * 0.05, y), (s * 0.5, y + s * 0.01), (s * 0.95, y - s * 0.01)],
                s * 0.012,
                tone=0.45,
                dry=0.6,
            )
        ground_room = s - hz
        for i, m in enumerate(self.figures):
            if i == 0:
                scale = m.scale * float(rng.uniform(0.9, 1.15))
                cx = s * (0.5 + self.side / 6.0)
                bottom = hz + ground_room * float(rng.uniform(0.7, 0.9))
                tone = 1.0
            else:
                # Farther back: smaller, fainter, nearer the horizon, across from the main.
                depth = min(0.35 + 0.2 * i, 0.8)
                scale = m.scale * (1.0 - depth * 0.6)
                cx = s * (0.5 - self.side * float(rng.uniform(0.12, 0.32)))
                bottom = hz + ground_room * (0.25 + 0.3 * (1.0 - depth))
                tone = 1.0 - depth * 0.6
            scale = min(scale, (bottom / s) * 0.95)
            box = self.box_at(m, cx, bottom, scale)
            shift = max(0.0, s * 0.02 - box[0]) - max(0.0, box[2] - s * 0.98)
            self.draw(m, (box[0] + shift, box[1], box[2] + shift, box[3]), tone=tone)

    def _scroll(self) -> None:
        """A tall strip: peaks high up, the ground below, the main figure near the bottom."""
        s, rng = self.size, self.rng
        left, right = self.strip
        width = right - left
        hz = s * float(rng.uniform(0.34, 0.48))
        for i, m in enumerate(self.sky):
            h = s * m.scale * 0.8
            w = min(h * m.aspect, width * 0.8)
            cx = left + width * (0.5 - self.side * 0.22) + i * width * 0.1 * self.side
            cx = min(max(cx, left + w / 2 + width * 0.04), right - w / 2 - width * 0.04)
            cy = s * float(rng.uniform(0.1, 0.2))
            self.draw(m, (cx - w / 2, cy - h * 0.4, cx + w / 2, cy + h * 0.4), tone=0.85)
        for i, m in enumerate(self.far):
            # Peaks rise steeply in a scroll: taller than a landscape's, fading upward.
            height = min(s * m.scale * (1.5 - 0.35 * i), hz * 0.85)
            x0 = left - width * float(rng.uniform(0.0, 0.2))
            box = (x0, hz - height, x0 + width * 1.2, hz + s * 0.02)
            self.draw(m, box, tone=0.6 - 0.15 * i)
        for i, m in enumerate(self.ground):
            top = hz + (s - hz) * (0.0 if i == 0 else 0.4)
            if m.name in _POOLS:
                box = (left + width * 0.1, top + (s - top) * 0.3, right - width * 0.1, s * 0.95)
                self.draw(m, box, tone=0.75)
                continue
            self.draw(m, (left, top, right, s * 0.98), tone=0.75)
        for i, m in enumerate(self.figures):
            if i == 0:
                bottom = s * float(rng.uniform(0.84, 0.92))
                scale = m.scale * float(rng.uniform(1.0, 1.3))
                cx = left + width * (0.5 + self.side * 0.18)
                tone = 1.0
            else:
                depth = min(0.35 + 0.2 * i, 0.8)
                bottom = hz + (s - hz) * (0.2 + 0.35 * (1.0 - depth))
                scale = m.scale * (1.0 - depth * 0.6)
                cx = left + width * (0.5 - self.side * float(rng.uniform(0.1, 0.25)))
                tone = 1.0 - depth * 0.6
            # Never wider than the strip.
            scale = min(scale, width * 0.85 / (m.aspect * s), (bottom / s) * 0.95)
            box = self.box_at(m, cx, bottom, scale)
            shift = max(0.0, left + width * 0.03 - box[0]) - max(0.0, box[2] - right + width * 0.03)
            self.draw(m, (box[0] + shift, box[1], box[2] + shift, box[3]), tone=tone)

    def _close_up(self) -> None:
        s, rng = self.size, self.rng
        main, others = self.figures[0], self.figures[1:]
        # A low horizon of water or land as a pale band, if the poem names one.
        band_top = s * float(rng.uniform(0.72, 0.85))
        for m in self.ground[:1]:
            self.draw(m, (0.0, band_top, float(s), float(s)), tone=0.5)
        for m in self.far[:1]:
            self.draw(m, (0.0, band_top - s * 0.2, float(s), band_top), tone=0.3)
        self._sky_bodies(s * 0.05, s * 0.45, 0.8)
        for i, m in enumerate(others):
            h = s * 0.16
            cx = s * (0.5 - self.side * (0.3 - i * 0.1))
            box = self.box_at(m, cx, band_top - s * 0.02 * i, h / s)
            self.draw(m, box, tone=0.55)
        h = s * float(rng.uniform(0.36, 0.6))
        w = min(h * main.aspect, s * 0.85)
        h = w / main.aspect
        # On its third, give or take: two close-ups of one subject should not coincide.
        cx = s * (0.5 + self.side * float(rng.uniform(0.1, 0.24)))
        cx = min(max(cx, w / 2 + s * 0.03), s - w / 2 - s * 0.03)
        bottom = s * float(rng.uniform(0.7, 0.9))
        self.draw(main, (cx - w / 2, bottom - h, cx + w / 2, bottom), tone=1.0)

    def _lone_stroke(self) -> None:
        """A poem with no drawable subject gets one open brush circle, and says so."""
        s = self.size
        self.canvas.stroke(
            [
                (s * (0.5 + 0.22 * np.cos(a)), s * (0.48 + 0.22 * np.sin(a)))
                for a in np.linspace(-1.2, 4.4, 16)
            ],
            s * 0.035,
            dry=0.5,
            taper=(0.15, 0.5),
        )
