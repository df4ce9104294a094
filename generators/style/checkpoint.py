"""Training checkpoints: one folder per step of safetensors files and a state.json, made atomically.

A GAN's `step-00000500/` holds generator.safetensors, generator_ema.safetensors (what
sampling and the painter load), discriminator.safetensors, optimizers.safetensors (both Adam
states; their non-tensor parts in the file's metadata) and state.json (the step, the
architecture and training options, the EMA weights' sha256). A LoRA's holds the adapter in
peft's layout (resume), the same weights in diffusers' layout (what the painter loads), the
optimizer and state.json. The folder is written under a temporary name and renamed when
complete, so a kill at any moment leaves only whole checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.style.layout import StyleError, write_json_atomic

if TYPE_CHECKING:
    import torch

_STEP_DIR = re.compile(r"^step-(\d{8})$")
STATE = "state.json"
EMA_FILE = "generator_ema.safetensors"


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint folder and what its state.json says."""

    path: Path
    step: int
    state: dict[str, Any]

    @property
    def ema_weights(self) -> Path:
        return self.path / EMA_FILE

    @property
    def sha256(self) -> str:
        """The sha256 of the weights a painter loads: what an artwork records to be reproducible."""
        return str(self.state.get("weights_sha256") or self.state["ema_sha256"])


def step_folder(checkpoints: Path, step: int) -> Path:
    return checkpoints / f"step-{step:08d}"


def list_checkpoints(checkpoints: Path, weights: str = EMA_FILE) -> list[Checkpoint]:
    """The complete checkpoints under `checkpoints`, oldest first (unfinished ones are ignored).

    `weights` is the file a complete checkpoint must hold (the GAN's EMA generator by default).
    """
    if not checkpoints.is_dir():
        return []
    found = []
    for path in checkpoints.iterdir():
        match = _STEP_DIR.match(path.name)
        if not match or not (path / STATE).is_file() or not (path / weights).is_file():
            continue
        try:
            state = json.loads((path / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append(Checkpoint(path, int(match.group(1)), state))
    return sorted(found, key=lambda c: c.step)


def latest_checkpoint(checkpoints: Path, weights: str = EMA_FILE) -> Checkpoint | None:
    """The newest complete checkpoint, or None when training has not saved one yet."""
    found = list_checkpoints(checkpoints, weights)
    return found[-1] if found else None


def require_checkpoint(
    checkpoints: Path, style: str, weights: str = EMA_FILE, backend: str = "gan"
) -> Checkpoint:
    """The newest checkpoint of `style`, or StyleError saying how to train it."""
    found = latest_checkpoint(checkpoints, weights)
    if found is None:
        flag = "" if backend == "gan" else f" --backend {backend}"
        raise StyleError(
            f"style {style!r} has no trained checkpoint in {checkpoints}; "
            f"run `kavi style train {style}{flag}` first"
        )
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors wants contiguous tensors that share no memory.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def optimizer_tensors(prefix: str, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """An optimizer state_dict split into tensors and JSON metadata, under `prefix`."""
    import torch

    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, slots in state["state"].items():
        for key, value in slots.items():
            name = f"{prefix}.{index}.{key}"
            if isinstance(value, torch.Tensor):
                tensors[name] = value
            else:
                scalars[name] = value
    metadata = {
        f"{prefix}.param_groups": json.dumps(state["param_groups"]),
        f"{prefix}.scalars": json.dumps(scalars),
    }
    return tensors, metadata


def optimizer_state(
    prefix: str, tensors: dict[str, Any], metadata: dict[str, str]
) -> dict[str, Any]:
    """The optimizer state_dict that `optimizer_tensors` split, put back together."""
    slots: dict[int, dict[str, Any]] = {}
    values = {**json.loads(metadata[f"{prefix}.scalars"])}
    values.update({k: v for k, v in tensors.items() if k.startswith(f"{prefix}.")})
    for name, value in values.items():
        _, index, key = name.split(".", 2)
        slots.setdefault(int(index), {})[key] = value
    return {"state": slots, "param_groups": json.loads(metadata[f"{prefix}.param_groups"])}


def save_checkpoint(
    checkpoints: Path,
    step: int,
    *,
    generator: dict[str, torch.Tensor],
    generator_ema: dict[str, torch.Tensor],
    discriminator: dict[str, torch.Tensor],
    optimizers: dict[str, dict[str, Any]],
    state: dict[str, Any],
    keep: int,
) -> Checkpoint:
    """Write a complete GAN checkpoint for `step` atomically, then keep the newest `keep`."""
    return write_checkpoint(
        checkpoints,
        step,
        files={
            "generator.safetensors": (generator, None),
            EMA_FILE: (generator_ema, None),
            "discriminator.safetensors": (discriminator, None),
        },
        optimizers=optimizers,
        state=state,
        weights=EMA_FILE,
        digest_key="ema_sha256",
        keep=keep,
    )


def write_checkpoint(
    checkpoints: Path,
    step: int,
    *,
    files: dict[str, tuple[dict[str, torch.Tensor], dict[str, str] | None]],
    optimizers: dict[str, dict[str, Any]],
    state: dict[str, Any],
    weights: str,
    digest_key: str = "weights_sha256",
    keep: int,
) -> Checkpoint:
    """Write `files` (safetensors: tensors, metadata), the optimizers and state.json as the
    checkpoint of `step`, atomically; record the sha256 of `weights`; keep the newest `keep`."""
    from safetensors.torch import save_file

    target = step_folder(checkpoints, step)
    building = checkpoints / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        for name, (tensors_of, file_metadata) in files.items():
            save_file(_tensors(tensors_of), str(building / name), metadata=file_metadata)
        tensors: dict[str, Any] = {}
        metadata: dict[str, str] = {}
        for prefix, optimizer in optimizers.items():
            part, meta = optimizer_tensors(prefix, optimizer)
            tensors.update(part)
            metadata.update(meta)
        save_file(_tensors(tensors), str(building / "optimizers.safetensors"), metadata=metadata)
        full_state = {**state, "step": step, digest_key: file_sha256(building / weights)}
        write_json_atomic(building / STATE, full_state)
        for file in building.iterdir():
            with file.open("rb") as handle:
                os.fsync(handle.fileno())
        if target.exists():
            shutil.rmtree(target)
        os.replace(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    for old in list_checkpoints(checkpoints, weights)[:-keep]:
        shutil.rmtree(old.path, ignore_errors=True)
    return Checkpoint(target, step, full_state)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def load_optimizers(folder: Path) -> dict[str, dict[str, Any]]:
    """Both optimizers' state_dicts from a checkpoint folder, by prefix."""
    from safetensors import safe_open

    with safe_open(str(folder / "optimizers.safetensors"), framework="pt") as handle:
        metadata = handle.metadata() or {}
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    prefixes = {k.removesuffix(".param_groups") for k in metadata if k.endswith(".param_groups")}
    return {p: optimizer_state(p, tensors, metadata) for p in prefixes}


def remove_unfinished(checkpoints: Path) -> None:
    """Delete temporary folders a killed run left behind (never a complete checkpoint)."""
    if checkpoints.is_dir():
        for path in checkpoints.iterdir():
            if path.name.startswith(".step-") and ".tmp-" in path.name:
                shutil.rmtree(path, ignore_errors=True)
