"""Typed engine options: filled from settings once at start, errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.chain import Chain, engine_options
from bot.settings import load_settings
from core.errors import ConfigError
from generators.image.base import InkOptions
from generators.image.diffusion import DiffusionPainterOptions
from generators.models import DEFAULT_IMAGE_MODEL, DEFAULT_POEM_MODEL
from generators.mood.diffusion import DiffusionStylistOptions
from generators.poem.llm import LLMPoemWriter, LLMPoemWriterOptions
from generators.registry import NoOptions, get_engine_spec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def neural_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a named neural engine be chosen whether or not torch is installed (nothing loads)."""
    monkeypatch.setattr("bot.chain.missing_neural_packages", lambda: [])


def test_options_are_filled_from_settings(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        image_model="some/sd",
        image_steps=4,
        tiny_vae="none",
        torch_device="cpu",
        torch_dtype="float32",
        torch_compile=True,
        style_strength=0.5,
    )
    painter = engine_options(get_engine_spec("image", "diffusion"), settings)
    assert painter == DiffusionPainterOptions(
        model="some/sd", device="cpu", dtype="float32", steps=4, tiny_vae="none", compile=True
    )
    stylist = engine_options(get_engine_spec("mood", "diffusion"), settings)
    assert stylist == DiffusionStylistOptions(
        model="some/sd",
        device="cpu",
        dtype="float32",
        steps=4,
        tiny_vae="none",
        compile=True,
        strength=0.5,
    )
    assert engine_options(get_engine_spec("image", "procedural"), settings) == NoOptions()


@pytest.mark.parametrize(
    ("stage", "engine", "update", "message"),
    [
        ("image", "diffusion", {"image_model": "  "}, "IMAGE_MODEL: must name a Hugging Face"),
        ("mood", "diffusion", {"image_steps": 0}, "IMAGE_STEPS: must be between 1 and 100, got 0"),
        ("mood", "diffusion", {"style_strength": 1.5}, "STYLE_STRENGTH: must be between 0 and 1"),
        ("poem", "llm", {"poem_model": ""}, "POEM_MODEL: must name a Hugging Face"),
    ],
)
def test_option_errors_name_the_variable(
    tmp_path: Path, stage: str, engine: str, update: dict[str, object], message: str
) -> None:
    # model_copy skips the settings' own checks, so the option's check is what answers.
    settings = load_settings(data_dir=tmp_path).model_copy(update=update)
    with pytest.raises(ConfigError, match=f"^invalid configuration: {message}"):
        engine_options(get_engine_spec(stage, engine), settings)  # type: ignore[arg-type]


def test_a_bad_option_stops_the_chain_at_start(tmp_path: Path, neural_extra: None) -> None:
    settings = load_settings(data_dir=tmp_path, image_engine="diffusion", image_model="   ")
    with pytest.raises(ConfigError, match="IMAGE_MODEL: must name a Hugging Face model id"):
        Chain(settings)


def test_the_chain_builds_engines_from_typed_options(tmp_path: Path, neural_extra: None) -> None:
    settings = load_settings(
        data_dir=tmp_path, poem_engine="llm", poem_model="kavi-test/lm", torch_device="cpu"
    )
    chain = Chain(settings)
    expected = LLMPoemWriterOptions(model="kavi-test/lm", device="cpu", fallback=True)
    assert chain.options["poem"] == expected
    writer = chain.engine("poem")  # built, not loaded: weights load on the first poem
    assert isinstance(writer, LLMPoemWriter) and writer.options is chain.options["poem"]
    assert chain.engine("poem") is writer
    assert chain.options["image"] == InkOptions(lettering=True)


def test_lettering_is_a_setting_of_the_ink_hand(tmp_path: Path) -> None:
    plain = Chain(load_settings(data_dir=tmp_path, lettering=False, image_size=256))
    assert plain.options["image"] == InkOptions(lettering=False)
    assert plain.run(seed=12).artwork.scene["lettering"] is None
    lettered = Chain(load_settings(data_dir=tmp_path, image_size=256)).run(seed=12).artwork
    x0, y0, x1, y1 = lettered.scene["lettering"]
    assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256
    assert "the poem lettered beside it" in lettered.alt_text


def test_an_engine_refuses_another_engines_options() -> None:
    spec = get_engine_spec("image", "diffusion")
    with pytest.raises(
        TypeError, match="takes DiffusionPainterOptions, got DiffusionStylistOptions"
    ):
        spec.build(DiffusionStylistOptions())


def test_default_model_ids_are_defined_once_and_documented(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert (settings.poem_model, settings.image_model) == (DEFAULT_POEM_MODEL, DEFAULT_IMAGE_MODEL)
    assert LLMPoemWriterOptions().model == DEFAULT_POEM_MODEL
    assert DiffusionPainterOptions().model == DiffusionStylistOptions().model == DEFAULT_IMAGE_MODEL
    example = (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
    assert f"POEM_MODEL={DEFAULT_POEM_MODEL}" in example
    assert f"IMAGE_MODEL={DEFAULT_IMAGE_MODEL}" in example
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`{DEFAULT_POEM_MODEL}`" in readme and f"`{DEFAULT_IMAGE_MODEL}`" in readme
