"""Benchmark the novelty descriptors on this machine: the time to describe a collection of N
images with each one (the offline perceptual descriptor, and image embedding models), the
collection's typical-gap matrix, and one sample's check as the gan painter makes it.

The embedding models are built here with random weights, never downloaded: tiny ones (the
tests') and full-size architectures (CLIP ViT-B/32's vision tower, DINOv2-small), whose
compute, and so whose time, is that of the real weights.

Usage: python bench/bench_style_descriptors.py --images 64 --size 256 [--threads 1]
       [--models tiny full] [--batch 32]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_full_models(root: Path) -> dict[str, Path]:
    """CLIP ViT-B/32's vision tower with projection and DINOv2-small, random weights, with
    their real image processors' settings (224 px)."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        Dinov2Config,
        Dinov2Model,
    )

    from tests.generators.neural.tiny_models import dinov2_image_processor

    torch.manual_seed(0)
    clip = root / "clip-vit-base-patch32-random"
    CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            image_size=224,
            patch_size=32,
            projection_dim=512,
        )
    ).save_pretrained(clip)
    CLIPImageProcessor(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}
    ).save_pretrained(clip)
    dino = root / "dinov2-small-random"
    Dinov2Model(
        Dinov2Config(
            hidden_size=384,
            intermediate_size=1536,
            num_hidden_layers=12,
            num_attention_heads=6,
            image_size=518,
            patch_size=14,
        )
    ).save_pretrained(dino)
    dinov2_image_processor(256, 224).save_pretrained(dino)
    return {"clip-vit-b32 (full size, random)": clip, "dinov2-small (full size, random)": dino}


def build_tiny_models(root: Path) -> dict[str, Path]:
    """The tests' tiny random CLIP and DINOv2 (32 px)."""
    from tests.generators.neural.tiny_models import build_tiny_clip, build_tiny_dinov2

    return {
        "clip (tiny, random)": build_tiny_clip(root / "tiny-clip"),
        "dinov2 (tiny, random)": build_tiny_dinov2(root / "tiny-dinov2"),
    }


def time_descriptor(name: str, descriptor: Any, images: list[Any], repeats: int) -> dict[str, Any]:
    """Seconds to describe `images` (the first pass loads the model), the typical gap's matrix,
    and one sample's nearest neighbours against the described collection."""
    from generators.style.novelty import _typical_gap

    start = time.perf_counter()
    features = descriptor.describe(images)
    first = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        features = descriptor.describe(images)
        warm.append(time.perf_counter() - start)
    start = time.perf_counter()
    _typical_gap(descriptor, features)
    gap = time.perf_counter() - start
    checks = []
    for image in images[: max(3, repeats)]:
        start = time.perf_counter()
        descriptor.distances(descriptor.describe([image]), features)
        checks.append(time.perf_counter() - start)
    best = min(warm)
    return {
        "descriptor": name,
        "images": len(images),
        "first_pass_s": round(first, 3),
        "describe_s": {
            "min": round(best, 3),
            "median": round(statistics.median(warm), 3),
            "max": round(max(warm), 3),
        },
        "ms_per_image": round(1000 * best / len(images), 2),
        "images_per_s": round(len(images) / best, 1),
        "typical_gap_s": round(gap, 4),
        "one_sample_check_ms": round(1000 * min(checks), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="collection size (64)")
    parser.add_argument("--size", type=int, default=256, help="side of the images, px (256)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes after the first")
    parser.add_argument("--batch", type=int, default=32, help="embedding batch size (32)")
    parser.add_argument("--models", nargs="+", choices=("tiny", "full"), default=["tiny", "full"])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    import torch
    from bench_style import ink_collection
    from PIL import Image

    from generators.style.descriptors import PerceptualDescriptor, resolve_descriptor

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = ink_collection(root / "ink", args.images, args.size)
        images = []
        for path in sorted(source.glob("*.png")):
            with Image.open(path) as opened:
                images.append(opened.convert("RGB"))
        models: dict[str, Path] = {}
        if "tiny" in args.models:
            models |= build_tiny_models(root)
        if "full" in args.models:
            models |= build_full_models(root)
        results = [time_descriptor("perceptual", PerceptualDescriptor(), images, args.repeats)]
        for name, path in models.items():
            chosen = resolve_descriptor(str(path), device="cpu", batch_size=args.batch)
            results.append(time_descriptor(name, chosen.descriptor, images, args.repeats))
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                "torch_threads": torch.get_num_threads(),
                "image_px": args.size,
                "batch": args.batch,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
