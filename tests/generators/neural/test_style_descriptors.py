"""Novelty measured by an image embedding model on disk (tiny random CLIP and DINOv2 built
here): copies flagged, new pictures not, a cache per descriptor, `auto`'s fallback, clear
errors for a model that is not on disk, the CLI's --descriptor and the gan painter's check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import main
from generators.models import DEFAULT_IMAGE_EMBEDDING_MODEL
from generators.style.descriptors import (
    DescriptorError,
    EmbeddingDescriptor,
    PerceptualDescriptor,
    resolve_descriptor,
)
from generators.style.layout import StyleLayout
from generators.style.novelty import build_index, inspect_samples
from generators.style.prepare import prepare_style
from generators.style.sample import sample
from tests.generators.neural.conftest import put_in_hub_cache
from tests.generators.neural.style_fixtures import tiny_style, untrained_checkpoint
from tests.generators.neural.tiny_models import build_tiny_clip, build_tiny_dinov2
from tests.generators.style_collections import blobs, make_collection, one_torch_thread  # noqa: F401

pytestmark = [pytest.mark.neural, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random embedding models: a full CLIP checkpoint, CLIP's vision tower alone, DINOv2."""
    root = tmp_path_factory.mktemp("embedders")
    return {
        "clip": build_tiny_clip(root / "clip"),
        "clip-vision": build_tiny_clip(root / "clip-vision", text_half=False),
        "dinov2": build_tiny_dinov2(root / "dinov2"),
    }


@pytest.fixture
def layout(tmp_path: Path) -> StyleLayout:
    make_collection(tmp_path / "curated", 12, size=32)
    return prepare_style(tmp_path / "curated", tmp_path / "styles", "blobs", resolution=32).layout


def training_image(layout: StyleLayout, number: int) -> Image.Image:
    with Image.open(layout.image_paths()[number]) as opened:
        return opened.convert("RGB")


@pytest.mark.parametrize("kind", ["clip", "clip-vision", "dinov2"])
def test_a_training_image_is_flagged_and_a_new_one_is_not(
    kind: str, models: dict[str, Path], layout: StyleLayout
) -> None:
    chosen = resolve_descriptor(str(models[kind]), device="cpu")
    assert isinstance(chosen.descriptor, EmbeddingDescriptor)
    assert chosen.reason == f"local folder {models[kind]}"
    report = inspect_samples(
        layout, [training_image(layout, 4), blobs(1000, 32)], descriptor=chosen.descriptor
    )

    copy, novel = report.samples
    assert copy.memorised and copy.nearest == pytest.approx(0.0, abs=1e-5)
    assert copy.neighbours[0].file == "images/00004.png"
    assert not novel.memorised and novel.nearest > report.threshold
    assert report.threshold == pytest.approx(max(0.01, 0.5 * report.typical))
    summary = json.loads(report.summary.read_text())
    assert summary["descriptor"] == str(models[kind]) and summary["flagged"] == 1
    page = report.page.read_text(encoding="utf-8")
    assert f"descriptor {models[kind]}" in page and "cosine distance" in page


def test_embeddings_are_unit_vectors_whatever_the_batch(
    models: dict[str, Path], layout: StyleLayout
) -> None:
    images = [training_image(layout, n) for n in range(12)]
    whole = resolve_descriptor(str(models["dinov2"]), device="cpu").descriptor
    batched = resolve_descriptor(str(models["dinov2"]), device="cpu", batch_size=5).descriptor
    vectors = whole.describe(images)["vectors"]
    assert vectors.shape == (12, 32) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(np.ones(12), abs=1e-5)
    np.testing.assert_allclose(batched.describe(images)["vectors"], vectors, atol=1e-5)


def test_the_cache_is_kept_per_descriptor_and_never_reused_across_them(
    models: dict[str, Path], layout: StyleLayout, tmp_path: Path
) -> None:
    perceptual = build_index(layout, PerceptualDescriptor())
    clip = build_index(layout, resolve_descriptor(str(models["clip"])).descriptor)
    dino_descriptor = resolve_descriptor(str(models["dinov2"])).descriptor
    dino = build_index(layout, dino_descriptor)
    caches = {i.descriptor.cache_file for i in (perceptual, clip, dino)}
    assert len(caches) == 3 and all((layout.root / name).is_file() for name in caches)
    assert set(perceptual.features) == {"labs", "bits"}
    assert clip.features["vectors"].shape == (12, 16)
    assert dino.features["vectors"].shape == (12, 32)
    assert clip.typical != perceptual.typical

    # A cache hit needs no model: the collection's vectors come from the file.
    again = resolve_descriptor(str(models["dinov2"])).descriptor
    assert isinstance(again, EmbeddingDescriptor)
    np.testing.assert_array_equal(
        build_index(layout, again).features["vectors"], dino.features["vectors"]
    )
    assert not again.embedder.is_loaded

    # CLIP's vectors put where DINOv2's cache lives are not taken for DINOv2's.
    shutil.copy(layout.root / clip.descriptor.cache_file, layout.root / dino_descriptor.cache_file)
    assert build_index(layout, again).features["vectors"].shape == (12, 32)

    # New weights in the same folder: the vectors are computed again.
    moved = tmp_path / "dinov2"
    shutil.copytree(models["dinov2"], moved)
    first = build_index(layout, resolve_descriptor(str(moved)).descriptor)
    build_tiny_dinov2(moved, seed=1)
    second = build_index(layout, resolve_descriptor(str(moved)).descriptor)
    assert not np.allclose(first.features["vectors"], second.features["vectors"])


def test_auto_takes_the_default_model_when_on_disk_else_perceptual_and_says_why(
    models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list"]) == 0
    assert "novelty descriptor: perceptual (STYLE_DESCRIPTOR=auto: " in capsys.readouterr().out
    fallback = resolve_descriptor("auto")
    assert isinstance(fallback.descriptor, PerceptualDescriptor)
    assert fallback.reason == (
        f"{DEFAULT_IMAGE_EMBEDDING_MODEL} is not in the Hugging Face cache; "
        f"fetch it once with `hf download {DEFAULT_IMAGE_EMBEDDING_MODEL}`"
    )
    assert resolve_descriptor("perceptual").reason == "the offline descriptor"

    put_in_hub_cache(models["clip"], DEFAULT_IMAGE_EMBEDDING_MODEL, tmp_path / "hf-home")
    found = resolve_descriptor("auto")
    assert isinstance(found.descriptor, EmbeddingDescriptor)
    assert found.descriptor.name == DEFAULT_IMAGE_EMBEDDING_MODEL
    assert found.reason == f"{DEFAULT_IMAGE_EMBEDDING_MODEL} found in the Hugging Face cache"
    assert main(["models", "list"]) == 0
    assert (
        f"novelty descriptor: {DEFAULT_IMAGE_EMBEDDING_MODEL} (STYLE_DESCRIPTOR=auto: "
        f"{DEFAULT_IMAGE_EMBEDDING_MODEL} found in the Hugging Face cache)"
    ) in capsys.readouterr().out
    assert isinstance(resolve_descriptor("perceptual").descriptor, PerceptualDescriptor)


def test_a_model_that_is_not_on_disk_is_a_clear_error(
    models: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(DescriptorError) as info:
        resolve_descriptor("facebook/dinov2-small")
    assert str(info.value) == (
        "the image embedding model 'facebook/dinov2-small' is not on disk: "
        "facebook/dinov2-small is not in the Hugging Face cache; fetch it once with "
        "`hf download facebook/dinov2-small`; or use auto or perceptual"
    )
    partial = tmp_path / "no-processor"
    shutil.copytree(models["dinov2"], partial)
    (partial / "preprocessor_config.json").unlink()
    with pytest.raises(DescriptorError, match="lacks preprocessor_config.json"):
        resolve_descriptor(str(partial))


@pytest.fixture
def trained_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DATA_DIR with a 16 px style `blobs` and a checkpoint of freshly initialised networks."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    untrained_checkpoint(tiny_style(data_dir, "blobs"))
    return data_dir


def test_inspect_uses_the_descriptor_asked_for_and_says_which(
    models: dict[str, Path],
    trained_style: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = trained_style / "styles" / "blobs" / "novelty" / "novelty.json"
    clip = str(models["clip"])
    assert main(["style", "inspect", "blobs", "-n", "3", "--descriptor", clip]) == 0
    out = capsys.readouterr().out
    assert f"descriptor: {clip} (--descriptor={clip}: local folder {clip})" in out
    assert "3 sample(s)" in out and out.count("images/000") >= 9
    assert json.loads(summary.read_text())["descriptor"] == clip

    assert main(["style", "inspect", "blobs", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert "descriptor: perceptual (STYLE_DESCRIPTOR=auto: " in out
    assert "not in the Hugging Face cache" in out
    assert json.loads(summary.read_text())["descriptor"] == "perceptual"

    monkeypatch.setenv("STYLE_DESCRIPTOR", "facebook/dinov2-small")
    assert main(["style", "inspect", "blobs", "-n", "2"]) == 2
    err = capsys.readouterr().err
    assert (
        "STYLE_DESCRIPTOR=facebook/dinov2-small: the image embedding model "
        "'facebook/dinov2-small' is not on disk" in err
    )
    assert main(["models", "list"]) == 0
    assert (
        "novelty descriptor: none usable (STYLE_DESCRIPTOR=facebook/dinov2-small: the image "
        "embedding model 'facebook/dinov2-small' is not on disk" in capsys.readouterr().out
    )
    assert main(["style", "inspect", "blobs", "-n", "2", "--descriptor", "Perceptual"]) == 0
    assert "descriptor: perceptual (--descriptor=Perceptual: the offline descriptor)" in (
        capsys.readouterr().out
    )


def test_the_gan_painter_checks_for_copies_with_the_chosen_descriptor(
    models: dict[str, Path], tmp_path: Path
) -> None:
    from generators.errors import GenerationError
    from generators.image.gan import GanPainter, GanPainterOptions
    from generators.poem.grammar import GrammarPoemWriter

    poem = GrammarPoemWriter().write(seed=1)
    dinov2 = str(models["dinov2"])
    # A collection of pictures unlike the generator's: its first sample is used as it is.
    blobs_style = tiny_style(tmp_path / "data", "blobs")
    checkpoint = untrained_checkpoint(blobs_style)
    painter = GanPainter(
        GanPainterOptions(model=str(blobs_style.root), style="blobs", descriptor=dinov2)
    )
    assert painter.paint(poem, size=64, seed=0).prompt.endswith("seed 0")
    assert painter._index is not None and painter._index.descriptor.name == dinov2
    assert (blobs_style.root / painter._index.descriptor.cache_file).is_file()

    # The same pictures with the generator's samples of seeds 0 and 1 among them: both are
    # copies, so two attempts make nothing. (A random tiny model sees all of this untrained
    # generator's samples as near alike, so seed 2 would be flagged too: no third attempt.)
    curated = tmp_path / "with-samples"
    shutil.copytree(tmp_path / "data" / "curated-blobs", curated)
    for seed in (0, 1):
        sample(checkpoint, 1, seed=seed)[0].save(curated / f"sample-{seed}.png")
    own = prepare_style(curated, tmp_path / "data" / "styles", "own", resolution=16).layout
    shutil.copytree(checkpoint.path, own.checkpoints / checkpoint.path.name)
    options = GanPainterOptions(model=str(own.root), style="own", descriptor=dinov2, max_attempts=2)
    with pytest.raises(GenerationError) as info:
        GanPainter(options).paint(poem, size=64, seed=0)
    assert "in 2 seeds (last: a near copy of training image images/" in str(info.value)
    assert "(distance 0.0000 < 0.0" in str(info.value)


def test_the_chain_refuses_a_descriptor_model_that_is_not_on_disk(
    trained_style: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "IMAGE_SIZE": "256",
        "IMAGE_ENGINE": "gan",
        "STYLE_NAME": "blobs",
        "STYLE_DESCRIPTOR": "facebook/dinov2-small",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["--post-now", "--dry-run"]) == 2
    assert (
        "invalid configuration: STYLE_DESCRIPTOR: the image embedding model "
        "'facebook/dinov2-small' is not on disk" in capsys.readouterr().err
    )
