"""Session-wide tiny random models (LMs with/without chat template, SD pipeline, TAESD)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("diffusers")

from tests.generators.neural.tiny_models import (  # noqa: E402
    build_tiny_flux,
    build_tiny_lm,
    build_tiny_sd,
    build_tiny_taesd,
)


@pytest.fixture(scope="session")
def tiny_chat_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny causal LM whose tokenizer has a chat template."""
    return build_tiny_lm(tmp_path_factory.mktemp("models") / "lm-chat", chat_template=True)


@pytest.fixture(scope="session")
def tiny_plain_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny causal LM whose tokenizer has no chat template (plain-text prompting)."""
    return build_tiny_lm(tmp_path_factory.mktemp("models") / "lm-plain", chat_template=False)


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Stable Diffusion pipeline folder (64 px native)."""
    return build_tiny_sd(tmp_path_factory.mktemp("models") / "sd")


@pytest.fixture(scope="session")
def tiny_flux(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny FLUX pipeline folder (a transformer denoiser, 256 px native)."""
    return build_tiny_flux(tmp_path_factory.mktemp("models") / "flux")


@pytest.fixture(scope="session")
def tiny_taesd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny AutoencoderTiny folder matching the tiny pipeline's latent scale."""
    return build_tiny_taesd(tmp_path_factory.mktemp("models") / "taesd")


def put_in_hub_cache(folder: Path, repo_id: str, hf_home: Path) -> Path:
    """Lay `folder` out as a Hugging Face cache snapshot of `repo_id` under `hf_home`."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    shutil.copytree(folder, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot
