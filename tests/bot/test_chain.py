from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.chain import Chain, resolve_engine
from bot.settings import load_settings
from core.errors import ConfigError


def test_auto_resolves_to_offline_engines_without_weights(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, poem_model=str(tmp_path / "no-such-model"))
    poem = resolve_engine("poem", settings)
    assert (poem.name, poem.neural) == ("grammar", False)
    assert poem.reason.startswith("auto: offline engine, because")
    assert resolve_engine("image", settings).name == "ink"
    assert resolve_engine("mood", settings).name == "ink"


def test_auto_stylist_pairs_with_the_painter(tmp_path: Path) -> None:
    oils = load_settings(data_dir=tmp_path, image_engine="procedural")
    assert resolve_engine("mood", oils).name == "classic"
    ink = load_settings(data_dir=tmp_path, image_engine="ink")
    assert resolve_engine("mood", ink).name == "ink"
    # A stylist named in settings is used with any painter.
    mixed = load_settings(data_dir=tmp_path, image_engine="procedural", style_engine="ink")
    assert resolve_engine("mood", mixed).name == "ink"


def test_auto_names_the_model_once_whether_found_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.chain.missing_neural_packages", lambda: [])
    absent = load_settings(data_dir=tmp_path, poem_model="kavi-test/absent-lm")
    reason = resolve_engine("poem", absent).reason
    assert reason.startswith("auto: offline engine, because kavi-test/absent-lm is not in")
    assert reason.count("kavi-test/absent-lm") == 1
    folder = tmp_path / "tiny-lm"
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (folder / name).write_text("{}")
    present = resolve_engine("poem", load_settings(data_dir=tmp_path, poem_model=str(folder)))
    assert (present.name, present.reason) == ("llm", f"auto: local folder {folder}")


def test_named_engines_are_used_as_given(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, poem_engine="grammar", image_engine="procedural")
    assert resolve_engine("poem", settings).reason == "chosen in settings"


def test_neural_engine_without_the_extra_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.chain.missing_neural_packages", lambda: ["torch"])
    settings = load_settings(data_dir=tmp_path, image_engine="diffusion")
    with pytest.raises(
        ConfigError, match=r"IMAGE_ENGINE=diffusion needs the neural extra \(torch missing\)"
    ):
        resolve_engine("image", settings)


def test_choice_is_logged_and_recorded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(data_dir=tmp_path, image_size=256)
    with caplog.at_level(logging.INFO):
        chain = Chain(settings)
    assert "stage image uses engine ink" in caplog.text
    result = chain.run(seed=5)
    artwork = result.artwork
    assert artwork.engine_notes["image"].startswith("ink: auto: offline engine")
    assert (artwork.poem_engine, artwork.image_engine, artwork.style_engine) == (
        "grammar",
        "ink",
        "ink",
    )
    # The ink painter's record travels with the artwork, and names what it drew.
    assert artwork.scene["framing"] in ("landscape", "close-up", "scroll")
    assert [d["subject"] for d in artwork.scene["drawn"]]
    assert artwork.mood in settings.enabled_moods
    assert len(artwork.poem_lines) == 3 and artwork.poem in artwork.caption
    assert result.image.size == (256, 256)
    assert set(artwork.timings) == {"poem_s", "image_s", "mood_s"}


def test_mood_is_drawn_from_the_allowed_subset(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, image_size=256, moods=["fear", "love"])
    chain = Chain(settings)
    moods = {chain.run(seed=s).artwork.mood for s in range(12)}
    assert moods <= {"fear", "love"} and len(moods) == 2


def test_the_mood_is_drawn_from_the_poem_and_recorded(tmp_path: Path) -> None:
    chain = Chain(load_settings(data_dir=tmp_path, image_size=256))
    artwork = chain.run(seed=3).artwork
    curation = artwork.curation
    assert curation["mood_from"] == "poem"
    weights = curation["mood_weights"]
    assert set(weights) == set(chain.settings.enabled_moods) and artwork.mood in weights
    assert chain.run(seed=3, mood="fear").artwork.curation == {"mood_from": "chosen"}
    even = Chain(load_settings(data_dir=tmp_path, image_size=256, mood_from_poem=False))
    assert even.run(seed=3).artwork.curation == {"mood_from": "even draw"}


def test_negative_seed_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer"):
        Chain(load_settings(data_dir=tmp_path)).run(seed=-1)


def test_offline_artworks_record_no_device(tmp_path: Path) -> None:
    artwork = Chain(load_settings(data_dir=tmp_path, image_size=256)).run(seed=2).artwork
    assert (artwork.device, artwork.precision, artwork.poem_fallback) == (None, None, False)
    assert "image_render" not in artwork.engine_notes


def test_a_missing_gpu_is_an_error_only_when_one_was_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("bot.chain._REPORTED", set())
    with caplog.at_level(logging.INFO):
        Chain(load_settings(data_dir=tmp_path))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        Chain(load_settings(data_dir=tmp_path, expect_gpu=True))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("no GPU: EXPECT_GPU asks for a GPU")
    # Said once per process, though `serve` checks before the warm-up builds the chain.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        Chain(load_settings(data_dir=tmp_path, expect_gpu=True))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_compile_without_a_compiler_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.chain.missing_neural_packages", lambda: [])
    monkeypatch.setattr(
        "generators.torch_runtime.compile_problem", lambda: "TORCH_COMPILE=true needs gcc"
    )
    settings = load_settings(data_dir=tmp_path, image_engine="diffusion", torch_compile=True)
    with pytest.raises(ConfigError, match="TORCH_COMPILE=true needs gcc"):
        Chain(settings)
    # Without a neural painter there is nothing to compile.
    Chain(load_settings(data_dir=tmp_path, torch_compile=True))


def test_serve_refuses_compile_without_a_compiler_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setattr("bot.chain.missing_neural_packages", lambda: [])
    monkeypatch.setattr(
        "generators.torch_runtime.compile_problem", lambda: "TORCH_COMPILE=true needs gcc"
    )
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMAGE_ENGINE", "diffusion")
    monkeypatch.setenv("TORCH_COMPILE", "true")
    assert main(["serve"]) == 2
    assert "TORCH_COMPILE=true needs gcc" in capsys.readouterr().err
    assert not (tmp_path / "data" / "heartbeat.json").exists()


def test_status_says_when_an_expected_gpu_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert main(["status"]) == 0
    assert "GPU:" not in capsys.readouterr().out
    monkeypatch.setenv("EXPECT_GPU", "true")
    assert main(["status"]) == 0
    assert "GPU:       MISSING \u2014 EXPECT_GPU asks for a GPU" in capsys.readouterr().out
