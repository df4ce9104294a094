"""Where a style's files live under `DATA_DIR/styles/NAME/`, and writing them atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError

# A style name is a folder name and a word in logs: keep it plain.
STYLE_NAME_PATTERN = _NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MANIFEST = "manifest.json"


class StyleError(ConfigError):
    """A style name, folder or collection cannot be used; the message says how to fix it."""


def check_style_name(name: str) -> str:
    """Return `name` if it is a usable style name (lower-case letters, digits, - and _)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise StyleError(
            f"style name {name!r} is not allowed: use 1-64 lower-case letters, digits, - or _, "
            "starting with a letter or digit (e.g. masks, oil-portraits)"
        )
    return name


@dataclass(frozen=True)
class RunFolder:
    """One backend's training files: checkpoints, sample grids, the loss log and its plot."""

    root: Path

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def loss_log(self) -> Path:
        return self.root / "losses.jsonl"

    @property
    def loss_plot(self) -> Path:
        return self.root / "losses.png"


@dataclass(frozen=True)
class StyleLayout:
    """The files of one style: the prepared dataset, and the GAN's run folder."""

    root: Path

    @classmethod
    def of(cls, styles_dir: Path, name: str) -> StyleLayout:
        """The layout of style `name` under `styles_dir` (DATA_DIR/styles)."""
        return cls(Path(styles_dir) / check_style_name(name))

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def gan(self) -> Path:
        return self.root / "gan"

    def run(self, backend: str) -> RunFolder:
        """The training files of `backend` (gan, lora) under this style."""
        return RunFolder(self.root / backend)

    @property
    def lora(self) -> RunFolder:
        return self.run("lora")

    @property
    def checkpoints(self) -> Path:
        return self.gan / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.gan / "samples"

    @property
    def loss_log(self) -> Path:
        return self.gan / "losses.jsonl"

    @property
    def loss_plot(self) -> Path:
        return self.gan / "losses.png"

    @property
    def novelty(self) -> Path:
        return self.root / "novelty"

    def read_manifest(self) -> dict[str, Any]:
        """The prepared dataset's manifest; StyleError saying how to prepare it when absent."""
        try:
            manifest: dict[str, Any] = json.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StyleError(
                f"style {self.name!r} has no prepared dataset at {self.root}; run "
                f"`kavi style prepare {self.name} --from FOLDER` first"
            ) from None
        except ValueError as exc:
            raise StyleError(
                f"the manifest {self.manifest} is damaged ({exc}); prepare the style again"
            ) from None
        return manifest

    def image_paths(self) -> list[Path]:
        """The prepared images, in manifest order."""
        manifest = self.read_manifest()
        return [self.root / entry["file"] for entry in manifest["images"]]


def list_styles(styles_dir: Path) -> list[StyleLayout]:
    """Every style folder under `styles_dir` that has a manifest, by name."""
    if not Path(styles_dir).is_dir():
        return []
    return [
        StyleLayout(path)
        for path in sorted(Path(styles_dir).iterdir())
        if path.is_dir() and (path / MANIFEST).is_file() and _NAME.match(path.name)
    ]


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`; renamed onto it only when the block ends cleanly."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_json_atomic(target: Path, value: Any) -> None:
    """Write `value` as JSON to `target` through a temporary file and a rename."""
    with atomic_path(target) as temp:
        temp.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
