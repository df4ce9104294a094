"""The diffusion painter and stylist on a tiny random FLUX pipeline (a transformer denoiser)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from generators.image.diffusion import (  # noqa: E402
    DiffusionPainter,
    DiffusionPainterOptions,
    latent_multiple,
    native_resolution,
    pipeline_family,
)
from generators.mood.diffusion import DiffusionStylist, DiffusionStylistOptions  # noqa: E402
from generators.mood.moods import get_mood  # noqa: E402
from tests.generators.neural.test_diffusion import POEM  # noqa: E402

pytestmark = pytest.mark.neural


def _painter(folder: Path, **kwargs: object) -> DiffusionPainter:
    options = DiffusionPainterOptions(
        str(folder),
        device="cpu",
        dtype="float32",
        tiny_vae=None,
        steps=1,
        **kwargs,  # type: ignore[arg-type]
    )
    return DiffusionPainter(options)


def test_a_transformer_pipeline_paints_at_its_native_size(tiny_flux: Path) -> None:
    painter = _painter(tiny_flux)
    pipe = painter.pipeline()
    assert type(pipe).__name__ == "FluxPipeline" and pipeline_family(tiny_flux) == "flux"
    assert (native_resolution(pipe), latent_multiple(pipe)) == (256, 4)
    native = painter.paint(POEM, size=256, seed=3)
    assert native.image.size == (256, 256) and native.rendered_size is None
    again = painter.paint(POEM, size=256, seed=3)
    assert again.image.tobytes() == native.image.tobytes()
    enlarged = painter.paint(POEM, size=512, seed=3)
    assert enlarged.image.size == (512, 512) and enlarged.rendered_size == 256


def test_the_stylist_repaints_with_the_transformer_pipeline(tiny_flux: Path) -> None:
    stylist = DiffusionStylist(
        DiffusionStylistOptions(
            str(tiny_flux), device="cpu", dtype="float32", tiny_vae=None, strength=0.5
        )
    )
    assert type(stylist.pipeline()).__name__ == "FluxImg2ImgPipeline"
    source = Image.linear_gradient("L").resize((96, 64)).convert("RGB")
    result = stylist.stylize(source, get_mood("sadness"), seed=2)
    assert result.image.size == (96, 64) and result.engine == "diffusion"


def test_image_model_auto_picks_flux_on_a_large_gpu_and_paints_with_it(
    tiny_flux: Path, tiny_sd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.chain import Chain, resolve_engine
    from bot.settings import load_settings
    from generators.models import DEFAULT_IMAGE_MODEL, GPU_IMAGE_MODEL
    from tests.generators.neural.conftest import put_in_hub_cache

    put_in_hub_cache(tiny_sd, DEFAULT_IMAGE_MODEL, tmp_path / "hf-home")
    settings = load_settings(
        data_dir=tmp_path / "data",
        image_model="auto",
        image_size=256,
        image_steps=1,
        torch_dtype="float32",
        poem_engine="grammar",
    )
    monkeypatch.setattr("generators.torch_runtime.gpu_memory_gib", lambda device: 24.0)
    assert resolve_engine("image", settings).model == DEFAULT_IMAGE_MODEL
    monkeypatch.setattr("generators.torch_runtime.gpu_memory_gib", lambda device: 80.0)
    small = resolve_engine("image", settings)
    assert small.model == DEFAULT_IMAGE_MODEL and f"{GPU_IMAGE_MODEL} is not pulled" in small.reason
    put_in_hub_cache(tiny_flux, GPU_IMAGE_MODEL, tmp_path / "hf-home")
    chain = Chain(settings)
    assert chain.choices["image"].model == chain.choices["mood"].model == GPU_IMAGE_MODEL
    artwork = chain.run(seed=4).artwork
    assert (artwork.image_model, artwork.style_model) == (GPU_IMAGE_MODEL, GPU_IMAGE_MODEL)
    assert "image_render" not in artwork.engine_notes  # 256 px: the tiny FLUX's native side
