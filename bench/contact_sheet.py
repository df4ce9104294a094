"""Contact sheets of the offline chain: 36 seeds, and one poem in all 20 moods, as PNG.

Usage: python bench/contact_sheet.py OUT_DIR [--engine ink] [--stylist ink] [--size 512]
                                     [--for-docs]
Writes OUT_DIR/contact-<engine>-<stylist>.png (finals), paintings-… (before the mood step)
and moods-…png, so a person can look at the hand as a follower would. `--for-docs` writes
only contact.png and moods.png with smaller tiles (about half the bytes), as in docs/ink/.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_THUMB = 256
_LABEL = 16


def _sheet(tiles: list[tuple[Image.Image, str]], columns: int, thumb: int = _THUMB) -> Image.Image:
    """Tiles in a grid, each with a one-line label under it."""
    rows = (len(tiles) + columns - 1) // columns
    cell_h = thumb + _LABEL
    sheet = Image.new("RGB", (columns * thumb, rows * cell_h), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(tiles):
        x, y = (i % columns) * thumb, (i // columns) * cell_h
        sheet.paste(image.resize((thumb, thumb), Image.Resampling.LANCZOS), (x, y))
        draw.text((x + 4, y + thumb + 2), label[: thumb // 6], fill=(30, 30, 30))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--engine", default="ink")
    parser.add_argument("--stylist", default="ink", help="the mood engine (classic, ink)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--mood-seed", type=int, default=1)
    parser.add_argument("--for-docs", action="store_true", help="smaller sheets for docs/")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as data_dir:
        from bench_offline import offline_chain

        from generators.mood.moods import MOODS

        chain = offline_chain(Path(data_dir), args.size, args.engine, args.stylist)
        finals, paintings = [], []
        for seed in range(args.first_seed, args.first_seed + 36):
            result = chain.run(seed=seed)
            words = " ".join(result.artwork.poem.split("\n")[0].split()[:5])
            finals.append((result.image, f"{seed} {result.artwork.mood}: {words}"))
            paintings.append((result.painting, f"{seed} {words}"))
        moods = []
        for mood in MOODS:
            result = chain.run(seed=args.mood_seed, mood=mood)
            moods.append((result.image, mood))
        print(chain.run(seed=args.mood_seed).artwork.poem)
    sheets = [("contact", finals, 6), ("paintings", paintings, 6), ("moods", moods, 5)]
    for name, tiles, columns in sheets:
        if args.for_docs:
            if name == "paintings":
                continue
            path = args.out / f"{name}.png"
            _sheet(tiles, columns, thumb=192).save(path, optimize=True)
        else:
            path = args.out / f"{name}-{args.engine}-{args.stylist}.png"
            _sheet(tiles, columns).save(path)
        print(path)


if __name__ == "__main__":
    main()
