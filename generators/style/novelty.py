"""Novelty: for each sample, its nearest training images by a perceptual descriptor, a
memorisation flag, and a page that shows them side by side (as Dibia inspected his masks).

The threshold is relative to the collection: a sample is flagged when it is closer to a
training image than `MEMORISED_FRACTION` of the median distance between each training image
and its own nearest neighbour, i.e. closer than the collection's images are to each other.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generators.style.layout import StyleLayout, atomic_path, write_json_atomic
from generators.style.perceptual import describe, distances, stack

if TYPE_CHECKING:
    from PIL.Image import Image

NEIGHBOURS = 3
MEMORISED_FRACTION = 0.5
# A floor for the threshold, so a collection of near-identical images still flags copies.
MIN_THRESHOLD = 0.02


@dataclass(frozen=True)
class Neighbour:
    """A training image and its distance to a sample."""

    index: int
    file: str
    distance: float


@dataclass(frozen=True)
class SampleNovelty:
    """One sample's nearest training images and whether it looks memorised."""

    neighbours: tuple[Neighbour, ...]
    memorised: bool

    @property
    def nearest(self) -> float:
        return self.neighbours[0].distance


@dataclass(frozen=True)
class TrainingIndex:
    """The descriptors of a style's training images, and the memorisation threshold they set."""

    files: tuple[str, ...]
    labs: np.ndarray
    bits: np.ndarray
    threshold: float
    typical: float

    def nearest(self, image: Image, count: int = NEIGHBOURS) -> SampleNovelty:
        """The `count` nearest training images to `image`, and whether it is a copy of one."""
        found = distances(describe(image), self.labs, self.bits)
        order = np.argsort(found, kind="stable")[:count]
        neighbours = tuple(Neighbour(int(i), self.files[i], float(found[i])) for i in order)
        return SampleNovelty(neighbours, neighbours[0].distance < self.threshold)


def build_index(layout: StyleLayout) -> TrainingIndex:
    """Describe every training image of the style (cached beside the dataset by its manifest)."""
    from PIL import Image as PILImage

    manifest = layout.read_manifest()
    files = tuple(entry["file"] for entry in manifest["images"])
    cache = layout.root / "descriptors.npz"
    key = np.frombuffer("\n".join(e["sha256"] for e in manifest["images"]).encode(), np.uint8)
    if cache.is_file():
        with np.load(cache) as saved:
            if np.array_equal(saved["key"], key):
                return _index(files, saved["labs"], saved["bits"])
    descriptors = []
    for file in files:
        with PILImage.open(layout.root / file) as opened:
            descriptors.append(describe(opened.convert("RGB")))
    labs, bits = stack(descriptors)
    with atomic_path(cache) as temp, temp.open("wb") as handle:
        np.savez(handle, key=key, labs=labs, bits=bits)
    return _index(files, labs, bits)


def _index(files: tuple[str, ...], labs: np.ndarray, bits: np.ndarray) -> TrainingIndex:
    typical = _typical_gap(labs, bits)
    return TrainingIndex(
        files, labs, bits, max(MIN_THRESHOLD, MEMORISED_FRACTION * typical), typical
    )


def _typical_gap(labs: np.ndarray, bits: np.ndarray) -> float:
    """The median distance from each training image to its nearest other training image."""
    from generators.style.perceptual import Descriptor

    if len(labs) < 2:
        return 0.0
    gaps = []
    for i in range(len(labs)):
        found = distances(Descriptor(labs[i], bits[i]), labs, bits)
        found[i] = np.inf
        gaps.append(float(found.min()))
    return float(np.median(gaps))


@dataclass(frozen=True)
class NoveltyReport:
    """What `inspect_samples` found and where it wrote the page."""

    samples: tuple[SampleNovelty, ...]
    threshold: float
    typical: float
    page: Path
    summary: Path
    sheet: Path

    @property
    def flagged(self) -> int:
        return sum(s.memorised for s in self.samples)

    @property
    def score(self) -> float:
        """Median nearest distance over the collection's own typical gap: above 1 is novel."""
        if not self.samples or self.typical <= 0:
            return 0.0
        return float(np.median([s.nearest for s in self.samples]) / self.typical)


def inspect_samples(
    layout: StyleLayout, samples: list[Image], *, checkpoint: str = "", out: Path | None = None
) -> NoveltyReport:
    """Find each sample's nearest training images, flag copies, and write the novelty page."""
    if not samples:
        raise ValueError("`samples` must hold at least one image")
    index = build_index(layout)
    found = tuple(index.nearest(image) for image in samples)
    out = out or layout.novelty
    (out / "samples").mkdir(parents=True, exist_ok=True)
    for number, image in enumerate(samples):
        with atomic_path(out / "samples" / f"{number:03d}.png") as temp:
            image.save(temp, format="PNG")
    report = NoveltyReport(
        found,
        index.threshold,
        index.typical,
        out / "index.html",
        out / "novelty.json",
        out / "sheet.png",
    )
    with atomic_path(report.sheet) as temp:
        _sheet(layout, samples, found).save(temp, format="PNG")
    write_json_atomic(
        report.summary,
        {
            "style": layout.name,
            "checkpoint": checkpoint,
            "threshold": round(index.threshold, 5),
            "typical_gap": round(index.typical, 5),
            "score": round(report.score, 4),
            "flagged": report.flagged,
            "samples": [
                {
                    "file": f"samples/{n:03d}.png",
                    "memorised": s.memorised,
                    "neighbours": [
                        {"file": x.file, "distance": round(x.distance, 5)} for x in s.neighbours
                    ],
                }
                for n, s in enumerate(found)
            ],
        },
    )
    with atomic_path(report.page) as temp:
        temp.write_text(_page(layout, report, out, checkpoint), encoding="utf-8")
    return report


def _sheet(layout: StyleLayout, samples: list[Image], found: tuple[SampleNovelty, ...]) -> Image:
    """One row per sample: the sample, then its neighbours; a memorised sample framed in red."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    from generators.style.sample import grid

    side = max(samples[0].size)
    tiles = []
    for image, novelty in zip(samples, found, strict=True):
        frame = (220, 30, 30) if novelty.memorised else (255, 255, 255)
        tiles.append(ImageOps.expand(image.convert("RGB").resize((side, side)), 3, frame))
        for neighbour in novelty.neighbours:
            with PILImage.open(layout.root / neighbour.file) as opened:
                tile = opened.convert("RGB").resize((side, side), PILImage.Resampling.BOX)
            tiles.append(ImageOps.expand(tile, 3, (255, 255, 255)))
    return grid(tiles, columns=1 + len(found[0].neighbours))


def _page(layout: StyleLayout, report: NoveltyReport, out: Path, checkpoint: str) -> str:
    esc = html.escape
    rows = []
    for number, sample in enumerate(report.samples):
        cells = [f'<td><img src="samples/{number:03d}.png" alt="sample {number}"></td>']
        for neighbour in sample.neighbours:
            source = os.path.relpath(layout.root / neighbour.file, out)
            cells.append(
                f'<td><img src="{esc(Path(source).as_posix())}" alt="{esc(neighbour.file)}">'
                f"<br>{esc(neighbour.file)}<br>distance {neighbour.distance:.4f}</td>"
            )
        verdict = "MEMORISED: too close to a training image" if sample.memorised else "novel"
        cls = "flag" if sample.memorised else "ok"
        rows.append(f'<tr class="{cls}"><th>{number}<br>{esc(verdict)}</th>{"".join(cells)}</tr>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Novelty of style {esc(layout.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
img {{ width: 128px; height: 128px; image-rendering: pixelated; }}
td, th {{ padding: 6px; text-align: center; font-size: 12px; vertical-align: top; }}
tr.flag {{ background: #fdd; }}
</style></head><body>
<h1>Novelty of style {esc(layout.name)}</h1>
<p>Checkpoint: {esc(checkpoint or "unknown")}. Each sample beside its {NEIGHBOURS} nearest
training images (descriptor: 16&times;16 LAB thumbnail plus a 64-bit difference hash).</p>
<p><img src="sheet.png" alt="every sample and its neighbours in one picture"
 style="width:auto;height:auto"></p>
<p>Typical gap between training images: {report.typical:.4f}. A sample nearer than
{report.threshold:.4f} to a training image is flagged as memorised.
Flagged: {report.flagged} of {len(report.samples)}. Novelty score (median nearest distance
over the typical gap; above 1 is farther than the collection's own images are from each
other): {report.score:.3f}.</p>
<table><tr><th>sample</th><th>generated</th><th>nearest</th><th>2nd</th><th>3rd</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
