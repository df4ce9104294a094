"""Thumbnails for the gallery: made once per image, stored atomically beside the archive."""

from __future__ import annotations

import re
from pathlib import Path

from core.artwork import Artwork
from storage.files import ImageStore, jpeg_bytes, write_atomic
from storage.repository import ARTWORK_DIR

THUMBNAIL_DIR = "thumbnails"
THUMBNAIL_WIDTH = 480
# The full-size JPEG for platforms that fetch images by URL and take only JPEG (Instagram's
# content publishing API), at most as wide as Instagram keeps.
FULL_JPEG_WIDTH = 1440
FULL_JPEG_QUALITY = 92
_SHA256 = re.compile(r"[0-9a-f]{64}")


def thumbnail_path(
    store: ImageStore, artwork: Artwork, *, width: int = THUMBNAIL_WIDTH, quality: int = 85
) -> Path:
    """The artwork's JPEG thumbnail, `width` pixels wide at most; made on first use only.

    Named by the image's sha256, so a thumbnail is never stale and two processes making the
    same one at once both write the same bytes (each through its own temp file and rename).
    """
    if artwork.image_path is None or not _SHA256.fullmatch(artwork.image_sha256 or ""):
        raise FileNotFoundError(f"artwork {artwork.id} names no stored image")
    name = f"{artwork.image_sha256}-{width}" + ("" if quality == 85 else f"-q{quality}")
    path = store.absolute(Path(THUMBNAIL_DIR) / f"{name}.jpg")
    if path.is_file():
        return path
    source = store.archived(artwork.image_path, under=ARTWORK_DIR)
    from PIL import Image

    with Image.open(source) as image:
        image.thumbnail((width, width * 4))
        data = jpeg_bytes(image, quality=quality)
    write_atomic(path, data)
    return path
