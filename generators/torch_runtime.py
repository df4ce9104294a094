"""Where and in what precision the neural engines run: device, dtype, seeding, out-of-memory."""

from __future__ import annotations

import functools
import gc
import logging
import os
import platform
import shutil
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from core.errors import ConfigError
from generators.errors import GenerationError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

T = TypeVar("T")

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")
# CPU feature flags that mean bfloat16 matrix maths runs natively (x86 AVX512-BF16 / AMX, Arm BF16).
_CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def resolve_device(name: str) -> str:
    """Turn TORCH_DEVICE (`auto`, `cuda`, `cuda:N`, `mps`, `cpu`) into a usable device string."""
    import torch

    choice = (name or "auto").strip().lower()
    base = choice.split(":", 1)[0]
    if base not in DEVICE_CHOICES:
        raise ConfigError(f"`device` must be one of {', '.join(DEVICE_CHOICES)}, got {name!r}")
    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if _mps_available():
            return "mps"
        return "cpu"
    if base == "cuda" and not torch.cuda.is_available():
        raise ConfigError("TORCH_DEVICE is cuda but torch sees no CUDA GPU; use auto or cpu")
    if base == "mps" and not _mps_available():
        raise ConfigError(
            "TORCH_DEVICE is mps but this torch build or machine has no MPS; use auto or cpu"
        )
    return choice


def resolve_dtype(name: str, device: str) -> torch.dtype:
    """Turn TORCH_DTYPE into a torch dtype; `auto` picks half precision where it runs fast."""
    import torch

    choice = (name or "auto").strip().lower()
    if choice not in DTYPE_CHOICES:
        raise ConfigError(f"`dtype` must be one of {', '.join(DTYPE_CHOICES)}, got {name!r}")
    if choice != "auto":
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            choice
        ]
    base = device.split(":", 1)[0]
    if base == "cuda":
        return torch.bfloat16 if cuda_supports_bf16() else torch.float16
    if base == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_supports_bf16() else torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    """The short name of a torch dtype (`bfloat16`), as used in settings and logs."""
    return str(dtype).removeprefix("torch.")


def cuda_supports_bf16() -> bool:
    """True when the GPU runs bfloat16 natively (Ampere and newer), not by emulation (T4, V100)."""
    import torch

    # The default counts emulated bf16 as supported; it runs, but slower than fp16.
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:
        # A torch without the flag: native bf16 is compute capability 8.0 (Ampere) and up.
        return torch.cuda.get_device_capability() >= (8, 0)


def gpu_requested(device: str, *, expect_gpu: bool) -> bool:
    """Whether this process was asked for a GPU: TORCH_DEVICE=cuda, or `auto` in a GPU image."""
    base = (device or "auto").strip().lower().split(":", 1)[0]
    return base == "cuda" or (expect_gpu and base == "auto")


def gpu_problem(device: str, *, expect_gpu: bool) -> str | None:
    """Why a process asked for a GPU has none usable, or None (also when none was asked for)."""
    if not gpu_requested(device, expect_gpu=expect_gpu):
        return None
    asked = "TORCH_DEVICE=cuda" if device.strip().lower().startswith("cuda") else "EXPECT_GPU"
    fix = "; or set TORCH_DEVICE=cpu (and EXPECT_GPU=false) to run on the CPU on purpose"
    try:
        import torch
    except ImportError:
        return (
            f"{asked} asks for a GPU but torch is not installed (pip install 'kavi[neural]'){fix}"
        )
    build = torch.version.cuda
    if build is None:
        return (
            f"{asked} asks for a GPU but torch {torch.__version__} is a CPU-only build; "
            f"install a CUDA build of torch{fix}"
        )
    if not torch.cuda.is_available():
        return (
            f"{asked} asks for a GPU but torch {torch.__version__} (CUDA {build}) sees none: "
            f"check that the NVIDIA driver supports CUDA {build} (`nvidia-smi`; CUDA 12.8 needs "
            "driver 570 or newer) and that the container was given the GPU (compose "
            f"`deploy.resources`, or `docker run --gpus all`){fix}"
        )
    return None


def gpu_memory_gib(device: str) -> float | None:
    """Total memory of the CUDA GPU that `device` resolves to, or None when it is not one."""
    try:
        import torch
    except ImportError:
        return None
    try:
        resolved = resolve_device(device)
    except ConfigError:
        return None
    if not resolved.startswith("cuda"):
        return None
    index = torch.device(resolved).index
    properties = torch.cuda.get_device_properties(index if index is not None else 0)
    return float(properties.total_memory) / 2**30


def compile_problem() -> str | None:
    """Why TORCH_COMPILE cannot work here (Triton/Inductor build kernels at run time), or None."""
    compiler = os.environ.get("CC") or next(
        (name for name in ("cc", "gcc", "clang") if shutil.which(name)), None
    )
    missing = []
    if compiler is None or shutil.which(compiler) is None:
        missing.append("a C compiler (gcc)")
    include = sysconfig.get_paths().get("include") or ""
    if not (Path(include) / "Python.h").is_file():
        missing.append(f"the Python headers (Python.h in {include or 'its include folder'})")
    if not missing:
        return None
    return (
        f"TORCH_COMPILE=true needs {' and '.join(missing)} at run time, which this host lacks; "
        "install them (apt-get install gcc python3-dev; the GPU image has them) or set "
        "TORCH_COMPILE=false"
    )


@functools.cache
def cpu_supports_bf16() -> bool:
    """True when this CPU has native bfloat16 instructions, so bf16 beats float32 on it."""
    flags = _cpu_flags()
    if flags:
        return bool(flags & _CPU_BF16_FLAGS)
    # No /proc/cpuinfo (macOS): Apple silicon has BF16 from M2 on; M1 still runs it correctly.
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in {"flags", "features"}:
            return frozenset(value.split())
    return frozenset()


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cpu_generator(seed: int) -> torch.Generator:
    """A seeded CPU generator: diffusers draws the same noise from it on every device."""
    import torch

    return torch.Generator("cpu").manual_seed(int(seed))


def seed_everything(seed: int) -> None:
    """Seed torch's global generators (CPU and GPUs), which transformers' sampling draws from."""
    import torch

    torch.manual_seed(int(seed) % (2**63))


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device out-of-memory error (CUDA, MPS, or an allocator message saying so)."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_memory(device: str) -> None:
    """Release cached allocator blocks after an out-of-memory error, so a retry has room."""
    import torch

    gc.collect()
    base = device.split(":", 1)[0]
    if base == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    elif base == "mps" and _mps_available():
        torch.mps.empty_cache()


def lower_resolution(resolution: int, *, multiple: int = 64) -> int:
    """Three quarters of `resolution`, rounded down to a multiple that diffusion models accept."""
    if multiple < 1:
        raise ValueError(f"`multiple` must be positive, got {multiple}")
    lowered = (resolution * 3 // 4) // multiple * multiple
    return max(multiple, lowered)


def retry_on_oom(
    run: Callable[[int], T], *, resolution: int, device: str, what: str, multiple: int = 64
) -> T:
    """Call `run(resolution)`; on out-of-memory free memory, retry once lower, then fail clearly."""
    failure: BaseException | None = None
    try:
        return run(resolution)
    except Exception as exc:  # noqa: BLE001 - re-raised below unless it is an OOM
        if not is_out_of_memory(exc):
            raise
        failure = exc
    # Outside the except block, so the traceback's frames (and their tensors) can be collected.
    message = str(failure).splitlines()[0] if str(failure) else type(failure).__name__
    failure = None
    free_memory(device)
    lower = lower_resolution(resolution, multiple=multiple)
    log.warning(
        "%s ran out of memory at %d px on %s (%s); retrying once at %d px",
        what,
        resolution,
        device,
        message,
        lower,
    )
    try:
        return run(lower)
    except Exception as exc:  # noqa: BLE001
        if not is_out_of_memory(exc):
            raise
    free_memory(device)
    raise GenerationError(
        f"{what} ran out of memory on {device} at {resolution} px and again at {lower} px; "
        "lower IMAGE_SIZE, set TORCH_DTYPE=float16/bfloat16, or use TORCH_DEVICE=cpu"
    )
