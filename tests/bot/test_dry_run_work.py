"""What a dry run computes: each image encoded once, the preview reusing the archived bytes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import storage.files
from bot.service import Kavi
from bot.settings import load_settings


def test_dry_run_encodes_each_image_once_and_previews_the_archived_bytes(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[tuple[int, int]] = []
    real = storage.files.png_bytes

    def counting(image: Image.Image) -> bytes:
        encoded.append(image.size)
        return real(image)

    # Every PNG encode in the service and the archive goes through `png_bytes`.
    monkeypatch.setattr("storage.repository.png_bytes", counting)
    monkeypatch.setattr("bot.service.png_bytes", counting)
    kavi = Kavi(load_settings(data_dir=data_dir, image_size=256))
    try:
        report = kavi.post_now(dry_run=True, seed=7)
    finally:
        kavi.close()
    assert len(encoded) == 2  # the final artwork and the painting, nothing more
    artwork = report.result.artwork
    assert report.preview is not None and artwork.image_path is not None
    archived = (data_dir / artwork.image_path).read_bytes()
    assert report.preview.files["kavi"].read_bytes() == archived


def test_png_bytes_keep_every_pixel(tmp_path: Path) -> None:
    pixels = np.random.default_rng(3).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    data = storage.files.png_bytes(Image.fromarray(pixels))
    with Image.open(io.BytesIO(data)) as decoded:
        assert np.array_equal(np.asarray(decoded), pixels)
    assert storage.files.png_bytes(Image.fromarray(pixels)) == data
