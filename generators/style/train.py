"""Train a style's GAN under Accelerate: one loop for a CPU, a GPU, or many processes.

Resuming is exact: the batch a step sees and every random number it draws (latents, noise,
augmentation, flips) come from a seed derived from (run seed, step, process), so a run
killed with -9 and resumed from its last checkpoint replays precisely what an unbroken run
would have done. Only the main process writes files; checkpoints are atomic.
"""

from __future__ import annotations

import copy
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from generators.style.augment import parse_policy
from generators.style.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    load_optimizers,
    load_weights,
    remove_unfinished,
    save_checkpoint,
)
from generators.style.layout import RunFolder, StyleError, StyleLayout, atomic_path
from generators.style.model import GanArchitecture
from generators.style.plot import plot_losses, read_log

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "no", "fp16", "bf16")
SAMPLE_GRID = 16
# Below this many bytes of decoded pixels the whole collection is kept in memory.
_CACHE_BYTES = 1 << 30


@dataclass(frozen=True)
class TrainOptions:
    """How to train: the architecture, the schedule, and how often to save and sample."""

    architecture: GanArchitecture = field(default_factory=GanArchitecture)
    steps: int = 10_000
    batch_size: int = 8
    lr: float = 2e-4
    ema_decay: float = 0.999
    recon_weight: float = 1.0
    augment: str = "color,translation,cutout"
    checkpoint_every: int = 500
    sample_every: int = 500
    keep_checkpoints: int = 3
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "sample_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be at least 1, got {getattr(self, name)}")
        if not 0 < self.lr < 1:
            raise ValueError(f"`lr` must be between 0 and 1, got {self.lr}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"`ema_decay` must be in [0, 1), got {self.ema_decay}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"`precision` must be one of {', '.join(PRECISIONS)}")
        if self.seed < 0:
            raise ValueError(f"`seed` must be 0 or more, got {self.seed}")
        parse_policy(self.augment)

    def resumable_part(self) -> dict[str, Any]:
        """What must match between a checkpoint and the options that resume it."""
        return {
            "architecture": self.architecture.as_dict(),
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "augment": self.augment,
        }


class TrainReporter(Protocol):
    """Where training tells what it does (the CLI shows a progress bar; tests collect lines)."""

    def start(self, *, first_step: int, total: int) -> None: ...
    def step(self, step: int, losses: dict[str, float]) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


class PrintReporter:
    """Prints each message as a line (flushed) and nothing per step."""

    def start(self, *, first_step: int, total: int) -> None:
        print(f"training steps {first_step + 1}-{total}", flush=True)

    def step(self, step: int, losses: dict[str, float]) -> None:
        pass

    def message(self, text: str) -> None:
        print(text, flush=True)

    def close(self) -> None:
        pass


@dataclass
class TrainResult:
    """Where a training run stopped and what it left."""

    step: int
    resumed_from: int
    checkpoint: Checkpoint | None
    interrupted: bool = False
    samples: list[Path] = field(default_factory=list)
    # False in the other processes of a multi-process run (they write and report nothing).
    main_process: bool = True
    # Where it ran: how many processes, the device type ("cpu", "cuda") and mixed precision.
    processes: int = 1
    device: str | None = None
    precision: str | None = None


def step_seed(seed: int, step: int, rank: int) -> int:
    """The seed of everything random at `step` on process `rank`: a pure function, for resume."""
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1, np.uint64)[0] >> 1)


def batch_indices(
    count: int, batch: int, *, world: int, rank: int, seed: int, step: int
) -> list[int]:
    """Which images process `rank` trains on at `step` (0-based).

    The collection is walked in epochs, each a fresh permutation drawn from (seed, epoch);
    every step takes the next `batch * world` positions, and each process its own slice.
    """
    per_step = batch * world
    start = step * per_step + rank * batch
    indices = []
    for position in range(start, start + batch):
        epoch, offset = divmod(position, count)
        indices.append(int(_permutation(count, seed, epoch)[offset]))
    return indices


_PERMUTATIONS: dict[tuple[int, int, int], np.ndarray] = {}


def _permutation(count: int, seed: int, epoch: int) -> np.ndarray:
    key = (count, seed, epoch)
    if key not in _PERMUTATIONS:
        if len(_PERMUTATIONS) > 8:
            _PERMUTATIONS.clear()
        _PERMUTATIONS[key] = np.random.default_rng([seed, epoch]).permutation(count)
    return _PERMUTATIONS[key]


class ImageBank:
    """The prepared images as tensors in [-1, 1], kept in memory when they fit."""

    def __init__(self, paths: list[Path], resolution: int) -> None:
        self.paths = paths
        self.resolution = resolution
        self._cache: dict[int, np.ndarray] | None = (
            {} if len(paths) * resolution * resolution * 3 <= _CACHE_BYTES else None
        )

    def __len__(self) -> int:
        return len(self.paths)

    def pixels(self, index: int) -> np.ndarray:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        from PIL import Image as PILImage

        with PILImage.open(self.paths[index]) as opened:
            image = opened.convert("RGB")
        if image.size != (self.resolution, self.resolution):
            image = image.resize((self.resolution, self.resolution), PILImage.Resampling.BOX)
        array = np.asarray(image, dtype=np.uint8)
        if self._cache is not None:
            self._cache[index] = array
        return array

    def batch(self, indices: list[int]) -> torch.Tensor:
        import torch

        stacked = np.stack([self.pixels(i) for i in indices]).transpose(0, 3, 1, 2)
        return torch.from_numpy(stacked.astype(np.float32) / 127.5 - 1.0)


def resolve_precision(precision: str, device_type: str) -> str:
    """`auto`: bf16 on a GPU that has it, else fp16 on a GPU; full precision on CPU and MPS."""
    if precision != "auto":
        return precision
    if device_type != "cuda":
        return "no"
    import torch

    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def make_accelerator(options: Any) -> Accelerator:
    import torch
    from accelerate import Accelerator

    cpu = options.device == "cpu" or (options.device == "auto" and not torch.cuda.is_available())
    if options.device == "cuda" and not torch.cuda.is_available():
        raise StyleError("--device cuda was asked for but torch sees no CUDA GPU; use auto or cpu")
    probe = "cpu" if cpu else "cuda"
    return Accelerator(cpu=cpu, mixed_precision=resolve_precision(options.precision, probe))


@contextmanager
def stop_requests() -> Iterator[list[int]]:
    """Ctrl-C (SIGINT) and `docker stop` (SIGTERM) ask training to stop: the list yielded
    collects the signals received; the loop stops at the end of the step in hand, so the
    checkpoint it saves holds that step's weights. Repeated signals (a terminal's Ctrl-C
    reaches `accelerate launch` and each worker) are only noted, never cut a save short."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def note(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {number: signal.signal(number, note) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class StepBook:
    """What a training step does after its update, for both backends: the main process logs
    the losses (JSONL, flushed) and reports them; grids and checkpoints are made when due;
    Ctrl-C or SIGTERM saves the step reached (if not saved yet) and ends the run."""

    def __init__(
        self,
        *,
        loss_log: Path,
        options: Any,
        result: TrainResult,
        reporter: TrainReporter,
        accelerator: Accelerator,
        sample_grid: Callable[[int], None],
        checkpoint: Callable[[int], None],
    ) -> None:
        self.loss_log = loss_log
        self.options = options
        self.result = result
        self.reporter = reporter
        self.accelerator = accelerator
        self.sample_grid = sample_grid
        self.checkpoint = checkpoint
        self.main = accelerator.is_main_process
        self.start = result.step
        self._handle: Any = None
        self._began = time.perf_counter()
        self._signals: list[int] = []

    @contextmanager
    def running(self) -> Iterator[None]:
        """Open the log for the run; on an interrupt save the step reached; always close."""
        result = self.result
        self._handle = self.loss_log.open("a", encoding="utf-8") if self.main else None
        self._began = time.perf_counter()
        try:
            with stop_requests() as self._signals:
                yield
        except KeyboardInterrupt:
            result.interrupted = True
            reached = result.step
            unsaved = result.checkpoint is None or result.checkpoint.step != reached
            if self.main and reached > self.start and unsaved:
                self.reporter.message(f"interrupted: saving step {reached}")
                self.checkpoint(reached)
        finally:
            if self._handle is not None:
                self._handle.close()
            if self.main:
                self.reporter.close()

    def done(self, step: int, losses: dict[str, float]) -> None:
        """Step `step` (1-based) is complete with `losses` (already averaged over processes)."""
        self.result.step = step
        if self.main:
            record: dict[str, float] = {"step": step}
            record.update({name: round(float(value), 5) for name, value in losses.items()})
            record["seconds"] = round(time.perf_counter() - self._began, 3)
            self._handle.write(json.dumps(record) + "\n")
            self._handle.flush()
            self.reporter.step(step, record)
        options = self.options
        if options.sample_every and (step % options.sample_every == 0 or step == options.steps):
            self.sample_grid(step)
        if step % options.checkpoint_every == 0 or step == options.steps:
            self.checkpoint(step)
            self.accelerator.wait_for_everyone()
        if self._stop_asked():
            raise KeyboardInterrupt

    def _stop_asked(self) -> bool:
        """Whether any process was asked to stop; all processes agree, so all stop together."""
        asked = bool(self._signals)
        if self.accelerator.num_processes == 1:
            return asked
        import torch

        flag = torch.tensor([1.0 if asked else 0.0], device=self.accelerator.device)
        return bool(self.accelerator.reduce(flag, "sum").item() > 0)


def open_run(accelerator: Accelerator, run: RunFolder, *, fresh: bool) -> None:
    """The main process readies the run's folder (drops unfinished checkpoints; with `fresh`,
    every checkpoint, grid and log line); every process waits for it."""
    if accelerator.is_main_process:
        run.root.mkdir(parents=True, exist_ok=True)
        remove_unfinished(run.checkpoints)
        if fresh:
            import shutil

            for folder in (run.checkpoints, run.samples):
                shutil.rmtree(folder, ignore_errors=True)
            run.loss_log.unlink(missing_ok=True)
    accelerator.wait_for_everyone()


def begin_result(
    accelerator: Accelerator,
    resume: Checkpoint | None,
    reporter: TrainReporter,
    *,
    loss_log: Path,
    steps: int,
) -> TrainResult:
    """The run's result as it starts (from `resume`'s step); the main process trims the log to
    that step and says where training starts, or that it has nothing left to do."""
    start = resume.step if resume is not None else 0
    result = TrainResult(
        step=start,
        resumed_from=start,
        checkpoint=resume,
        main_process=accelerator.is_main_process,
        processes=accelerator.num_processes,
        device=accelerator.device.type,
        precision=accelerator.mixed_precision,
    )
    if accelerator.is_main_process:
        if resume is not None:
            reporter.message(f"resuming from step {start} ({resume.path})")
        trim_log(loss_log, start)
        if start >= steps:
            reporter.message(
                f"already trained to step {start}; ask for more steps (--steps) to go on"
            )
        else:
            reporter.start(first_step=start, total=steps)
    return result


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    import torch

    with torch.no_grad():
        for mine, theirs in zip(ema.parameters(), model.parameters(), strict=True):
            mine.lerp_(theirs.detach().to(mine.dtype), 1 - decay)
        for kept, live in zip(ema.buffers(), model.buffers(), strict=True):
            kept.copy_(live)


def train_gan(
    layout: StyleLayout,
    options: TrainOptions,
    *,
    reporter: TrainReporter | None = None,
    fresh: bool = False,
) -> TrainResult:
    """Train (or resume training) the GAN of a prepared style up to `options.steps` steps."""
    import torch
    from torch.nn import functional as F

    from generators.style.augment import augment
    from generators.style.model import Discriminator, Generator, reconstruction_target
    from generators.style.sample import generate, grid, latents

    reporter = reporter or PrintReporter()
    manifest = layout.read_manifest()
    arch = options.architecture
    if manifest["resolution"] < arch.resolution:
        raise StyleError(
            f"style {layout.name!r} was prepared at {manifest['resolution']} px, below the "
            f"training resolution {arch.resolution}; prepare it again with --resolution "
            f"{arch.resolution} or train at {manifest['resolution']}"
        )
    bank = ImageBank(layout.image_paths(), arch.resolution)
    policy = parse_policy(options.augment)

    accelerator = make_accelerator(options)
    main = accelerator.is_main_process
    world, rank = accelerator.num_processes, accelerator.process_index
    open_run(accelerator, layout.run("gan"), fresh=fresh)

    torch.manual_seed(options.seed)
    generator = Generator(arch)
    discriminator = Discriminator(arch)
    ema = copy.deepcopy(generator).eval().requires_grad_(False)
    resume = latest_checkpoint(layout.checkpoints)
    start = 0
    if resume is not None:
        check_resumable(resume, options, layout.name)
        generator.load_state_dict(load_weights(resume.path / "generator.safetensors"))
        discriminator.load_state_dict(load_weights(resume.path / "discriminator.safetensors"))
        ema.load_state_dict(load_weights(resume.ema_weights))
        start = resume.step
    opt_g = torch.optim.Adam(generator.parameters(), lr=options.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=options.lr, betas=(0.5, 0.999))
    generator, discriminator, opt_g, opt_d = accelerator.prepare(
        generator, discriminator, opt_g, opt_d
    )
    ema.to(accelerator.device)
    if resume is not None:
        saved = load_optimizers(resume.path)
        opt_g.load_state_dict(saved["g"])
        opt_d.load_state_dict(saved["d"])
        restore_scaler(accelerator, resume)
    raw_g = accelerator.unwrap_model(generator)
    raw_d = accelerator.unwrap_model(discriminator)
    fixed = latents(SAMPLE_GRID, arch.latent, options.seed + 1)

    result = begin_result(
        accelerator, resume, reporter, loss_log=layout.loss_log, steps=options.steps
    )

    def checkpoint(step: int) -> None:
        if not main:
            return
        result.checkpoint = save_checkpoint(
            layout.checkpoints,
            step,
            generator=raw_g.state_dict(),
            generator_ema=ema.state_dict(),
            discriminator=raw_d.state_dict(),
            optimizers={"g": opt_g.state_dict(), "d": opt_d.state_dict()},
            state={
                **options.resumable_part(),
                "steps_planned": options.steps,
                "processes": world,
                "images": len(bank),
                "style": layout.name,
                "scaler": scaler_state(accelerator),
            },
            keep=options.keep_checkpoints,
        )
        with atomic_path(layout.loss_plot) as temp:
            plot_losses(read_log(layout.loss_log)).save(temp, format="PNG")
        reporter.message(f"checkpoint saved at step {step}: {result.checkpoint.path}")

    def sample_grid(step: int) -> None:
        if not main:
            return
        target = layout.samples / f"step-{step:08d}.png"
        with atomic_path(target) as temp:
            grid(generate(ema, fixed, seed=options.seed + 2)).save(temp, format="PNG")
        result.samples.append(target)
        reporter.message(f"samples at step {step}: {target}")

    local_batch = options.batch_size
    decode_side = raw_d.decoder_side
    step = start
    book = StepBook(
        loss_log=layout.loss_log,
        options=options,
        result=result,
        reporter=reporter,
        accelerator=accelerator,
        sample_grid=sample_grid,
        checkpoint=checkpoint,
    )
    with book.running():
        while step < options.steps:
            torch.manual_seed(step_seed(options.seed, step, rank))
            indices = batch_indices(
                len(bank), local_batch, world=world, rank=rank, seed=options.seed, step=step
            )
            real = bank.batch(indices).to(accelerator.device)
            flip = torch.rand(local_batch) < 0.5
            real[flip] = real[flip].flip(-1)
            z = torch.randn(local_batch, arch.latent).to(accelerator.device)

            generator.train()
            discriminator.train()
            fake = generator(z)
            both = augment(torch.cat([real, fake.detach()]), policy)
            opt_d.zero_grad(set_to_none=True)
            logits, rebuilt = discriminator(both, decode=local_batch)
            assert rebuilt is not None
            loss_real = F.relu(1 - logits[:local_batch]).mean()
            loss_fake = F.relu(1 + logits[local_batch:]).mean()
            target = reconstruction_target(both[:local_batch], decode_side)
            loss_recon = F.l1_loss(rebuilt.float(), target.float())
            loss_d = loss_real + loss_fake + options.recon_weight * loss_recon
            accelerator.backward(loss_d)
            opt_d.step()

            opt_g.zero_grad(set_to_none=True)
            # The bare discriminator: its gradients here are thrown away, so they need no
            # all-reduce; the generator's flow back through its own wrapper.
            with accelerator.autocast():
                logits_g, _ = raw_d(augment(fake, policy))
            loss_g = -logits_g.float().mean()
            accelerator.backward(loss_g)
            opt_g.step()
            warmup = min(options.ema_decay, (1 + step) / (10 + step))
            _ema_update(ema, raw_g, warmup)

            step += 1
            result.step = step  # what an interrupt from here on saves
            losses = accelerator.reduce(
                torch.stack([loss_d.detach(), loss_g.detach(), loss_recon.detach()]).float(),
                "mean",
            )
            book.done(
                step,
                {"loss_d": losses[0], "loss_g": losses[1], "loss_recon": losses[2]},
            )
    # The wrappers go before their process group does (see finish_training).
    del generator, discriminator
    finish_training(accelerator)
    return result


def finish_training(accelerator: Accelerator) -> None:
    """End a run: every process arrives, the prepared (DDP) models are released, then the
    process group is destroyed. A DDP wrapper still alive when its group is destroyed was
    seen to hang a worker at exit, about one two-process CPU run in eight."""
    import gc

    accelerator.wait_for_everyone()
    accelerator.free_memory()
    gc.collect()
    accelerator.end_training()


def scaler_state(accelerator: Accelerator) -> dict[str, Any] | None:
    """fp16's loss-scaler state (its scale and growth count), for an exact resume; else None."""
    scaler = getattr(accelerator, "scaler", None)
    return dict(scaler.state_dict()) if scaler is not None else None


def restore_scaler(accelerator: Accelerator, checkpoint: Checkpoint) -> None:
    """Put back the loss-scaler state a checkpoint saved (fp16 runs)."""
    scaler = getattr(accelerator, "scaler", None)
    saved = checkpoint.state.get("scaler")
    if scaler is not None and saved:
        scaler.load_state_dict(saved)


def check_resumable(checkpoint: Checkpoint, options: Any, style: str) -> None:
    saved = {k: checkpoint.state.get(k) for k in options.resumable_part()}
    wanted = options.resumable_part()
    different = [k for k in wanted if saved[k] != wanted[k]]
    if different:
        detail = "; ".join(f"{k}: checkpoint {saved[k]!r}, now {wanted[k]!r}" for k in different)
        raise StyleError(
            f"the last checkpoint of style {style!r} ({checkpoint.path.name}) was trained with "
            f"other settings ({detail}); train with the same ones to resume, or pass --fresh "
            "to start over"
        )


def trim_log(path: Path, step: int) -> None:
    """Keep only log records up to `step`: a killed run may have logged past its checkpoint."""
    records = [r for r in read_log(path) if r.get("step", 0) <= step]
    with atomic_path(path) as temp:
        temp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def options_from_checkpoint(checkpoint: Checkpoint, **overrides: Any) -> TrainOptions:
    """The options a checkpoint was trained with, with `overrides` (steps, intervals...)."""
    state = checkpoint.state
    fields = {
        "architecture": GanArchitecture(**state["architecture"]),
        "batch_size": state["batch_size"],
        "lr": state["lr"],
        "seed": state["seed"],
        "augment": state["augment"],
    }
    return TrainOptions(**{**fields, **overrides})
