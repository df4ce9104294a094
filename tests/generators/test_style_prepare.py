"""Preparing a style dataset: what is kept, what is skipped and why, and the clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generators.style.layout import StyleError, StyleLayout, check_style_name, list_styles
from generators.style.perceptual import dhash, hamming
from generators.style.prepare import prepare_style, square
from tests.generators.style_collections import blobs, make_collection


@pytest.fixture
def styles(tmp_path: Path) -> Path:
    return tmp_path / "styles"


def test_a_messy_folder_is_cleaned_and_every_skip_is_named(tmp_path: Path, styles: Path) -> None:
    source = tmp_path / "curated"
    make_collection(source, 5, size=48)
    (source / "nested").mkdir()
    blobs(99, 64).convert("RGBA").save(source / "nested" / "with-alpha.png")
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (source / "notes.txt").write_text("a caption, not an image")
    blobs(50, 20).save(source / "tiny.png")
    # The same picture as img-001, larger and re-encoded: a near duplicate of it.
    blobs(1, 48).resize((96, 96)).save(source / "img-001-big.jpg", quality=85)

    report = prepare_style(source, styles, "blobs", resolution=32)

    assert report.kept == 6
    assert [s.file for s in report.unreadable] == ["broken.jpg"]
    assert [s.file for s in report.too_small] == ["tiny.png"]
    assert "under 32 px" in report.too_small[0].reason
    # The larger copy is kept and the smaller one is named as its duplicate.
    assert [s.file for s in report.duplicates] == ["img-001.png"]
    assert "img-001-big.jpg" in report.duplicates[0].reason
    manifest = json.loads((styles / "blobs" / "manifest.json").read_text())
    assert manifest["resolution"] == 32 and len(manifest["images"]) == 6
    assert {e["source"] for e in manifest["images"]} >= {"img-001-big.jpg", "nested/with-alpha.png"}
    assert manifest["skipped"]["unreadable"][0]["file"] == "broken.jpg"
    for entry in manifest["images"]:
        with Image.open(styles / "blobs" / entry["file"]) as image:
            assert image.size == (32, 32) and image.mode == "RGB"
    assert not [p for p in styles.iterdir() if p.name.startswith(".")]


def test_crop_and_pad_make_squares() -> None:
    wide = Image.new("RGB", (80, 40), (255, 0, 0))
    wide.paste((0, 0, 255), (0, 0, 10, 40))
    cropped = square(wide, 16, "crop")
    padded = square(wide, 16, "pad")
    assert cropped.size == padded.size == (16, 16)
    # The centre crop loses the blue band at the left edge; padding keeps it.
    assert np.asarray(cropped)[..., 2].max() < 50
    assert np.asarray(padded)[8, 0, 2] > 200


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no folder at"),
        (lambda p: p.write_text("x"), "is a file, not a folder"),
        (lambda p: p.mkdir(), "holds no image files"),
        (lambda p: (p.mkdir(), (p / "a.txt").write_text("x")), "holds no image files"),
    ],
)
def test_a_missing_or_empty_folder_says_what_it_found(
    tmp_path: Path, styles: Path, setup: object, message: str
) -> None:
    source = tmp_path / "curated"
    setup(source)  # type: ignore[operator]
    with pytest.raises(StyleError, match=message):
        prepare_style(source, styles, "blobs", resolution=32)
    assert not (styles / "blobs").exists()


def test_a_folder_with_no_usable_image_counts_what_it_skipped(tmp_path: Path, styles: Path) -> None:
    source = tmp_path / "curated"
    make_collection(source, 2, size=20)
    (source / "bad.png").write_bytes(b"garbage")
    with pytest.raises(StyleError) as info:
        prepare_style(source, styles, "blobs", resolution=32)
    text = str(info.value)
    assert "found 3 file(s)" in text
    assert "1 unreadable: bad.png" in text and "2 too small: img-000.png (20x20" in text
    assert "lower --resolution" in text


def test_an_existing_style_is_kept_unless_replaced(tmp_path: Path, styles: Path) -> None:
    make_collection(tmp_path / "a", 3)
    make_collection(tmp_path / "b", 4, first_seed=10)
    prepare_style(tmp_path / "a", styles, "blobs", resolution=16)
    with pytest.raises(StyleError, match="already exists.*--replace"):
        prepare_style(tmp_path / "b", styles, "blobs", resolution=16)
    report = prepare_style(tmp_path / "b", styles, "blobs", resolution=16, replace=True)
    assert report.kept == 4
    assert len(StyleLayout.of(styles, "blobs").image_paths()) == 4
    assert [s.name for s in list_styles(styles)] == ["blobs"]


@pytest.mark.parametrize("name", ["", "Masks", "../up", "a b", "x" * 65, "-dash"])
def test_bad_style_names_are_refused(name: str) -> None:
    with pytest.raises(StyleError, match="not allowed"):
        check_style_name(name)


def test_resolution_must_be_a_power_of_two_in_range(tmp_path: Path, styles: Path) -> None:
    make_collection(tmp_path / "a", 1)
    for bad in (48, 8, 2048):
        with pytest.raises(StyleError, match="power of two"):
            prepare_style(tmp_path / "a", styles, "blobs", resolution=bad)


def test_dhash_sees_a_resize_as_the_same_picture_and_others_as_different() -> None:
    first = blobs(1, 64)
    assert hamming(dhash(first), dhash(first.resize((40, 40)))) <= 6
    assert hamming(dhash(first), dhash(blobs(2, 64))) > 6
