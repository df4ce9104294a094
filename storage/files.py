"""The image file store under DATA_DIR: files written atomically, never half-written."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

# What a write in progress is called; one left behind was cut short by a crash.
TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to `path` through a temp file in the same folder, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


# zlib level 1 encodes a 1024 px artwork about 5x faster than level 6 (0.07 s vs 0.39 s) for
# files about 15 % larger; PNG is lossless, so the pixels are the same at every level.
PNG_COMPRESS_LEVEL = 1


def png_bytes(image: Image) -> bytes:
    """Encode an image as PNG with no timestamps or metadata, so equal pixels give equal bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def jpeg_bytes(image: Image, *, quality: int = 92) -> bytes:
    """Encode an image as a baseline sRGB JPEG (what photo platforms expect)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True, subsampling=0)
    return buffer.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ImageStore:
    """Stores artwork images under `root` (DATA_DIR); paths handed out are relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def absolute(self, relative: Path | str) -> Path:
        return self.root / relative

    def save(self, relative: Path, data: bytes) -> Path:
        """Write one file atomically and return its path relative to the root."""
        write_atomic(self.root / relative, data)
        return relative

    def archived(self, relative: Path | str, *, under: str) -> Path:
        """The absolute path of a stored file named by a row, refused unless it stays `under`.

        A row's path is relative and plain (`artworks/2026/11/x.png`): an absolute path, a
        `..` part or a link out of the folder (a tampered row) raises FileNotFoundError, so a
        caller serving files can only ever serve what lies in that folder of the store.
        """
        parts = Path(relative).parts
        if not parts or Path(relative).is_absolute() or ".." in parts or parts[0] != under:
            raise FileNotFoundError(f"{str(relative)!r} is not a file under {under}/")
        folder = (self.root / under).resolve()
        path = (self.root / relative).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            raise FileNotFoundError(f"{str(relative)!r} is not a file under {under}/")
        return path

    def remove(self, relative: Path | str | None) -> None:
        if relative is None:
            return
        with contextlib.suppress(FileNotFoundError):
            (self.root / relative).unlink()
