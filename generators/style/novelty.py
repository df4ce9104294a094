"""Novelty: for each sample, its nearest training images by an image descriptor, a
memorisation flag, and a page that shows them side by side (as Dibia inspected his masks).

The threshold is relative to the collection, in the descriptor's own distance units: a sample
is flagged when it is closer to a training image than `MEMORISED_FRACTION` of the median
distance between each training image and its own nearest neighbour, i.e. closer than the
collection's images are to each other (never below the descriptor's floor).
"""

from __future__ import annotations

import html
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generators.style.descriptors import Features, ImageDescriptor, PerceptualDescriptor
from generators.style.layout import StyleLayout, atomic_path, write_json_atomic

if TYPE_CHECKING:
    from PIL.Image import Image

NEIGHBOURS = 3
MEMORISED_FRACTION = 0.5
# Training images described per batch: bounded memory on a 10,000-image collection.
_DESCRIBE_BATCH = 64
# Query rows per block of the typical-gap matrix (a block is this many rows by the collection).
_GAP_BLOCK = 256


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
    """The descriptions of a style's training images, and the memorisation threshold they set."""

    files: tuple[str, ...]
    features: Features
    descriptor: ImageDescriptor
    threshold: float
    typical: float

    def nearest(self, image: Image, count: int = NEIGHBOURS) -> SampleNovelty:
        """The `count` nearest training images to `image`, and whether it is a copy of one."""
        return self.nearest_all([image], count)[0]

    def nearest_all(
        self, images: Sequence[Image], count: int = NEIGHBOURS
    ) -> tuple[SampleNovelty, ...]:
        """`nearest` for each of `images`, described in one batch."""
        found = self.descriptor.distances(self.descriptor.describe(images), self.features)
        results = []
        for row in found:
            order = np.argsort(row, kind="stable")[:count]
            neighbours = tuple(Neighbour(int(i), self.files[i], float(row[i])) for i in order)
            results.append(SampleNovelty(neighbours, neighbours[0].distance < self.threshold))
        return tuple(results)


def build_index(
    layout: StyleLayout,
    descriptor: ImageDescriptor | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> TrainingIndex:
    """Describe every training image of the style (default: the perceptual descriptor), cached
    beside the dataset under its manifest's sha256s and the descriptor's key; `progress(done,
    total)` is called as images are described (not when the cache answers)."""
    descriptor = descriptor or PerceptualDescriptor()
    manifest = layout.read_manifest()
    files = tuple(entry["file"] for entry in manifest["images"])
    cache = layout.root / descriptor.cache_file
    lines = [descriptor.cache_key(), *(e["sha256"] for e in manifest["images"])]
    key = np.frombuffer("\n".join(lines).encode(), np.uint8)
    saved = _read_cache(cache, key)
    if saved is not None:
        features, typical = saved
        return _index(files, features, descriptor, typical)
    features = _describe_files(layout, files, descriptor, progress)
    typical = _typical_gap(descriptor, features)
    arrays: dict[str, Any] = {f"feature_{name}": value for name, value in features.items()}
    with atomic_path(cache) as temp, temp.open("wb") as handle:
        np.savez(handle, key=key, typical=np.float64(typical), **arrays)
    return _index(files, features, descriptor, typical)


def _read_cache(cache: Path, key: np.ndarray) -> tuple[Features, float] | None:
    """The cached features and typical gap when `cache` was written under `key`, else None."""
    if not cache.is_file():
        return None
    try:
        with np.load(cache) as saved:
            if "typical" not in saved.files or not np.array_equal(saved["key"], key):
                return None
            features = {
                name.removeprefix("feature_"): saved[name]
                for name in saved.files
                if name.startswith("feature_")
            }
            return features, float(saved["typical"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # a damaged cache is described again and rewritten


def _describe_files(
    layout: StyleLayout,
    files: tuple[str, ...],
    descriptor: ImageDescriptor,
    progress: Callable[[int, int], None] | None,
) -> Features:
    from PIL import Image as PILImage

    parts: list[Features] = []
    for start in range(0, len(files), _DESCRIBE_BATCH):
        images = []
        for file in files[start : start + _DESCRIBE_BATCH]:
            with PILImage.open(layout.root / file) as opened:
                images.append(opened.convert("RGB"))
        parts.append(descriptor.describe(images))
        if progress:
            progress(start + len(images), len(files))
    if not parts:
        return descriptor.describe([])
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _index(
    files: tuple[str, ...], features: Features, descriptor: ImageDescriptor, typical: float
) -> TrainingIndex:
    threshold = max(descriptor.min_threshold, MEMORISED_FRACTION * typical)
    return TrainingIndex(files, features, descriptor, threshold, typical)


def _typical_gap(descriptor: ImageDescriptor, features: Features) -> float:
    """The median distance from each training image to its nearest other training image."""
    count = len(next(iter(features.values())))
    if count < 2:
        return 0.0
    gaps = []
    for start in range(0, count, _GAP_BLOCK):
        stop = min(start + _GAP_BLOCK, count)
        block = descriptor.distances(
            {name: value[start:stop] for name, value in features.items()}, features
        )
        block[np.arange(stop - start), np.arange(start, stop)] = np.inf
        gaps.extend(block.min(axis=1).tolist())
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
    descriptor: str = PerceptualDescriptor.name
    descriptor_about: str = PerceptualDescriptor.about

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
    layout: StyleLayout,
    samples: list[Image],
    *,
    checkpoint: str = "",
    out: Path | None = None,
    descriptor: ImageDescriptor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NoveltyReport:
    """Find each sample's nearest training images by `descriptor` (default: perceptual), flag
    copies, and write the novelty page (`progress`: as for `build_index`)."""
    if not samples:
        raise ValueError("`samples` must hold at least one image")
    index = build_index(layout, descriptor, progress=progress)
    found = index.nearest_all(samples)
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
        index.descriptor.name,
        index.descriptor.about,
    )
    with atomic_path(report.sheet) as temp:
        _sheet(layout, samples, found).save(temp, format="PNG")
    write_json_atomic(
        report.summary,
        {
            "style": layout.name,
            "checkpoint": checkpoint,
            "descriptor": report.descriptor,
            "descriptor_about": report.descriptor_about,
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
training images. Distances measured by the descriptor {esc(report.descriptor)}
({esc(report.descriptor_about)}).</p>
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
