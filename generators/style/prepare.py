"""Clean a curated folder into a style dataset: readable, large enough, no near duplicates,
square, one size, with a manifest that says what was kept and what was skipped and why."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from generators.style.layout import StyleError, StyleLayout, write_json_atomic
from generators.style.perceptual import DUPLICATE_BITS, dhash

if TYPE_CHECKING:
    from PIL.Image import Image

Fit = Literal["crop", "pad"]
FITS: tuple[Fit, ...] = ("crop", "pad")
MIN_RESOLUTION = 16
MAX_RESOLUTION = 1024
# Sidecar files a curated folder may hold beside its images (captions, notes): not images,
# so not "unreadable" either.
SIDECAR_SUFFIXES = frozenset({".txt", ".json", ".md", ".csv", ".caption"})

Progress = Callable[[int, int], None]
# A caption beside an image (`mask01.txt` or `mask01.caption` for `mask01.jpg`) is kept in the
# manifest for the LoRA backend; longer text is cut (CLIP reads 77 tokens at most).
CAPTION_SUFFIXES = (".txt", ".caption")
MAX_CAPTION_CHARS = 300


def read_caption(image: Path) -> str | None:
    """The sidecar caption of `image`, one line of plain text, or None when it has none."""
    for suffix in CAPTION_SUFFIXES:
        sidecar = image.with_suffix(suffix)
        if sidecar.is_file():
            try:
                text = sidecar.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
            caption = " ".join(text.split())[:MAX_CAPTION_CHARS].strip()
            return caption or None
    return None


@dataclass(frozen=True)
class Skipped:
    """A file left out of the dataset, and why."""

    file: str
    reason: str


@dataclass
class PrepareReport:
    """What `prepare_style` made: the dataset's layout, what it kept and what it skipped."""

    layout: StyleLayout
    kept: int
    unreadable: list[Skipped] = field(default_factory=list)
    too_small: list[Skipped] = field(default_factory=list)
    duplicates: list[Skipped] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.unreadable) + len(self.too_small) + len(self.duplicates)


@dataclass(frozen=True)
class _Candidate:
    path: Path
    relative: str
    width: int
    height: int
    bits: np.ndarray


def check_resolution(resolution: int) -> int:
    """Return `resolution` if it is a power of two the GAN can train at, else StyleError."""
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int)
        or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION
        or resolution & (resolution - 1)
    ):
        raise StyleError(
            f"resolution must be a power of two from {MIN_RESOLUTION} to {MAX_RESOLUTION} "
            f"(64-1024 for real work; 16 and 32 for quick trials), got {resolution!r}"
        )
    return resolution


def prepare_style(
    source: Path,
    styles_dir: Path,
    name: str,
    *,
    resolution: int = 256,
    fit: Fit = "crop",
    replace: bool = False,
    progress: Progress | None = None,
) -> PrepareReport:
    """Read every image under `source`, clean it, and write the dataset of style `name`.

    Files Pillow cannot open, files smaller than `resolution` (the short side when cropping,
    the long side when padding) and near duplicates (difference hash within 6 bits of a
    larger kept image) are skipped and named in the manifest. The dataset is built in a
    temporary folder and renamed into place, so a crash never leaves half a dataset.
    """
    check_resolution(resolution)
    if fit not in FITS:
        raise StyleError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    layout = StyleLayout.of(styles_dir, name)
    if layout.root.exists() and not replace:
        raise StyleError(
            f"style {name!r} already exists at {layout.root}; pass --replace to prepare it "
            "again (this deletes its dataset and its training)"
        )
    files = _source_files(source)
    report = PrepareReport(layout=layout, kept=0)
    candidates = _read_candidates(files, source, resolution, fit, report, progress)
    kept = _drop_near_duplicates(candidates, report)
    if not kept:
        raise StyleError(_nothing_usable(source, len(files), report))
    report.kept = len(kept)
    _write_dataset(layout, kept, source, resolution, fit, report, progress)
    return report


def _source_files(source: Path) -> list[Path]:
    source = Path(source).expanduser()
    if not source.exists():
        raise StyleError(f"no folder at {source}: give --from the folder of your curated images")
    if not source.is_dir():
        raise StyleError(f"{source} is a file, not a folder: give --from the folder that holds it")
    files = sorted(
        p
        for p in source.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(source).parts)
        and p.suffix.lower() not in SIDECAR_SUFFIXES
    )
    if not files:
        raise StyleError(
            f"the folder {source} holds no image files (found nothing but hidden or sidecar "
            "files): put your jpg/png/webp images there"
        )
    return files


def _open_rgb(path: Path) -> Image:
    """The image at `path`, upright and fully decoded, in RGB over white where transparent."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    with PILImage.open(path) as opened:
        opened.load()
        image = ImageOps.exif_transpose(opened)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        return PILImage.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _read_candidates(
    files: list[Path],
    source: Path,
    resolution: int,
    fit: Fit,
    report: PrepareReport,
    progress: Progress | None,
) -> list[_Candidate]:
    from PIL import Image as PILImage

    candidates = []
    total = len(files) * 2  # reading, then writing
    for done, path in enumerate(files, start=1):
        relative = path.relative_to(source).as_posix()
        try:
            image = _open_rgb(path)
        except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError) as exc:
            report.unreadable.append(Skipped(relative, _why_unreadable(exc)))
        else:
            side = min(image.size) if fit == "crop" else max(image.size)
            if side < resolution:
                report.too_small.append(
                    Skipped(
                        relative,
                        f"{image.width}x{image.height}: the {'short' if fit == 'crop' else 'long'}"
                        f" side is under {resolution} px",
                    )
                )
            else:
                candidates.append(
                    _Candidate(path, relative, image.width, image.height, dhash(image))
                )
        if progress:
            progress(done, total)
    return candidates


def _why_unreadable(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"Pillow cannot open it ({text})"


def _drop_near_duplicates(candidates: list[_Candidate], report: PrepareReport) -> list[_Candidate]:
    """Keep the largest of each group of near-duplicate images; return the kept in file order."""
    by_size = sorted(candidates, key=lambda c: (-c.width * c.height, c.relative))
    kept: list[_Candidate] = []
    kept_bits = np.zeros((0, 64), bool)
    for candidate in by_size:
        if len(kept):
            differing = np.count_nonzero(kept_bits != candidate.bits, axis=1)
            nearest = int(np.argmin(differing))
            if differing[nearest] <= DUPLICATE_BITS:
                report.duplicates.append(
                    Skipped(
                        candidate.relative,
                        f"a near duplicate of {kept[nearest].relative} "
                        f"({int(differing[nearest])} of 64 hash bits differ)",
                    )
                )
                continue
        kept.append(candidate)
        kept_bits = np.vstack([kept_bits, candidate.bits[None, :]])
    return sorted(kept, key=lambda c: c.relative)


def _nothing_usable(source: Path, found: int, report: PrepareReport) -> str:
    parts = []
    for label, items in (
        ("unreadable", report.unreadable),
        ("too small", report.too_small),
        ("near duplicates", report.duplicates),
    ):
        if items:
            examples = ", ".join(f"{s.file} ({s.reason})" for s in items[:3])
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            parts.append(f"{len(items)} {label}: {examples}{more}")
    return (
        f"no usable image in {source}: found {found} file(s); " + "; ".join(parts) + ". "
        "Add images Pillow can open (jpg, png, webp) at least as large as the resolution, "
        "or lower --resolution"
    )


def square(image: Image, resolution: int, fit: Fit) -> Image:
    """`image` made square (centre crop, or padded with its border colour) at `resolution` px."""
    from PIL import Image as PILImage

    width, height = image.size
    if fit == "crop":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        squared = image.crop((left, top, left + side, top + side))
    else:
        side = max(width, height)
        pixels = np.asarray(image)
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        colour = tuple(int(v) for v in np.median(border, axis=0))
        squared = PILImage.new("RGB", (side, side), colour)
        squared.paste(image, ((side - width) // 2, (side - height) // 2))
    if squared.size != (resolution, resolution):
        squared = squared.resize((resolution, resolution), PILImage.Resampling.LANCZOS)
    return squared


def _write_dataset(
    layout: StyleLayout,
    kept: list[_Candidate],
    source: Path,
    resolution: int,
    fit: Fit,
    report: PrepareReport,
    progress: Progress | None,
) -> None:
    styles_dir = layout.root.parent
    styles_dir.mkdir(parents=True, exist_ok=True)
    building = styles_dir / f".{layout.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    (building / "images").mkdir(parents=True)
    entries = []
    offset = len(kept) + report.skipped
    try:
        for index, candidate in enumerate(kept):
            image = square(_open_rgb(candidate.path), resolution, fit)
            file = f"images/{index:05d}.png"
            image.save(building / file, format="PNG")
            entry = {
                "file": file,
                "source": candidate.relative,
                "width": candidate.width,
                "height": candidate.height,
                "sha256": hashlib.sha256((building / file).read_bytes()).hexdigest(),
            }
            caption = read_caption(candidate.path)
            if caption:
                entry["caption"] = caption
            entries.append(entry)
            if progress:
                progress(offset + index + 1, offset * 2)
        if progress:
            progress(offset * 2, offset * 2)
        write_json_atomic(
            building / "manifest.json",
            {
                "name": layout.name,
                "source": str(Path(source).expanduser().resolve()),
                "resolution": resolution,
                "fit": fit,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "images": entries,
                "skipped": {
                    "unreadable": [vars(s) for s in report.unreadable],
                    "too_small": [vars(s) for s in report.too_small],
                    "duplicates": [vars(s) for s in report.duplicates],
                },
            },
        )
        _swap_into_place(building, layout.root)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _swap_into_place(building: Path, root: Path) -> None:
    """Rename the finished dataset onto `root`, moving an older one aside first."""
    old = root.parent / f".{root.name}.old-{os.getpid()}"
    if root.exists():
        os.replace(root, old)
    os.replace(building, root)
    shutil.rmtree(old, ignore_errors=True)
