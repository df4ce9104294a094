"""The whole chain with neural engines on tiny random models, through the CLI, into the archive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")

from bot.cli import main  # noqa: E402
from generators.image.diffusion import clear_pipeline_cache  # noqa: E402
from generators.poem.llm import LLMPoemWriter, LLMPoemWriterOptions, clear_model_cache  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.repository import get_artwork  # noqa: E402
from tests.generators.neural.conftest import put_in_hub_cache  # noqa: E402
from tests.generators.neural.test_llm import VALID, _script  # noqa: E402

pytestmark = pytest.mark.neural


@pytest.fixture(autouse=True)
def _fresh_model_caches() -> None:
    clear_model_cache()
    clear_pipeline_cache()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMAGE_SIZE", "256")
    monkeypatch.setenv("TORCH_DEVICE", "cpu")
    monkeypatch.setenv("TORCH_DTYPE", "float32")
    monkeypatch.setenv("IMAGE_STEPS", "1")
    return tmp_path / "data"


def stored_artwork(data_dir: Path, artwork_id: int = 1):  # type: ignore[no-untyped-def]
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        return get_artwork(db, artwork_id)
    finally:
        db.close()


def test_named_neural_engines_make_a_stored_artwork_and_preview(
    data_dir: Path,
    tiny_chat_lm: Path,
    tiny_sd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POEM_ENGINE", "llm")
    monkeypatch.setenv("IMAGE_ENGINE", "diffusion")
    monkeypatch.setenv("STYLE_ENGINE", "diffusion")
    monkeypatch.setenv("POEM_MODEL", str(tiny_chat_lm))
    monkeypatch.setenv("IMAGE_MODEL", str(tiny_sd))
    # A random tiny LM never writes 5-7-5: script its `generate` on the very model the CLI loads.
    _script(
        LLMPoemWriter(LLMPoemWriterOptions(str(tiny_chat_lm), device="cpu", dtype="float32")),
        ["\n".join(VALID)],
        monkeypatch,
    )

    assert main(["--post-now", "--dry-run", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "engines: poem llm \u00b7 image diffusion \u00b7 style diffusion" in out

    artwork = stored_artwork(data_dir)
    assert artwork.poem.splitlines() == list(VALID)
    assert (artwork.poem_model, artwork.image_model) == (str(tiny_chat_lm), str(tiny_sd))
    assert artwork.width == artwork.height == 256
    assert artwork.image_path is not None and (data_dir / artwork.image_path).is_file()
    assert next((data_dir / "previews").rglob("index.html")).is_file()
    assert (artwork.device, artwork.precision, artwork.poem_fallback) == ("cpu", "float32", False)
    # The tiny model renders 64 px natively: the enlargement is on the record.
    assert artwork.engine_notes["image_render"] == "rendered at 64 px, resized to 256 px (Lanczos)"


def test_a_poem_from_the_fallback_is_recorded_and_counted(
    data_dir: Path,
    tiny_chat_lm: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POEM_ENGINE", "llm")
    monkeypatch.setenv("POEM_MODEL", str(tiny_chat_lm))
    monkeypatch.setenv("POEM_FALLBACK", "true")
    _script(
        LLMPoemWriter(LLMPoemWriterOptions(str(tiny_chat_lm), device="cpu", dtype="float32")),
        ["not a haiku"] * 6,
        monkeypatch,
    )
    assert main(["--post-now", "--dry-run", "--seed", "5"]) == 0
    artwork = stored_artwork(data_dir)
    assert (artwork.poem_engine, artwork.poem_fallback) == ("grammar", True)
    assert "no valid 5-7-5 haiku in 6 attempts" in artwork.engine_notes["poem_fallback"]
    assert (artwork.device, artwork.precision) == ("cpu", "float32")
    capsys.readouterr()
    assert main(["status"]) == 0
    assert "1 of 1 in the last 7 days came from the grammar fallback" in capsys.readouterr().out
    assert main(["show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "poem fallback:" in shown and "runtime:" in shown and "cpu float32" in shown


def test_auto_picks_neural_engines_when_weights_are_cached(
    data_dir: Path, tiny_chat_lm: Path, tiny_sd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hf_home = Path(os.environ["HF_HOME"])
    put_in_hub_cache(tiny_chat_lm, "HuggingFaceTB/SmolLM2-360M-Instruct", hf_home)
    put_in_hub_cache(tiny_sd, "stabilityai/sd-turbo", hf_home)

    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "poem   llm (HuggingFaceTB/SmolLM2-360M-Instruct): auto:" in listing
    assert "image  diffusion (stabilityai/sd-turbo): auto:" in listing

    assert main(["--post-now", "--dry-run", "--seed", "9"]) == 0
    artwork = stored_artwork(data_dir)
    assert (artwork.image_engine, artwork.style_engine) == ("diffusion", "diffusion")
    assert artwork.image_model == "stabilityai/sd-turbo"
    assert artwork.engine_notes["poem"].startswith("llm: auto:")
    # The random LM cannot write a valid haiku, so the configured fallback wrote it and says so.
    assert artwork.poem_engine == "grammar"


def test_without_weights_auto_falls_back_and_says_why(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert (
        "poem   grammar: auto: offline engine, because HuggingFaceTB/SmolLM2-360M-Instruct"
        in listing
    )
    assert "python -m bot models pull" in listing


def test_models_pull_fetches_the_tiny_vae_of_the_image_models_family(
    data_dir: Path,
    tiny_chat_lm: Path,
    tiny_sd: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json
    import shutil

    pulled: list[list[str]] = []

    def fake_pull(models: list[str]) -> list[Path]:
        pulled.append(list(models))
        return [Path(m) if Path(m).is_dir() else tmp_path / "hub" / m for m in models]

    monkeypatch.setattr("generators.models.pull_models", fake_pull)
    monkeypatch.setenv("POEM_MODEL", str(tiny_chat_lm))
    monkeypatch.setenv("IMAGE_MODEL", str(tiny_sd))
    assert main(["models", "pull"]) == 0
    assert pulled == [[str(tiny_chat_lm), str(tiny_sd)], ["madebyollin/taesd"]]

    xl = tmp_path / "xl"
    shutil.copytree(tiny_sd, xl)
    index = json.loads((xl / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionXLPipeline"
    (xl / "model_index.json").write_text(json.dumps(index))
    monkeypatch.setenv("IMAGE_MODEL", str(xl))
    pulled.clear()
    assert main(["models", "pull"]) == 0
    assert pulled[-1] == ["madebyollin/taesdxl"]

    # POEM_MODEL=auto: what auto would pick on this host (here a fake 24 GiB GPU).
    monkeypatch.setattr("generators.torch_runtime.gpu_memory_gib", lambda device: 24.0)
    monkeypatch.setenv("POEM_MODEL", "auto")
    pulled.clear()
    assert main(["models", "pull"]) == 0
    assert pulled[0][0] == "HuggingFaceTB/SmolLM2-1.7B-Instruct"
    monkeypatch.setenv("IMAGE_MODEL", "auto")
    pulled.clear()
    assert main(["models", "pull"]) == 0
    assert pulled[0][1] == "stabilityai/sd-turbo"  # 24 GiB cannot keep FLUX resident
    monkeypatch.setattr("generators.torch_runtime.gpu_memory_gib", lambda device: 80.0)
    pulled.clear()
    assert main(["models", "pull"]) == 0
    assert pulled[0][1] == "black-forest-labs/FLUX.1-schnell"
