"""The offline painter: a seeded generative landscape (or abstract flow field) from a poem's scene.

Smooth things (sky, washes, mist, noise) are computed small in numpy and upscaled by
Pillow; crisp things (ridges, trees, birds) are drawn at full size into supersampled
masks. That keeps a 1024 px painting well under a second on a small CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from generators.image.base import Painting, check_paint_inputs
from generators.image.quality import ensure_usable
from generators.image.scene import Scene, scene_from_poem
from generators.poem.base import Poem

# Smooth fields are computed at most this many pixels across, then upscaled.
_FIELD_RES = 256
_BICUBIC = Image.Resampling.BICUBIC

Colour = tuple[float, float, float]


class ProceduralPainter:
    """Paints the poem's scene as a layered landscape, or a flow field when it names no scene."""

    name = "procedural"

    def paint(self, poem: Poem, *, size: int, seed: int) -> Painting:
        """Paint `poem` as a `size` x `size` RGB image, byte-identical for the same seed."""
        check_paint_inputs(size=size, seed=seed)
        scene = scene_from_poem(poem)
        rng = np.random.default_rng(seed)
        if scene.abstract:
            image = _FlowField(scene, size, rng).render()
        else:
            image = _Landscape(scene, size, rng).render()
        ensure_usable(image, what="the procedural painter")
        return Painting(
            image=image,
            prompt=scene.prompt,
            engine=self.name,
            model=None,
            description=scene.describe(),
        )


# --- noise -----------------------------------------------------------------------------


def _noise2d(
    rng: np.random.Generator,
    shape: tuple[int, int],
    cells: tuple[float, float],
    *,
    octaves: int = 4,
    persistence: float = 0.5,
) -> np.ndarray:
    """Fractal value noise of `shape` (rows, cols), standardised to mean 0 and std 1.

    Each octave is a random lattice of `cells` (rows, cols) upscaled bicubically by Pillow,
    which is value noise with cubic interpolation at C speed.
    """
    height, width = shape
    total = np.zeros(shape, np.float32)
    amplitude = 1.0
    cells_y, cells_x = cells
    for _ in range(octaves):
        cy, cx = max(1, round(cells_y)), max(1, round(cells_x))
        lattice = rng.random((cy + 3, cx + 3), dtype=np.float32)
        # The one-cell margin keeps the border away from the filter's clamped edge.
        layer = Image.fromarray(lattice).resize(
            (width, height), _BICUBIC, box=(1, 1, cx + 1, cy + 1)
        )
        total += amplitude * np.asarray(layer, np.float32)
        amplitude *= persistence
        cells_y, cells_x = cells_y * 2, cells_x * 2
    std = float(total.std())
    return (total - float(total.mean())) / (std if std > 1e-6 else 1.0)


def _noise1d(
    rng: np.random.Generator,
    length: int,
    cells: float,
    *,
    octaves: int = 5,
    persistence: float = 0.5,
) -> np.ndarray:
    """Fractal value noise along one axis, standardised to mean 0 and std 1."""
    return _noise2d(rng, (1, length), (1, cells), octaves=octaves, persistence=persistence)[0]


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# --- colour ----------------------------------------------------------------------------


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _scale(c: Colour, k: float) -> Colour:
    return (c[0] * k, c[1] * k, c[2] * k)


def _rgb(c: Colour, alpha: float | None = None) -> tuple[int, ...]:
    channels = [int(round(min(max(v, 0.0), 1.0) * 255)) for v in c]
    if alpha is not None:
        channels.append(int(round(min(max(alpha, 0.0), 1.0) * 255)))
    return tuple(channels)


def _grey(c: Colour) -> Colour:
    y = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
    return (y, y, y)


def _to_image(field: np.ndarray, size: int) -> Image.Image:
    """A float RGB (or L) field in 0..1, upscaled to the canvas."""
    data = (np.clip(field, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    image = Image.fromarray(data)
    return image if image.size == (size, size) else image.resize((size, size), _BICUBIC)


# Sky top, sky middle, horizon, light source, distant land, ink (darkest silhouettes).
_TIME_PALETTES: dict[str, tuple[Colour, Colour, Colour, Colour, Colour, Colour]] = {
    "dawn": (
        (0.30, 0.34, 0.56),
        (0.74, 0.62, 0.72),
        (0.99, 0.82, 0.64),
        (1.00, 0.86, 0.62),
        (0.46, 0.42, 0.56),
        (0.17, 0.13, 0.20),
    ),
    "day": (
        (0.33, 0.55, 0.82),
        (0.58, 0.75, 0.90),
        (0.88, 0.91, 0.92),
        (1.00, 0.98, 0.90),
        (0.40, 0.50, 0.60),
        (0.11, 0.14, 0.14),
    ),
    "dusk": (
        (0.16, 0.16, 0.36),
        (0.62, 0.35, 0.46),
        (0.99, 0.65, 0.36),
        (1.00, 0.78, 0.45),
        (0.34, 0.23, 0.37),
        (0.10, 0.06, 0.11),
    ),
    "night": (
        (0.04, 0.06, 0.16),
        (0.09, 0.13, 0.29),
        (0.22, 0.28, 0.44),
        (0.96, 0.95, 0.86),
        (0.13, 0.16, 0.28),
        (0.03, 0.04, 0.08),
    ),
}
_GROUND: dict[str | None, Colour] = {
    "spring": (0.53, 0.67, 0.38),
    "summer": (0.31, 0.51, 0.26),
    "autumn": (0.72, 0.53, 0.28),
    "winter": (0.90, 0.92, 0.96),
    None: (0.47, 0.57, 0.36),
}
_LIGHT_LEVEL = {"dawn": 0.8, "day": 1.0, "dusk": 0.62, "night": 0.3}


@dataclass(frozen=True)
class _Palette:
    """The colours of one painting, harmonised by time of day, season and weather."""

    top: Colour
    mid: Colour
    horizon: Colour
    light: Colour
    land: Colour
    ink: Colour
    haze: Colour
    ground: Colour
    water: Colour
    level: float


def _palette(scene: Scene) -> _Palette:
    top, mid, horizon, light, land, ink = _TIME_PALETTES[scene.time_of_day]
    level = _LIGHT_LEVEL[scene.time_of_day]
    if scene.season == "autumn":
        horizon = _mix(horizon, (1.0, 0.78, 0.55), 0.25)
    elif scene.season == "winter":
        top, mid = _mix(top, _grey(top), 0.35), _mix(mid, _grey(mid), 0.35)
    elif scene.season == "spring":
        horizon = _mix(horizon, (1.0, 0.86, 0.88), 0.25)
    if scene.weather == "rain":
        top, mid, horizon = (_mix(c, _scale(_grey(c), 0.85), 0.7) for c in (top, mid, horizon))
        light, level = _mix(light, _grey(light), 0.7), level * 0.8
    elif scene.weather == "snow":
        grey = _scale((0.80, 0.82, 0.87), level)
        top, mid, horizon = (_mix(c, grey, 0.5) for c in (top, mid, horizon))
    elif scene.weather == "mist":
        pale = _scale((0.92, 0.92, 0.93), max(level, 0.35))
        mid, horizon = _mix(mid, pale, 0.35), _mix(horizon, pale, 0.45)
    ground = _GROUND[scene.season]
    if scene.weather == "snow":
        ground = _GROUND["winter"]
    # Land takes on the sky's light: lit by its level and tinted by the horizon.
    # Snow holds what light there is, so snowy ground stays pale even under the moon.
    ground_level = max(level, 0.55) if ground == _GROUND["winter"] else level
    ground = _mix(
        _scale(ground, ground_level), _scale(horizon, level), 0.25 if level > 0.5 else 0.4
    )
    haze = _mix(horizon, mid, 0.3)
    water = _mix(_mix(top, mid, 0.5), land, 0.3)
    return _Palette(top, mid, horizon, light, land, ink, haze, ground, water, level)


# --- drawing ---------------------------------------------------------------------------


class _Ink:
    """A mask drawn supersampled in canvas coordinates, then laid on in one colour."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ss = 2 if size <= 2048 else 1
        self.mask = Image.new("L", (size * self.ss, size * self.ss), 0)
        self.draw = ImageDraw.Draw(self.mask)

    def polygon(self, points: list[tuple[float, float]], fill: int = 255) -> None:
        ss = self.ss
        self.draw.polygon([(x * ss, y * ss) for x, y in points], fill=fill)

    def line(self, points: list[tuple[float, float]], width: float, fill: int = 255) -> None:
        ss = self.ss
        self.draw.line(
            [(x * ss, y * ss) for x, y in points],
            fill=fill,
            width=max(1, round(width * ss)),
            joint="curve",
        )

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: int = 255) -> None:
        ss = self.ss
        self.draw.ellipse(
            ((cx - rx) * ss, (cy - ry) * ss, (cx + rx) * ss, (cy + ry) * ss), fill=fill
        )

    def final_mask(self, blur: float = 0.0) -> Image.Image:
        mask = self.mask.reduce(self.ss) if self.ss > 1 else self.mask
        return mask.filter(ImageFilter.GaussianBlur(blur)) if blur > 0 else mask

    def onto(self, canvas: Image.Image, colour: Colour | Image.Image, blur: float = 0.0) -> None:
        paint = (
            colour
            if isinstance(colour, Image.Image)
            else Image.new("RGB", canvas.size, _rgb(colour))
        )
        canvas.paste(paint, mask=self.final_mask(blur))


# --- the landscape ---------------------------------------------------------------------


class _Landscape:
    """One landscape painting, built back to front on a Pillow canvas."""

    def __init__(self, scene: Scene, size: int, rng: np.random.Generator) -> None:
        self.scene = scene
        self.size = size
        self.rng = rng
        self.res = min(size, _FIELD_RES)
        self.pal = _palette(scene)
        self.u = size / 1024.0  # one "design pixel" at this size
        terrain = scene.terrain
        self.water = next((t for t in ("sea", "lake", "river") if t in terrain), None)
        low, high = (0.52, 0.62) if self.water in ("sea", "lake") else (0.58, 0.70)
        self.horizon = float(rng.uniform(low, high)) * size
        # The featured tree stands on one side; the moon or sun balances it on the other.
        self.tree_side = 1 if rng.random() < 0.5 else -1
        self.light_x = size * (0.5 - self.tree_side * float(rng.uniform(0.12, 0.28)))
        if scene.time_of_day in ("dawn", "dusk"):
            self.light_y = self.horizon - size * float(rng.uniform(0.04, 0.12))
        else:
            self.light_y = size * float(rng.uniform(0.13, 0.26))
        if "moon" in scene.celestial:
            self.disc: str | None = "moon"
        elif "sun" in scene.celestial or scene.time_of_day in ("dawn", "dusk"):
            self.disc = "sun"
        else:
            self.disc = None
        self.has_glow = self.disc is not None or scene.time_of_day != "night"
        self.canvas = Image.new("RGB", (size, size))
        self.cloud_alpha: np.ndarray = np.zeros((self.res, self.res), np.float32)
        self.bank_y = size * float(rng.uniform(0.84, 0.9))

    # The order is the painting order: far to near.
    def render(self) -> Image.Image:
        self._sky()
        if self.scene.time_of_day == "night" and self.scene.weather in ("clear", "mist"):
            self._stars()
        if self.disc is not None and self.scene.weather != "rain":
            self._disc()
        self._distance()
        self._ground_and_water()
        if self.scene.weather == "mist":
            self._mist_band(self.horizon + self.size * 0.04, self.size * 0.07, 0.6)
            self._mist_band(self.bank_y - self.size * 0.06, self.size * 0.05, 0.3)
        self._foreground()
        if "birds" in self.scene.fauna:
            self._birds()
        self._weather()
        if "fireflies" in self.scene.fauna:
            self._fireflies()
        if "butterflies" in self.scene.fauna:
            self._butterflies()
        self._finish()
        return self.canvas

    # sky -------------------------------------------------------------------------------

    def _sky(self) -> None:
        pal, res, rng = self.pal, self.res, self.rng
        ys = ((np.arange(res, dtype=np.float32) + 0.5) / res)[:, None]
        xs = ((np.arange(res, dtype=np.float32) + 0.5) / res)[None, :]
        t = np.clip(ys / (self.horizon / self.size), 0.0, 1.0)
        top, mid, hor = (np.array(c, np.float32) for c in (pal.top, pal.mid, pal.horizon))
        upper = _smoothstep(0.0, 0.62, t)[..., None]
        lower = _smoothstep(0.5, 1.0, t)[..., None]
        sky = top + (mid - top) * upper
        sky = sky + (hor - sky) * lower
        sky = np.broadcast_to(sky, (res, res, 3)).copy()
        if self.has_glow:
            lx, ly = self.light_x / self.size, self.light_y / self.size
            d2 = (xs - lx) ** 2 + (ys - ly) ** 2
            strength = {"dawn": 0.55, "day": 0.3, "dusk": 0.65, "night": 0.35}[
                self.scene.time_of_day
            ]
            if self.scene.weather == "rain":
                strength *= 0.4
            glow = strength * (0.55 * np.exp(-d2 / 0.004) + 0.45 * np.exp(-d2 / 0.05))
            sky += glow[..., None] * np.array(pal.light, np.float32) * (1.0 - sky * 0.5)
        # Clouds: horizontally stretched noise, denser over the middle of the sky.
        cover = {"clear": 0.55, "mist": 0.45, "rain": 1.0, "snow": 0.85}[self.scene.weather]
        threshold = float(rng.uniform(0.2, 0.9)) - cover
        noise = _noise2d(rng, (res, res), (7, 2.2), octaves=5, persistence=0.55)
        band = _smoothstep(0.02, 0.35, t) * (1.0 - _smoothstep(0.85, 1.0, t))
        alpha = _smoothstep(threshold, threshold + 1.4, noise) * band * min(1.0, 0.55 + cover * 0.4)
        self.cloud_alpha = alpha
        if self.scene.time_of_day == "night":
            cloud = _mix(pal.mid, (0.55, 0.57, 0.66), 0.35)
        elif self.scene.weather == "rain":
            cloud = _scale(_grey(pal.mid), 0.78)
        else:
            cloud = _mix(_mix(pal.horizon, (1.0, 1.0, 1.0), 0.45), pal.light, 0.2)
        # Undersides a little darker than tops, read from the noise's vertical gradient.
        shade = np.clip(np.diff(noise, axis=0, prepend=noise[:1]) * 4.0, -0.6, 0.6)
        cloud_field = np.array(cloud, np.float32) * (1.0 - 0.12 * shade[..., None])
        sky = sky + (cloud_field - sky) * (alpha[..., None] * 0.85)
        self.canvas = _to_image(sky, self.size)

    def _stars(self) -> None:
        size, rng = self.size, self.rng
        count = int(420 * (size / 1024) ** 2) + 40
        xs = rng.uniform(0, size, count)
        ys = rng.uniform(0, self.horizon * 0.92, count) ** 1.15 / self.horizon**0.15
        bright = rng.power(0.35, count)
        ink = _Ink(size)
        for x, y, b in zip(xs, ys, bright, strict=True):
            cloud = float(
                self.cloud_alpha[
                    min(int(y / size * self.res), self.res - 1),
                    min(int(x / size * self.res), self.res - 1),
                ]
            )
            level = b * (1.0 - cloud) * (1.0 - 0.6 * y / self.horizon)
            if level < 0.04:
                continue
            radius = self.u * (0.7 + 1.6 * b * b)
            ink.ellipse(float(x), float(y), radius, radius, fill=int(255 * min(1.0, level * 1.4)))
        ink.onto(self.canvas, (1.0, 0.98, 0.9), blur=0.4 * self.u)

    def _disc(self) -> None:
        size, u, rng = self.size, self.u, self.rng
        moon = self.disc == "moon"
        low = self.scene.time_of_day in ("dawn", "dusk")
        radius = u * (float(rng.uniform(40, 56)) if moon else (70.0 if low else 40.0))
        x, y = self.light_x, self.light_y
        ink = _Ink(size)
        ink.ellipse(x, y, radius, radius)
        if moon and rng.random() < 0.4:
            # A crescent: the shadowed part is cut out by an offset disc.
            off = radius * float(rng.uniform(0.45, 0.7))
            ink.ellipse(
                x + off * self.tree_side, y - off * 0.3, radius * 0.95, radius * 0.95, fill=0
            )
        if moon:
            colour: Colour = (0.97, 0.95, 0.86)
        elif low:
            colour = _mix(self.pal.light, (1.0, 0.55, 0.3), 0.45)
        else:
            colour = (1.0, 0.98, 0.9)
        ink.onto(self.canvas, colour, blur=1.2 * u)
        if moon:
            # Faint maria, so the moon reads as a body rather than a hole in the sky.
            draw = ImageDraw.Draw(self.canvas, "RGBA")
            for _ in range(4):
                dx, dy = rng.uniform(-0.5, 0.5, 2) * radius
                r = radius * float(rng.uniform(0.15, 0.3))
                draw.ellipse(
                    (x + dx - r, y + dy - r, x + dx + r, y + dy + r),
                    fill=_rgb((0.72, 0.72, 0.7), 0.07),
                )

    # distance: mountains, hills, mist ---------------------------------------------------

    def _ridge(self, height: float, cells: float, rough: float, base: float) -> np.ndarray:
        """A skyline: y per column, `height` pixels at its highest above `base`."""
        size, rng = self.size, self.rng
        smooth = _noise1d(rng, size, cells, octaves=3, persistence=0.4)
        ridged = -np.abs(_noise1d(rng, size, cells * 2.5, octaves=6, persistence=0.55))
        profile = smooth + rough * ridged
        if rough > 0.5 and rng.random() < 0.55:
            # A lone dominant peak, the way a Fuji or a sacred mountain anchors the view.
            centre = size * float(rng.uniform(0.25, 0.75))
            xs = np.arange(size, dtype=np.float32)
            profile += 2.2 * np.exp(-((np.abs(xs - centre) / (size * 0.14)) ** 1.5))
        lo, hi = float(profile.min()), float(profile.max())
        profile = (profile - lo) / max(hi - lo, 1e-6)
        return base - height * (0.15 + 0.85 * profile)

    def _layer(
        self, ridge: np.ndarray, depth: float, base: float, colour: Colour, mist: float
    ) -> None:
        """Lay one range from its skyline down: shaded by slope, fading to haze at its foot."""
        size, res, pal = self.size, self.res, self.pal
        cols = np.interp(np.linspace(0, size - 1, res), np.arange(size), ridge).astype(np.float32)
        ys = ((np.arange(res, dtype=np.float32) + 0.5) * size / res)[:, None]
        # Light falls from the light source's side: slopes facing it are brighter. The
        # slope is smoothed so faces read as broad planes, not per-column stripes.
        kernel = np.hanning(max(5, res // 12)).astype(np.float32)
        padded = np.pad(cols, len(kernel), mode="edge")
        smooth = np.convolve(padded, kernel / kernel.sum(), mode="same")[len(kernel) : -len(kernel)]
        slope = np.gradient(smooth) * (res / size) * 4.0
        facing1d = np.clip(slope * -self.tree_side, -1.0, 1.0)
        below = np.clip(ys - cols[None, :], 0.0, None)
        # Faces run down and away from the peaks, so the shading is sheared, not vertical.
        where = np.arange(res, dtype=np.float32)[None, :] + below * (res / size) * 0.6
        facing = np.interp(where.ravel(), np.arange(res), facing1d).reshape(res, res)
        # Depth below the smoothed skyline, so haze lies in level bands, not column stripes.
        span = np.maximum(base - smooth[None, :], size * 0.02)
        below = np.clip(ys - smooth[None, :], 0.0, None) * 0.7 + below * 0.3
        shade = facing * np.exp(-below / (span * 0.6)) * 0.2
        # Rock and gullies: the noise embossed along the light, fading toward the foot.
        relief = _noise2d(self.rng, (res, res), (9, 12), octaves=4, persistence=0.55)
        emboss = (relief - np.roll(relief, self.tree_side * 2, axis=1)) * 0.05
        texture = emboss * np.exp(-below / span)[...] + relief * 0.02
        fog = _smoothstep(0.15, 1.05, below / span) * mist
        field = np.array(colour, np.float32) * (1.0 + shade + texture)[..., None]
        field = field + (np.array(pal.haze, np.float32) - field) * fog[..., None]
        ink = _Ink(size)
        points = [(0.0, float(size))] + [(float(x), float(y)) for x, y in enumerate(ridge)]
        ink.polygon(points + [(float(size), float(size))])
        ink.onto(self.canvas, _to_image(field, size), blur=(1.0 - depth) * 1.6 * self.u)

    def _snowcaps(self, ridge: np.ndarray, colour: Colour) -> None:
        size = self.size
        top = float(ridge.min())
        line = top + (self.horizon - top) * float(self.rng.uniform(0.3, 0.45))
        jag = _noise1d(self.rng, size, 30, octaves=3) * (self.horizon - top) * 0.08
        bottom = np.maximum(ridge, line + jag)
        ink = _Ink(size)
        points = [(float(x), float(y)) for x, y in enumerate(ridge)]
        points += [(float(x), float(bottom[x])) for x in range(size - 1, -1, -1)]
        ink.polygon(points)
        ink.onto(self.canvas, colour, blur=0.8 * self.u)

    def _mist_band(self, centre: float, thickness: float, strength: float) -> None:
        res = self.res
        ys = ((np.arange(res, dtype=np.float32) + 0.5) * self.size / res)[:, None]
        noise = _noise2d(self.rng, (res, res), (4, 1.5), octaves=3)
        alpha = np.exp(-(((ys - centre) / thickness) ** 2)) * strength * (0.75 + 0.25 * noise)
        mask = _to_image(alpha, self.size)
        self.canvas.paste(Image.new("RGB", self.canvas.size, _rgb(self.pal.haze)), mask=mask)

    def _distance(self) -> None:
        scene, pal, size, rng = self.scene, self.pal, self.size, self.rng
        base = self.horizon + size * 0.01
        misty = 0.85 if scene.weather == "mist" else 0.55
        snowy = scene.season == "winter" or scene.weather == "snow"
        if "mountains" in scene.terrain:
            layers = 3 if rng.random() < 0.6 else 2
            for i in range(layers):
                depth = i / max(layers - 1, 1)
                height = size * (0.34 - 0.1 * depth) * float(rng.uniform(0.8, 1.1))
                ridge = self._ridge(height, float(rng.uniform(1.5, 3.0)), 1.0 - 0.3 * depth, base)
                colour = _mix(pal.haze, pal.land, 0.35 + 0.45 * depth)
                self._layer(ridge, depth * 0.7, base, colour, misty)
                if snowy and i == 0:
                    self._snowcaps(
                        ridge, _mix((0.97, 0.97, 1.0), pal.haze, 0.3 + 0.4 * (1 - pal.level))
                    )
                self._mist_band(base, size * 0.05, misty * 0.7)
        hills = "hills" in scene.terrain or (
            "mountains" not in scene.terrain and self.water != "sea"
        )
        if hills:
            count = 2 if "hills" in scene.terrain else 1
            for i in range(count):
                depth = 0.55 + 0.2 * i
                height = size * (0.12 - 0.035 * i) * float(rng.uniform(0.7, 1.2))
                ridge = self._ridge(height, float(rng.uniform(1.0, 2.0)), 0.2, base)
                colour = _mix(pal.haze, _mix(pal.land, pal.ground, 0.5), 0.45 + 0.2 * i)
                self._layer(ridge, depth, base, colour, misty * 0.8)
                if "pines" in scene.flora or "trees" in scene.flora:
                    self._treeline(ridge, _mix(colour, pal.ink, 0.35))
                self._mist_band(base, size * 0.035, misty * 0.5)

    def _treeline(self, ridge: np.ndarray, colour: Colour) -> None:
        """Small distant firs along a ridge, in the ridge's hazy colour."""
        ink = _Ink(self.size)
        rng, u = self.rng, self.u
        x = float(rng.uniform(0, 20)) * u
        while x < self.size:
            if rng.random() < 0.75:
                h = u * float(rng.uniform(12, 30))
                y = float(ridge[min(int(x), self.size - 1)]) + h * 0.25
                ink.polygon([(x - h * 0.2, y), (x, y - h), (x + h * 0.2, y)])
            x += u * float(rng.uniform(5, 14))
        ink.onto(self.canvas, colour, blur=0.5 * u)

    # ground and water ------------------------------------------------------------------

    def _ground_and_water(self) -> None:
        size, pal, res = self.size, self.pal, self.res
        # Ground: hazy at the horizon, its own colour near the viewer, patchy like a wash.
        ys = ((np.arange(res, dtype=np.float32) + 0.5) * size / res)[:, None]
        near = _smoothstep(self.horizon, size, ys)
        patches = _noise2d(self.rng, (res, res), (6, 4), octaves=4) * 0.05
        ground = np.array(pal.haze, np.float32) + (
            np.array(pal.ground, np.float32) - np.array(pal.haze, np.float32)
        ) * (0.35 + 0.65 * near[..., None] ** 0.6)
        ground = ground * (1.0 + patches[..., None])
        if "field" in self.scene.terrain:
            # Rows of a field or paddy, spaced in perspective and faded where too fine to show.
            depth = np.clip(ys - self.horizon, 0.0, None) + size * 0.02
            rows = np.sin(size * 0.9 / depth)
            spacing = depth**2 / (size * 0.9) * (res / size)
            stripes = rows * _smoothstep(0.8, 3.0, spacing) * 0.07
            ground = ground * (1.0 + stripes[..., None])
        ink = _Ink(size)
        ink.polygon([(0, self.horizon), (size, self.horizon), (size, size), (0, size)])
        if self.water != "sea":
            ink.onto(self.canvas, _to_image(ground, size))
        if self.water is None:
            # A gentle swell between the horizon and the bank, so the ground has depth.
            ridge = self._ridge(
                size * 0.05, 1.2, 0.1, self.horizon + (self.bank_y - self.horizon) * 0.55
            )
            self._layer(ridge, 0.8, float(size), _mix(pal.ground, pal.land, 0.15), 0.0)
        if self.water is not None:
            self._water()

    def _water(self) -> None:
        size, pal, rng, u = self.size, self.pal, self.rng, self.u
        top = int(self.horizon)
        height = size - top
        if height <= 2:
            return
        canvas = np.asarray(self.canvas)
        rows = np.arange(height, dtype=np.float32)
        near = (rows / height)[:, None]
        # Ripples: horizontal streaks of offset that grow toward the viewer.
        res_h = max(8, min(height, 2 * _FIELD_RES))
        wobble = _noise2d(rng, (res_h, self.res), (height / (9 * u), 2.5), octaves=2)
        wobble_img = Image.fromarray(wobble.astype(np.float32)).resize((size, height), _BICUBIC)
        dx = np.asarray(wobble_img) * (u * (1.0 + 7.0 * near))
        src_y = np.clip(top - 1 - rows[:, None] - np.abs(dx[:, :1]) * 0.3, 0, top - 1).astype(
            np.intp
        )
        src_x = np.clip(np.arange(size)[None, :] + dx, 0, size - 1).astype(np.intp)
        reflection = canvas[src_y, src_x].astype(np.float32) / 255.0
        reflect = 0.86 - 0.36 * near
        water = reflection * reflect[..., None] + np.array(pal.water, np.float32) * (
            1 - reflect[..., None]
        )
        # A path of light on the water under the sun or moon, broken by the ripples.
        if self.has_glow:
            width = size * (0.04 + 0.12 * near)
            path = np.exp(-(((np.arange(size)[None, :] - self.light_x) / width) ** 2))
            sparkle = np.clip(np.asarray(wobble_img) * 1.4 - 0.6, 0.0, 1.0)
            strength = 0.55 if self.disc is not None else 0.25
            water += (path * sparkle * strength)[..., None] * np.array(pal.light, np.float32)
        # A thin bright line where the water meets the far shore.
        water[: max(1, int(2 * u))] = water[: max(1, int(2 * u))] * 0.6 + np.array(pal.haze) * 0.4
        image = Image.fromarray((np.clip(water, 0, 1) * 255 + 0.5).astype(np.uint8))
        ink = _Ink(size)
        if self.water == "river":
            meander = _noise1d(rng, height, 2.5, octaves=3) * 0.12
            # The river bends toward the light so it carries the sun's or moon's reflection.
            start = 0.5 + (self.light_x / size - 0.5) * 0.6
            centre = size * (start + meander * (0.3 + near[:, 0]))
            half = size * (0.012 + 0.26 * near[:, 0] ** 1.2)
            left = [(float(centre[i] - half[i]), float(top + i)) for i in range(0, height, 4)]
            right = [(float(centre[i] + half[i]), float(top + i)) for i in range(0, height, 4)]
            ink.polygon(left + [(left[-1][0], size), (right[-1][0], size)] + right[::-1])
        else:
            ink.polygon([(0, top), (size, top), (size, size), (0, size)])
        full = Image.new("RGB", (size, size))
        full.paste(image, (0, top))
        ink.onto(self.canvas, full, blur=0.6 * u)

    # foreground: bank, trees, grass ----------------------------------------------------

    def _foreground(self) -> None:
        scene, pal, size, rng, u = self.scene, self.pal, self.size, self.rng, self.u
        flora = scene.flora
        near_ink = _mix(pal.ink, pal.ground, 0.18)
        wants_bank = bool(flora) or self.water in ("lake", "sea") and rng.random() < 0.5
        if wants_bank:
            ridge = self._ridge(size * 0.05, 1.5, 0.2, self.bank_y + size * 0.03)
            if self.water in ("sea", "river"):
                # A headland on the tree's side only, so the sea or river stays open.
                xs = np.arange(size, dtype=np.float32) / size
                side = xs if self.tree_side > 0 else 1.0 - xs
                ridge = ridge + (1.0 - _smoothstep(0.45, 0.75, side)) * size * 0.25
            snowy = self.scene.season == "winter" or self.scene.weather == "snow"
            bank = _mix(pal.ground, pal.ink, 0.2 if snowy else 0.45)
            ink = _Ink(size)
            ink.polygon(
                [(0.0, float(size))]
                + [(float(x), float(y)) for x, y in enumerate(ridge)]
                + [(float(size), float(size))]
            )
            ink.onto(self.canvas, bank, blur=0.5 * u)
            self.bank = ridge
        else:
            self.bank = np.full(size, float(size + 10), np.float32)
        featured = next(
            (f for f in ("blossoms", "maples", "pines", "trees", "bare trees") if f in flora), None
        )
        if featured is not None:
            x = size * (0.5 + self.tree_side * float(rng.uniform(0.22, 0.34)))
            self._tree(featured, x, size * float(rng.uniform(0.45, 0.6)), near_ink)
            others = [
                f
                for f in flora
                if f != featured and f in ("blossoms", "maples", "pines", "trees", "bare trees")
            ]
            if others:
                x2 = size * (0.5 - self.tree_side * float(rng.uniform(0.28, 0.42)))
                self._tree(others[0], x2, size * float(rng.uniform(0.25, 0.35)), near_ink)
        if "grass" in flora or (flora and scene.season in ("summer", "autumn")):
            self._grass(near_ink)
        if "flowers" in flora:
            self._flowers()

    def _ground_at(self, x: float) -> float:
        return float(self.bank[min(max(int(x), 0), self.size - 1)])

    def _tree(self, kind: str, x: float, height: float, colour: Colour) -> None:
        base = self._ground_at(x) + self.u * 6
        if kind == "pines":
            self._pine(x, base, height, colour)
            return
        season = self.scene.season
        if kind == "trees" and season == "winter":
            kind = "bare trees"
        crowns = {
            "blossoms": [
                (1.0, 0.80, 0.86),
                (0.98, 0.68, 0.78),
                (1.0, 0.93, 0.95),
                (0.93, 0.55, 0.68),
            ],
            "maples": [
                (0.86, 0.22, 0.14),
                (0.93, 0.42, 0.13),
                (0.75, 0.13, 0.12),
                (0.98, 0.66, 0.2),
            ],
            "trees": [(0.30, 0.52, 0.24), (0.42, 0.62, 0.28), (0.22, 0.42, 0.2), (0.55, 0.7, 0.35)],
        }.get(kind)
        tips = self._branches(x, base, height, colour, spread=0.9 if crowns else 0.7)
        if crowns is None:
            if season == "winter" or self.scene.weather == "snow":
                self._snow_on(tips)
            return
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        rng, u, level = self.rng, self.u, max(self.pal.level, 0.45)
        lit = [_mix(_scale(c, level), self.pal.light, 0.1) for c in crowns]
        per_tip = 18 if len(tips) < 80 else 9
        for tx, ty in tips:
            offsets = rng.normal(0.0, 1.0, (per_tip, 2)) * (u * 14)
            radii = rng.uniform(2.0, 6.0, per_tip) * u
            picks = rng.integers(0, len(lit), per_tip)
            for (ox, oy), r, p in zip(offsets, radii, picks, strict=True):
                cx, cy = tx + float(ox), ty + float(oy) * 0.7
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_rgb(lit[p], 0.78))

    def _branches(
        self, x: float, base: float, height: float, colour: Colour, spread: float
    ) -> list[tuple[float, float]]:
        """A branching tree: returns the twig tips, where blossoms or leaves go."""
        rng, u = self.rng, self.u
        ink = _Ink(self.size)
        tips: list[tuple[float, float]] = []
        trunk = height * 0.32
        lean = float(rng.uniform(-0.15, 0.15)) - self.tree_side * 0.08
        stack = [(x, base, -math.pi / 2 + lean, trunk, u * (10 + height / (28 * u)) / 1.0, 0)]
        max_depth = 7
        while stack:
            sx, sy, angle, length, width, depth = stack.pop()
            bend = float(rng.uniform(-0.2, 0.2))
            mx = sx + math.cos(angle + bend) * length * 0.5
            my = sy + math.sin(angle + bend) * length * 0.5
            ex = sx + math.cos(angle) * length
            ey = sy + math.sin(angle) * length
            ink.line([(sx, sy), (mx, my), (ex, ey)], width)
            if width > 3 * u:
                ink.ellipse(ex, ey, width * 0.5, width * 0.5)
            if depth >= max_depth or length < 6 * u:
                tips.append((ex, ey))
                continue
            if depth >= 3:
                tips.append((ex, ey))
            children = 2 if rng.random() < 0.75 else 3
            for c in range(children):
                turn = (c - (children - 1) / 2) * float(rng.uniform(0.35, 0.7)) * spread
                turn += float(rng.normal(0, 0.12))
                # Branches droop back toward horizontal, which reads as age and weight.
                new_angle = angle + turn + 0.06 * math.cos(angle)
                stack.append(
                    (
                        ex,
                        ey,
                        new_angle,
                        length * float(rng.uniform(0.66, 0.8)),
                        max(u * 1.0, width * 0.66),
                        depth + 1,
                    )
                )
        ink.onto(self.canvas, _mix(colour, (0.25, 0.18, 0.16), 0.25))
        return tips

    def _snow_on(self, tips: list[tuple[float, float]]) -> None:
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        white = _rgb(_mix((1, 1, 1), self.pal.haze, 0.2), 0.75)
        for tx, ty in tips[::2]:
            r = self.u * float(self.rng.uniform(1.5, 3.5))
            draw.ellipse((tx - r * 1.6, ty - r, tx + r * 1.6, ty + r * 0.4), fill=white)

    def _pine(self, x: float, base: float, height: float, colour: Colour) -> None:
        """A Japanese garden pine: a crooked trunk carrying flat, cloud-like needle pads."""
        rng, u = self.rng, self.u
        ink = _Ink(self.size)
        points = [(x, base)]
        px, py = x, base
        segments = 9
        sway = float(rng.uniform(0.06, 0.16)) * -self.tree_side
        for i in range(1, segments + 1):
            py = base - height * i / segments
            px = px + height / segments * (sway + float(rng.normal(0, 0.18)))
            points.append((px, py))
        for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
            t = (base - ay) / height
            width = (30 - 20 * t) * height / 560
            ink.line([(ax, ay), (bx, by)], width)
            ink.ellipse(bx, by, width * 0.5, width * 0.5)
        pads: list[tuple[float, float, float]] = []
        for i, (bx, by) in enumerate(points[4:], start=4):
            side = 1 if (i + int(rng.integers(0, 2))) % 2 else -1
            reach = height * float(rng.uniform(0.18, 0.38)) * (1.15 - i / segments * 0.5)
            ex, ey = bx + side * reach, by - reach * float(rng.uniform(-0.05, 0.25))
            ink.line([(bx, by), ((bx + ex) / 2, by + u * 6), (ex, ey)], u * 5 * height / (560 * u))
            pads.append((ex, ey, reach * 0.75))
        pads.append((points[-1][0], points[-1][1], height * 0.16))
        # Each pad is a dome of small needle tufts; the tufts on top catch the light.
        tufts: list[tuple[float, float, float]] = []
        for cx, cy, w in pads:
            for _ in range(40):
                ox = float(rng.uniform(-1.0, 1.0))
                oy = -float(rng.uniform(0.0, 1.0)) * (1.0 - ox * ox) * 0.3 + 0.03
                rx = w * float(rng.uniform(0.08, 0.17))
                tufts.append((cx + ox * w * 0.85, cy + oy * w, rx))
        for tx, ty, rx in tufts:
            ink.ellipse(tx, ty, rx, rx * 0.55)
        ink.onto(self.canvas, colour)
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        snowy = self.scene.season == "winter" or self.scene.weather == "snow"
        top = _mix((1, 1, 1), self.pal.haze, 0.15) if snowy else _mix(colour, self.pal.light, 0.3)
        fill = _rgb(top, 0.8 if snowy else 0.14)
        for tx, ty, rx in tufts:
            if rng.random() < 0.35:
                draw.ellipse(
                    (tx - rx * 0.8, ty - rx * 0.55, tx + rx * 0.8, ty - rx * 0.1), fill=fill
                )

    def _grass(self, colour: Colour) -> None:
        rng, u, size = self.rng, self.u, self.size
        ink = _Ink(size)
        tall = 1.5 if "grass" in self.scene.flora else 0.6
        wind = float(rng.normal(0.3, 0.1)) * -self.tree_side
        ts = np.linspace(0.0, 1.0, 6)
        for _ in range(int(rng.integers(14, 24))):
            # Grass grows in tufts: blades fan out from a shared root.
            root = float(rng.uniform(-20, size + 20)) * 1.0
            ground = min(self._ground_at(root), float(size)) + u * 5
            for _ in range(int(rng.integers(8, 20))):
                x = root + float(rng.normal(0, 10)) * u
                h = u * float(rng.uniform(25, 140)) * tall
                lean = wind + float(rng.normal(0, 0.22))
                w = u * float(rng.uniform(1.5, 3.5))
                cx = x + lean * h * ts**2
                cy = ground - h * ts
                left = [
                    (float(a - w * (1 - t)), float(b)) for a, b, t in zip(cx, cy, ts, strict=True)
                ]
                right = [
                    (float(a + w * (1 - t)), float(b)) for a, b, t in zip(cx, cy, ts, strict=True)
                ]
                ink.polygon(left + right[::-1])
        ink.onto(self.canvas, colour)

    def _flowers(self) -> None:
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        rng, u, size = self.rng, self.u, self.size
        hues = [(0.95, 0.85, 0.3), (0.92, 0.45, 0.55), (0.98, 0.97, 0.95), (0.6, 0.5, 0.9)]
        for _ in range(int(220 * size / 1024)):
            y = float(self.horizon + (size - self.horizon) * rng.uniform(0.15, 1.0) ** 0.7)
            x = float(rng.uniform(0, size))
            r = u * (1.0 + 4.0 * (y - self.horizon) / (size - self.horizon))
            c = _scale(hues[int(rng.integers(0, len(hues)))], max(self.pal.level, 0.4))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_rgb(c, 0.85))

    # sky life and weather --------------------------------------------------------------

    def _birds(self) -> None:
        rng, u, size = self.rng, self.u, self.size
        ink = _Ink(size)
        count = int(rng.integers(3, 9))
        cx = size * (0.5 + self.tree_side * float(rng.uniform(-0.1, 0.25)))
        cy = size * float(rng.uniform(0.14, 0.32))
        for i in range(count):
            # A loose skein: each bird a little behind and to the side of the last.
            x = cx + (i * u * 34 + float(rng.normal(0, 14)) * u) * -self.tree_side
            y = cy + i * u * 10 * (1 if i % 2 else -0.4) + float(rng.normal(0, 8)) * u
            w = u * float(rng.uniform(9, 15)) * (1 - i * 0.05)
            flap = float(rng.uniform(0.2, 0.7))
            ink.line(
                [
                    (x - w, y - w * flap),
                    (x - w * 0.45, y - w * 0.3 * flap),
                    (x, y),
                    (x + w * 0.45, y - w * 0.3 * flap),
                    (x + w, y - w * flap),
                ],
                u * 2.6,
            )
        ink.onto(self.canvas, _mix(self.pal.ink, self.pal.haze, 0.2))

    def _weather(self) -> None:
        scene, rng, u, size = self.scene, self.rng, self.u, self.size
        if scene.weather == "snow":
            for near, count, radius in ((False, 380, (1.0, 2.2)), (True, 60, (2.5, 5.0))):
                ink = _Ink(size)
                for _ in range(int(count * (size / 1024) ** 2) + 10):
                    x, y = rng.uniform(0, size, 2)
                    r = u * float(rng.uniform(*radius))
                    ink.ellipse(float(x), float(y), r, r, fill=int(rng.uniform(150, 250)))
                ink.onto(self.canvas, (0.97, 0.97, 1.0), blur=(2.0 if near else 0.4) * u)
        if scene.weather == "rain":
            ink = _Ink(size)
            slant = float(rng.uniform(-0.25, 0.25))
            for _ in range(int(900 * (size / 1024) ** 2) + 20):
                x, y = rng.uniform(-50 * u, size, 2)
                length = u * float(rng.uniform(14, 40))
                ink.line(
                    [(float(x), float(y)), (float(x) + slant * length, float(y) + length)],
                    u * 1.2,
                    fill=int(rng.uniform(60, 140)),
                )
            ink.onto(self.canvas, _mix((0.85, 0.88, 0.92), self.pal.haze, 0.3), blur=0.5 * u)
        falling = {"blossoms": self._petals, "maples": self._leaves}
        for kind, draw_them in falling.items():
            if kind in scene.flora:
                draw_them()

    def _drift(self, colours: list[Colour], count: int, size_range: tuple[float, float]) -> None:
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        rng, u, size = self.rng, self.u, self.size
        for _ in range(int(count * size / 1024)):
            x = float(rng.uniform(0, size))
            y = float(rng.uniform(0.2, 1.0) * size)
            rx = u * float(rng.uniform(*size_range))
            ry = rx * float(rng.uniform(0.4, 0.8))
            c = _scale(colours[int(rng.integers(0, len(colours)))], max(self.pal.level, 0.5))
            draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=_rgb(c, 0.85))

    def _petals(self) -> None:
        self._drift([(1.0, 0.82, 0.88), (0.98, 0.7, 0.8), (1.0, 0.94, 0.96)], 90, (2.5, 5.5))

    def _leaves(self) -> None:
        self._drift([(0.86, 0.25, 0.14), (0.95, 0.5, 0.15), (0.8, 0.18, 0.1)], 45, (3.5, 7.0))

    def _fireflies(self) -> None:
        rng, u, size = self.rng, self.u, self.size
        ink = _Ink(size)
        for _ in range(int(rng.integers(25, 50))):
            x = float(rng.uniform(0, size))
            y = float(rng.uniform(self.horizon, size * 0.97))
            r = u * float(rng.uniform(2.0, 4.0))
            ink.ellipse(x, y, r, r)
        mask = ink.final_mask()
        glow = Image.new("RGB", self.canvas.size, _rgb((0.85, 1.0, 0.45)))
        halo = mask.filter(ImageFilter.GaussianBlur(10 * u)).point(lambda v: min(255, v * 3))
        self.canvas.paste(glow, mask=halo.point(lambda v: v // 2))
        self.canvas.paste(Image.new("RGB", self.canvas.size, _rgb((1.0, 1.0, 0.8))), mask=mask)

    def _butterflies(self) -> None:
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        rng, u = self.rng, self.u
        hues = [(0.98, 0.9, 0.5), (1.0, 1.0, 0.95), (0.95, 0.6, 0.3)]
        for _ in range(int(rng.integers(2, 5))):
            x = float(rng.uniform(0.2, 0.8)) * self.size
            y = float(rng.uniform(self.horizon, self.bank_y))
            w = u * float(rng.uniform(6, 10))
            c = _rgb(hues[int(rng.integers(0, len(hues)))], 0.9)
            draw.ellipse((x - w, y - w * 0.8, x, y + w * 0.2), fill=c)
            draw.ellipse((x, y - w * 0.8, x + w, y + w * 0.2), fill=c)

    def _finish(self) -> None:
        # A soft vignette pulls the eye inward, the way a painter darkens the margins.
        res = 64
        yy, xx = np.mgrid[0:res, 0:res].astype(np.float32) / (res - 1) - 0.5
        shade = 1.0 - 0.28 * _smoothstep(0.25, 0.75, np.sqrt(xx * xx + yy * yy) * 1.2)
        vignette = _to_image(shade, self.size).convert("RGB")
        self.canvas = ImageChops.multiply(self.canvas, vignette)


# --- the abstract flow field -----------------------------------------------------------


class _FlowField:
    """Particles traced along a noise angle field, in the colours of the poem's season and hour."""

    def __init__(self, scene: Scene, size: int, rng: np.random.Generator) -> None:
        self.scene = scene
        self.size = size
        self.rng = rng
        self.pal = _palette(scene)

    def render(self) -> Image.Image:
        size, rng, pal = self.size, self.rng, self.pal
        res = min(size, _FIELD_RES)
        # A ground of two washes from the palette, blended by slow noise.
        wash = _smoothstep(-1.2, 1.2, _noise2d(rng, (res, res), (1.5, 1.5), octaves=3))[..., None]
        a = np.array(_mix(pal.mid, pal.horizon, 0.3), np.float32)
        b = np.array(_mix(pal.top, pal.haze, 0.35), np.float32)
        ground = a + (b - a) * wash
        ground = ground * (1.0 + 0.05 * _noise2d(rng, (res, res), (8, 8), octaves=3)[..., None])
        if self.pal.level < 0.5:
            ground = ground * 0.75 + 0.08
        canvas = _to_image(ground, size)

        ss = 2 if size <= 2048 else 1
        big = canvas.resize((size * ss, size * ss), _BICUBIC)
        draw = ImageDraw.Draw(big, "RGBA")
        grid = 128
        # Strokes follow the contours of a noise "potential" (its curl), which has no sinks,
        # so they swirl and never pile up into seams.
        potential = _noise2d(rng, (grid, grid), (2.2, 2.2), octaves=3, persistence=0.45)
        d_y, d_x = np.gradient(potential)
        angles = np.arctan2(-d_x, d_y)
        # Inks ordered dark to light; each stroke takes the ink of a slow colour field at its
        # start, so strokes gather into coherent bands of colour instead of confetti.
        inks = [
            _mix(pal.ink, pal.top, 0.35),
            pal.top,
            _mix(pal.land, pal.mid, 0.5),
            pal.mid,
            pal.horizon,
            pal.light,
            (0.98, 0.96, 0.92),
        ]
        tone = _noise2d(rng, (grid, grid), (1.8, 1.8), octaves=2)
        count = int(rng.integers(1600, 2000))
        steps = 48
        pos: np.ndarray = rng.uniform(0, size, (count, 2)).astype(np.float32)
        step = size / 300.0
        path = np.empty((steps, count, 2), np.float32)
        for i in range(steps):
            path[i] = pos
            gx = np.clip((pos[:, 0] / size * grid).astype(np.intp), 0, grid - 1)
            gy = np.clip((pos[:, 1] / size * grid).astype(np.intp), 0, grid - 1)
            theta = angles[gy, gx]
            pos = pos + np.stack([np.cos(theta), np.sin(theta)], axis=1) * step
        lengths = rng.integers(10, steps + 1, count)
        widths = rng.uniform(1.0, 3.4, count) ** 1.6 * size / 1024 * ss
        gx0 = np.clip((path[0, :, 0] / size * grid).astype(np.intp), 0, grid - 1)
        gy0 = np.clip((path[0, :, 1] / size * grid).astype(np.intp), 0, grid - 1)
        level = (tone[gy0, gx0] + 2.0) / 4.0 * (len(inks) - 1) + rng.normal(0, 0.7, count)
        choice = np.clip(np.round(level), 0, len(inks) - 1).astype(np.intp)
        alphas = rng.uniform(0.3, 0.8, count)
        for j in range(count):
            pts = (path[: lengths[j], j] * ss).ravel().tolist()
            draw.line(
                pts,
                fill=_rgb(inks[choice[j]], float(alphas[j])),
                width=max(1, round(float(widths[j]))),
            )
        self._enso(draw, ss)
        return big.reduce(ss) if ss > 1 else big

    def _enso(self, draw: ImageDraw.ImageDraw, ss: int) -> None:
        """A single open brush circle, the Zen ensō, as the piece's quiet centre."""
        rng, size = self.rng, self.size
        cx = size * float(rng.uniform(0.38, 0.62)) * ss
        cy = size * float(rng.uniform(0.38, 0.62)) * ss
        radius = size * float(rng.uniform(0.16, 0.24)) * ss
        start = float(rng.uniform(0, math.tau))
        sweep = math.tau * float(rng.uniform(0.82, 0.93))
        colour = _mix(self.pal.ink, self.pal.top, 0.2)
        thickness = radius * 0.12
        bristles = 28
        ts = np.linspace(0.0, 1.0, 120)
        for b in range(bristles):
            offset = (b / (bristles - 1) - 0.5) * thickness
            # A brush runs dry unevenly: outer bristles give out first, leaving a ragged tail.
            edge = abs(offset) / (thickness / 2)
            dry = float(
                np.clip(1.0 - edge * float(rng.uniform(0.2, 0.6)) - rng.uniform(0, 0.15), 0.3, 1.0)
            )
            t = ts[ts <= dry]
            angle = start + sweep * t
            r = radius + offset * (1.0 - 0.5 * t) + radius * 0.012 * np.sin(angle * 5)
            pts = np.stack([cx + np.cos(angle) * r, cy + np.sin(angle) * r], axis=1)
            width = max(1, round(thickness / bristles * 2.2))
            draw.line(
                pts.ravel().tolist(), fill=_rgb(colour, float(rng.uniform(0.55, 0.9))), width=width
            )
