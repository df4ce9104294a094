"""Device and dtype resolution, and the out-of-memory resolution step."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from core.errors import ConfigError  # noqa: E402
from generators.torch_runtime import (  # noqa: E402
    cpu_supports_bf16,
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
