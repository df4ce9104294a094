"""The diffusion painter on a tiny random SD pipeline: loading, seeding, blank and OOM handling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from core.errors import ConfigError  # noqa: E402
from generators.errors import GenerationError  # noqa: E402
from generators.image.diffusion import (  # noqa: E402
    DiffusionOptions,
    DiffusionPainter,
    DiffusionPainterOptions,
    load_text2image,
)
from generators.poem.base import Poem  # noqa: E402
from tests.generators.neural.conftest import put_in_hub_cache  # noqa: E402

pytestmark = pytest.mark.neural

POEM = Poem(
    lines=("the old moon rises", "a heron stands in the stream", "cold wind on the reeds"),
    engine="grammar",
    imagery=("moon", "heron", "stream", "reeds"),
)


def _painter(folder: Path, **kwargs: Any) -> DiffusionPainter:
    kwargs.setdefault("tiny_vae", None)
    return DiffusionPainter(
        DiffusionPainterOptions(str(folder), device="cpu", dtype="float32", **kwargs)
    )


class DecoderOutputs:
    """A forward hook that replaces the VAE decoder's first `blank_calls` outputs with flat grey."""

    def __init__(self, blank_calls: int) -> None:
        self.blank_calls = blank_calls
        self.calls = 0

    def __call__(self, module: Any, args: Any, output: Any) -> Any:
        self.calls += 1
        return torch.zeros_like(output) if self.calls <= self.blank_calls else output


@pytest.fixture
def hooks() -> Iterator[list[Any]]:
    handles: list[Any] = []
    yield handles
    for handle in handles:
        handle.remove()


def test_paints_a_seeded_image_at_the_requested_size(tiny_sd: Path) -> None:
    painter = _painter(tiny_sd)
    first = painter.paint(POEM, size=96, seed=11)
    again = painter.paint(POEM, size=96, seed=11)
    other = painter.paint(POEM, size=96, seed=12)
    assert first.image.size == (96, 96) and first.image.mode == "RGB"
    assert first.image.tobytes() == again.image.tobytes()
    assert first.image.tobytes() != other.image.tobytes()
    assert (first.engine, first.model) == ("diffusion", str(tiny_sd))
    assert "moon" in first.prompt and painter.options.style_words in first.prompt
    assert first.description


def test_blank_image_is_redone_with_the_next_seed(tiny_sd: Path, hooks: list[Any]) -> None:
    painter = _painter(tiny_sd)
    expected = painter.paint(POEM, size=64, seed=21)
    hook = DecoderOutputs(blank_calls=1)
    hooks.append(painter.pipeline().vae.decoder.register_forward_hook(hook))
    painting = painter.paint(POEM, size=64, seed=20)
    assert hook.calls == 2
    assert painting.image.tobytes() == expected.image.tobytes()


def test_always_blank_fails_clearly(tiny_sd: Path, hooks: list[Any]) -> None:
    painter = _painter(tiny_sd, max_attempts=2)
    hooks.append(painter.pipeline().vae.decoder.register_forward_hook(DecoderOutputs(99)))
    with pytest.raises(GenerationError, match="no usable image in 2 seeds.*blank"):
        painter.paint(POEM, size=64, seed=1)


def test_out_of_memory_retries_once_at_lower_resolution(tiny_sd: Path, hooks: list[Any]) -> None:
    painter = _painter(tiny_sd, steps=1)
    latent_sides: list[int] = []

    def out_of_memory_once(module: Any, args: Any) -> None:
        latent_sides.append(int(args[0].shape[-1]))
        if len(latent_sides) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    hooks.append(painter.pipeline().unet.register_forward_pre_hook(out_of_memory_once))
    painting = painter.paint(POEM, size=64, seed=3)
    assert latent_sides == [32, 24]  # 64 px, then 48 px (latents at half size)
    assert painting.image.size == (64, 64)


def test_out_of_memory_twice_fails_clearly(tiny_sd: Path, hooks: list[Any]) -> None:
    painter = _painter(tiny_sd)

    def out_of_memory(module: Any, args: Any) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory")

    hooks.append(painter.pipeline().unet.register_forward_pre_hook(out_of_memory))
    with pytest.raises(GenerationError, match="out of memory on cpu at 64 px and again at 48 px"):
        painter.paint(POEM, size=64, seed=3)


def test_tiny_vae_decoder(tiny_sd: Path, tiny_taesd: Path) -> None:
    painter = _painter(tiny_sd, tiny_vae=str(tiny_taesd))
    assert type(painter.pipeline().vae).__name__ == "AutoencoderTiny"
    assert painter.paint(POEM, size=64, seed=2).image.size == (64, 64)


def test_tiny_vae_auto_uses_taesd_only_when_on_disk(
    tiny_sd: Path, tiny_taesd: Path, tmp_path: Path
) -> None:
    from generators.models import DEFAULT_TINY_VAE

    assert type(_painter(tiny_sd, tiny_vae="auto").pipeline().vae).__name__ == "AutoencoderKL"
    put_in_hub_cache(tiny_taesd, DEFAULT_TINY_VAE, tmp_path / "hf-home")
    assert type(_painter(tiny_sd, tiny_vae="auto").pipeline().vae).__name__ == "AutoencoderTiny"


def test_pipeline_is_loaded_once(tiny_sd: Path) -> None:
    one = _painter(tiny_sd).pipeline()
    two = load_text2image(
        DiffusionOptions(str(tiny_sd), device="cpu", dtype="float32", tiny_vae="none")
    )
    assert one is two


def test_options_and_arguments_are_validated(tiny_sd: Path) -> None:
    painter = DiffusionPainter(
        DiffusionPainterOptions(model=str(tiny_sd), steps=1, tiny_vae=None, compile=False)
    )
    assert painter.options.steps == 1
    with pytest.raises(ValueError, match="steps"):
        DiffusionPainterOptions(model="x", steps=0)
    with pytest.raises(TypeError, match="strength"):
        DiffusionPainterOptions(model="x", strength=0.5)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="`size`"):
        painter.paint(POEM, size=0, seed=1)


def test_missing_weights_fail_without_downloading() -> None:
    with pytest.raises(GenerationError, match="models pull"):
        _painter(Path("kavi-test/not-pulled")).paint(POEM, size=64, seed=1)


def test_prompt_is_the_ink_painters_scene_with_its_art_direction(tiny_sd: Path) -> None:
    from generators.image.scene import scene_from_poem

    winter = Poem(
        lines=("snow on the temple", "a crow on a bare branch waits", "the winter moon rise"),
        engine="grammar",
        season="winter",
    )
    prompt = _painter(tiny_sd).prompt_for(winter)
    assert prompt.startswith(scene_from_poem(winter).prompt)
    assert "winter" in prompt
    assert prompt.endswith("ink wash painting on washi paper, sumi-e, haiga")


def test_a_render_smaller_than_the_post_is_recorded(tiny_sd: Path) -> None:
    # The tiny model renders 64 px natively.
    enlarged = _painter(tiny_sd).paint(POEM, size=128, seed=1)
    assert enlarged.image.size == (128, 128) and enlarged.rendered_size == 64
    native = _painter(tiny_sd, resolution=128).paint(POEM, size=128, seed=1)
    assert native.image.size == (128, 128) and native.rendered_size is None


def test_a_tiny_vae_of_another_family_is_refused(
    tiny_sd: Path, tiny_taesd: Path, tmp_path: Path
) -> None:
    put_in_hub_cache(tiny_taesd, "madebyollin/taesdxl", tmp_path / "hf-home")
    with pytest.raises(
        ConfigError,
        match="decodes sdxl latents but .* is in the sd family.*TINY_VAE=madebyollin/taesd,",
    ):
        _painter(tiny_sd, tiny_vae="madebyollin/taesdxl").pipeline()


def test_a_tiny_vae_with_other_latent_channels_is_refused(
    tiny_sd: Path, tiny_taesd: Path, tmp_path: Path
) -> None:
    import json
    import shutil

    wide = tmp_path / "taesd-16ch"
    shutil.copytree(tiny_taesd, wide)
    config = json.loads((wide / "config.json").read_text())
    config["latent_channels"] = 16
    (wide / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="16 latent channels .* has 4"):
        _painter(tiny_sd, tiny_vae=str(wide)).pipeline()


def test_auto_tiny_vae_follows_the_models_family(tiny_sd: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from generators.image.diffusion import pipeline_family, resolve_tiny_vae

    assert pipeline_family(tiny_sd) == "sd"
    xl = tmp_path / "xl"
    shutil.copytree(tiny_sd, xl)
    index = json.loads((xl / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionXLPipeline"
    (xl / "model_index.json").write_text(json.dumps(index))
    assert pipeline_family(xl) == "sdxl"
    # Not on disk: the full VAE, whichever the family.
    assert resolve_tiny_vae("auto", "cpu", "sdxl") is None
    assert resolve_tiny_vae("auto", "cpu", None) is None
