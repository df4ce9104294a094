"""Finding weights on disk (local folder or HF cache, no network), auto resolution and pulling."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

# Importing a stage package registers its engines (the registry imports no stage).
import generators.image  # noqa: E402, F401
import generators.poem  # noqa: E402, F401
from core.errors import ConfigError  # noqa: E402
from generators.models import pull_models, weights_on_disk  # noqa: E402
from generators.poem.llm import LLMPoemWriter, LLMPoemWriterOptions  # noqa: E402
from generators.registry import get_engine_spec  # noqa: E402
from tests.generators.neural.conftest import put_in_hub_cache  # noqa: E402

pytestmark = pytest.mark.neural


def test_local_folders(tiny_chat_lm: Path, tiny_sd: Path, tmp_path: Path) -> None:
    assert weights_on_disk(str(tiny_chat_lm), kind="llm") == (True, f"local folder {tiny_chat_lm}")
    assert weights_on_disk(str(tiny_sd), kind="diffusion")[0]
    assert weights_on_disk(str(tmp_path / "nothing"), kind="llm") == (
        False,
        f"no folder at {tmp_path / 'nothing'}",
    )
    broken = tmp_path / "broken-sd"
    shutil.copytree(tiny_sd, broken)
    for weights in (broken / "unet").glob("*.safetensors"):
        weights.unlink()
    available, reason = weights_on_disk(str(broken), kind="diffusion")
    assert not available and "unet/ weights" in reason


def test_hub_cache_lookup_without_network(
    tiny_chat_lm: Path, tiny_sd: Path, tmp_path: Path
) -> None:
    hf_home = tmp_path / "hf-home"
    available, reason = weights_on_disk("kavi-test/tiny-lm", kind="llm")
    assert not available and "python -m bot models pull" in reason
    put_in_hub_cache(tiny_chat_lm, "kavi-test/tiny-lm", hf_home)
    put_in_hub_cache(tiny_sd, "kavi-test/tiny-sd", hf_home)
    assert weights_on_disk("kavi-test/tiny-lm", kind="llm") == (
        True,
        "kavi-test/tiny-lm found in the Hugging Face cache",
    )
    assert weights_on_disk("kavi-test/tiny-sd", kind="diffusion")[0]
    # An LLM is not a diffusers pipeline.
    assert not weights_on_disk("kavi-test/tiny-lm", kind="diffusion")[0]


def test_auto_resolution_follows_weights(tiny_chat_lm: Path, tmp_path: Path) -> None:
    spec = get_engine_spec("poem", "llm")
    assert spec.weights_available is not None
    assert spec.weights_available("kavi-test/tiny-lm")[0] is False
    put_in_hub_cache(tiny_chat_lm, "kavi-test/tiny-lm", tmp_path / "hf-home")
    assert spec.weights_available("kavi-test/tiny-lm")[0] is True
    image_spec = get_engine_spec("image", "diffusion")
    assert image_spec.weights_available is not None
    assert image_spec.weights_available("kavi-test/tiny-sd")[0] is False


def test_writer_loads_a_cached_hub_model_offline(tiny_chat_lm: Path, tmp_path: Path) -> None:
    put_in_hub_cache(tiny_chat_lm, "kavi-test/tiny-lm", tmp_path / "hf-home")
    options = LLMPoemWriterOptions("kavi-test/tiny-lm", device="cpu", dtype="float32")
    loaded = LLMPoemWriter(options).load()
    assert loaded.model.config.num_hidden_layers == 2


def test_pull_refuses_in_offline_mode() -> None:
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE"):
        pull_models(["stabilityai/sd-turbo"])


def test_pull_of_a_local_folder_is_a_no_op(tiny_sd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert pull_models([str(tiny_sd)]) == [tiny_sd]


def test_models_module_does_not_import_torch() -> None:
    code = (
        "import sys, generators.models as m; "
        "m.weights_on_disk('kavi-test/x', kind='diffusion'); "
        "heavy = ('torch', 'transformers', 'diffusers'); "
        "print(json.dumps(sorted(k for k in heavy if k in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert json.loads(out.stdout) == []


def test_a_cache_of_fp16_variants_only_is_not_on_disk(tiny_sd: Path, tmp_path: Path) -> None:
    snapshot = put_in_hub_cache(tiny_sd, "kavi-test/fp16-sd", tmp_path / "hf-home")
    for weights in (snapshot / "unet").glob("*.safetensors"):
        weights.rename(weights.with_name(f"{weights.stem}.fp16.safetensors"))
    available, reason = weights_on_disk("kavi-test/fp16-sd", kind="diffusion")
    assert not available
    assert "unet/ weights (full precision)" in reason and "models pull" in reason
    # So `auto` paints with the offline engine instead of failing to load.
    spec = get_engine_spec("image", "diffusion")
    assert spec.weights_available is not None
    assert not spec.weights_available("kavi-test/fp16-sd")[0]


def test_auto_models_are_sized_to_the_gpu() -> None:
    from generators.models import (
        DEFAULT_IMAGE_MODEL,
        DEFAULT_POEM_MODEL,
        GPU_IMAGE_MODEL,
        GPU_POEM_MODEL,
        auto_models,
    )

    assert [m for m, _ in auto_models("llm", None)] == [DEFAULT_POEM_MODEL]
    assert [m for m, _ in auto_models("llm", 4.0)] == [DEFAULT_POEM_MODEL]
    assert "under 6" in auto_models("llm", 4.0)[0][1]
    assert [m for m, _ in auto_models("llm", 80.0)] == [GPU_POEM_MODEL, DEFAULT_POEM_MODEL]
    # FLUX.1-schnell stays resident only on a large GPU; a 24 GiB card keeps SD-Turbo.
    assert [m for m, _ in auto_models("diffusion", 24.0)] == [DEFAULT_IMAGE_MODEL]
    assert [m for m, _ in auto_models("diffusion", 80.0)] == [GPU_IMAGE_MODEL, DEFAULT_IMAGE_MODEL]


def test_gpu_memory_is_read_from_the_device_auto_resolves_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    from generators.torch_runtime import gpu_memory_gib

    class Properties:
        total_memory = 24 * 2**30

    asked: list[int] = []

    def properties(index: int) -> Properties:
        asked.append(index)
        return Properties()

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_memory_gib("auto") is None and gpu_memory_gib("cuda") is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", properties)
    assert gpu_memory_gib("auto") == 24.0 and gpu_memory_gib("cuda:1") == 24.0
    assert asked == [0, 1]
    assert gpu_memory_gib("cpu") is None


def test_poem_model_auto_picks_by_host_and_what_is_pulled(
    tiny_chat_lm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.chain import Chain, resolve_engine
    from bot.settings import load_settings
    from generators.models import DEFAULT_POEM_MODEL, GPU_POEM_MODEL

    monkeypatch.setattr("generators.torch_runtime.gpu_memory_gib", lambda device: 24.0)
    settings = load_settings(data_dir=tmp_path / "data", poem_model="auto")
    nothing = resolve_engine("poem", settings)
    assert nothing.name == "grammar" and f"{GPU_POEM_MODEL} is not in" in nothing.reason
    put_in_hub_cache(tiny_chat_lm, DEFAULT_POEM_MODEL, tmp_path / "hf-home")
    small = resolve_engine("poem", settings)
    assert (small.name, small.model) == ("llm", DEFAULT_POEM_MODEL)
    assert f"{GPU_POEM_MODEL} is not pulled" in small.reason
    put_in_hub_cache(tiny_chat_lm, GPU_POEM_MODEL, tmp_path / "hf-home")
    large = resolve_engine("poem", settings)
    assert large.model == GPU_POEM_MODEL
    assert large.reason.endswith("(llm model picked for a GPU of 24 GiB)")
    assert Chain(settings).options["poem"].model == GPU_POEM_MODEL
    monkeypatch.setattr("generators.torch_runtime.gpu_memory_gib", lambda device: None)
    assert resolve_engine("poem", settings).model == DEFAULT_POEM_MODEL
