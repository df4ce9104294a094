"""Variety of the offline hand over a year of seeds, and what the mood step keeps.

Usage: python bench/bench_variety.py [--seeds 365] [--size 512] [--engine ink --stylist ink]

Prints JSON:
- the smallest perceptual-hash (64-bit DCT pHash, the one "never repeat" keeps) Hamming
  distance between any two finals,
  with the two seeds, and how many pairs are closer than 10 bits;
- distinct compositions: a composition is the framing plus every drawn subject's box,
  each corner rounded to a quarter of the sheet; also distinct (framing, main subject);
- edge energy kept by the mood step: mean Sobel gradient of the final's luma over the
  painting's (1.0 keeps every edge), median and minimum over the seeds;
- how far apart the 20 moods are, for one poem (seed `--mood-seed`): for each pair, the
  larger CIE76 distance of their mean paper tones (lightest 30%) and mean middle tones;
  the smallest over all pairs (above about 5 a viewer tells them apart side by side).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from skimage.color import rgb2lab
from skimage.filters import sobel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def edge_energy(image: Image.Image) -> float:
    """Mean Sobel gradient magnitude of the image's luma (0..1 scale)."""
    luma: NDArray[np.float64] = np.asarray(image.convert("L"), np.float64) / 255.0
    return float(sobel(luma).mean())


def composition(framing: str, drawn: tuple[tuple[str, tuple[int, int, int, int]], ...], size: int):
    """A layout signature: framing plus each subject's box on a 4x4 grid."""
    quarter = size / 4
    return (framing, tuple(sorted((n, tuple(round(v / quarter) for v in b)) for n, b in drawn)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=365)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--engine", default="ink")
    parser.add_argument("--stylist", default="ink")
    parser.add_argument("--mood-seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bench_offline import offline_chain

    from generators.mood.moods import MOODS
    from generators.novelty import image_hash
    from storage.novelty import hash_distances

    hashes: list[int] = []
    kept: list[float] = []
    layouts: set[object] = set()
    mains: set[tuple[str, str]] = set()
    with tempfile.TemporaryDirectory() as data_dir:
        chain = offline_chain(Path(data_dir), args.size, args.engine, args.stylist)
        painter = chain.engine("image")
        for seed in range(args.seeds):
            result = chain.run(seed=seed)
            hashes.append(image_hash(result.image))
            kept.append(edge_energy(result.image) / max(edge_energy(result.painting), 1e-9))
            scene = result.artwork.scene
            drawn = tuple((d["subject"], tuple(d["box"])) for d in scene.get("drawn", []))
            layouts.add(composition(scene.get("framing", painter.name), drawn, args.size))
            mains.add((scene.get("framing", ""), drawn[-1][0] if drawn else ""))
        mood_means = {}
        for mood in MOODS:
            image = chain.run(seed=args.mood_seed, mood=mood).image
            lab = rgb2lab(np.asarray(image.resize((128, 128)), np.float64) / 255.0)
            lab = lab.reshape(-1, 3)
            light = lab[:, 0]
            paper = lab[light >= np.percentile(light, 70)].mean(axis=0)
            middle = lab[(light > np.percentile(light, 5)) & (light < np.percentile(light, 60))]
            mood_means[mood] = np.stack([paper, middle.mean(axis=0)])
    packed = np.array(hashes, dtype=np.int64)
    distances = [
        (int(bits), a, a + 1 + int(k))
        for a in range(len(hashes) - 1)
        for k, bits in enumerate(hash_distances(hashes[a], packed[a + 1 :]))
    ]
    closest = min(distances)
    mood_pairs = [
        (float(np.linalg.norm(mood_means[a] - mood_means[b], axis=1).max()), a, b)
        for a, b in itertools.combinations(sorted(mood_means), 2)
    ]
    nearest_moods = min(mood_pairs)
    report = {
        "engines": f"grammar, {args.engine}, {args.stylist}",
        "seeds": args.seeds,
        "size_px": args.size,
        "phash_min_distance_bits": closest[0],
        "phash_closest_seeds": [closest[1], closest[2]],
        "phash_pairs_under_10_bits": sum(1 for d in distances if d[0] < 10),
        "phash_median_distance_bits": statistics.median(d[0] for d in distances),
        "distinct_compositions": len(layouts),
        "distinct_framing_and_last_drawn_subject": len(mains),
        "edge_energy_kept": {
            "median": round(statistics.median(kept), 3),
            "min": round(min(kept), 3),
            "max": round(max(kept), 3),
        },
        "moods_min_tone_distance_deltaE76": round(nearest_moods[0], 2),
        "moods_closest_pair": [nearest_moods[1], nearest_moods[2]],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
