"""Device and dtype resolution, and the out-of-memory resolution step."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from core.errors import ConfigError  # noqa: E402
from generators.torch_runtime import (  # noqa: E402
    compile_problem,
    cpu_supports_bf16,
    gpu_problem,
    lower_resolution,
    resolve_device,
    resolve_dtype,
)

pytestmark = pytest.mark.neural


def test_devices() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda", "mps"}
    with pytest.raises(ConfigError, match="`device` must be one of"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_dtypes() -> None:
    assert resolve_dtype("float16", "cpu") is torch.float16
    expected = torch.bfloat16 if cpu_supports_bf16() else torch.float32
    assert resolve_dtype("auto", "cpu") is expected
    assert resolve_dtype("auto", "mps") is torch.float16
    with pytest.raises(ConfigError, match="`dtype` must be one of"):
        resolve_dtype("int8", "cpu")


def test_lower_resolution() -> None:
    assert lower_resolution(512) == 384
    assert lower_resolution(1024) == 768
    assert lower_resolution(64, multiple=64) == 64


def test_bf16_only_where_the_gpu_runs_it_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[bool] = []

    def t4(including_emulation: bool = True) -> bool:
        # A T4: bf16 "supported" only by emulation.
        asked.append(including_emulation)
        return including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", t4)
    assert resolve_dtype("auto", "cuda") is torch.float16
    assert asked == [False]

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert resolve_dtype("auto", "cuda:0") is torch.bfloat16


def test_a_gpu_asked_for_and_missing_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    problem = gpu_problem("auto", expect_gpu=True)
    assert problem is not None
    assert "EXPECT_GPU" in problem and "CUDA 12.8" in problem and "driver" in problem
    assert "TORCH_DEVICE=cuda" in (gpu_problem("cuda", expect_gpu=False) or "")
    # Not asked for a GPU, or steered elsewhere on purpose: nothing to say.
    assert gpu_problem("auto", expect_gpu=False) is None
    assert gpu_problem("cpu", expect_gpu=True) is None

    monkeypatch.setattr(torch.version, "cuda", None)
    assert "CPU-only build" in (gpu_problem("auto", expect_gpu=True) or "")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    assert gpu_problem("cuda", expect_gpu=True) is None


def test_compile_needs_a_compiler_and_python_headers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    headers = tmp_path / "include"
    headers.mkdir()
    (headers / "Python.h").write_text("/* */\n")
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(sysconfig, "get_paths", lambda: {"include": str(headers)})
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert compile_problem() is None

    monkeypatch.setattr(shutil, "which", lambda name: None)
    problem = compile_problem() or ""
    assert "C compiler" in problem and "TORCH_COMPILE=false" in problem
    assert "Python headers" not in problem

    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    (headers / "Python.h").unlink()
    assert "Python headers" in (compile_problem() or "")


def test_bf16_by_compute_capability_where_torch_lacks_the_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def old_signature() -> bool:
        return True

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", old_signature)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda: (7, 5))
    assert resolve_dtype("auto", "cuda") is torch.float16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda: (9, 0))
    assert resolve_dtype("auto", "cuda") is torch.bfloat16
