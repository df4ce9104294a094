"""Novelty: a sample that is a training image is flagged; a new picture is not; the page says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from generators.style.layout import StyleLayout
from generators.style.novelty import build_index, inspect_samples
from generators.style.prepare import prepare_style
from tests.generators.style_collections import blobs, make_collection


@pytest.fixture
def layout(tmp_path: Path) -> StyleLayout:
    make_collection(tmp_path / "curated", 12, size=32)
    return prepare_style(tmp_path / "curated", tmp_path / "styles", "blobs", resolution=32).layout


def test_a_training_image_is_flagged_and_a_new_one_is_not(layout: StyleLayout) -> None:
    with Image.open(layout.image_paths()[4]) as opened:
        copy = opened.convert("RGB")
    # A re-encoded, slightly shifted copy is still a copy.
    shifted = copy.transform(copy.size, Image.Transform.AFFINE, (1, 0, 1, 0, 1, 0))
    new = blobs(1000, 32)
    report = inspect_samples(layout, [copy, shifted, new], checkpoint="step-00000010 sha256:abc")

    exact, near, novel = report.samples
    assert exact.memorised and exact.nearest == pytest.approx(0.0, abs=1e-6)
    assert exact.neighbours[0].file == "images/00004.png"
    assert near.memorised and near.neighbours[0].file == "images/00004.png"
    assert not novel.memorised and novel.nearest > report.threshold
    assert [n.distance for n in novel.neighbours] == sorted(n.distance for n in novel.neighbours)
    assert len(novel.neighbours) == 3 and report.flagged == 2

    page = report.page.read_text(encoding="utf-8")
    assert page.count("MEMORISED") == 2 and "Flagged: 2 of 3" in page
    assert "../images/00004.png" in page and "step-00000010 sha256:abc" in page
    summary = json.loads(report.summary.read_text())
    assert summary["flagged"] == 2 and summary["samples"][0]["neighbours"][0]["distance"] == 0.0
    # The default descriptor is the offline one, and both outputs say so.
    assert summary["descriptor"] == "perceptual" and "LAB thumbnail" in summary["descriptor_about"]
    assert "measured by the descriptor perceptual" in page
    assert (report.page.parent / "samples" / "002.png").is_file()
    with Image.open(report.sheet) as sheet:
        # Three rows of a sample and its three neighbours, the copies framed in red.
        assert sheet.size == (2 + 4 * (38 + 2), 2 + 3 * (38 + 2))
        assert sheet.getpixel((3, 3)) == (220, 30, 30)
        assert sheet.getpixel((3, 2 + 2 * 40 + 1)) == (255, 255, 255)


def test_the_index_is_cached_and_rebuilt_when_the_dataset_changes(
    layout: StyleLayout, tmp_path: Path
) -> None:
    described: list[tuple[int, int]] = []
    first = build_index(layout, progress=lambda done, total: described.append((done, total)))
    assert (layout.root / "descriptors.npz").is_file() and described == [(12, 12)]
    again = build_index(layout, progress=lambda done, total: described.append((done, total)))
    assert again.threshold == first.threshold and again.files == first.files
    assert described == [(12, 12)]  # the cache answered
    make_collection(tmp_path / "more", 5, size=32, first_seed=40)
    prepare_style(tmp_path / "more", layout.root.parent, "blobs", resolution=32, replace=True)
    assert len(build_index(layout).files) == 5


def test_the_page_escapes_what_it_shows(tmp_path: Path) -> None:
    make_collection(tmp_path / "curated", 3, size=32)
    layout = prepare_style(tmp_path / "curated", tmp_path / "styles", "x", resolution=32).layout
    report = inspect_samples(layout, [blobs(7, 32)], checkpoint='<script>alert("x")</script>')
    page = report.page.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
