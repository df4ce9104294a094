"""`kavi style …`: prepare a curated collection, train a GAN on it, sample, inspect, list.

Thin: parse, call generators.style, print. Everything heavy (numpy, Pillow, torch,
accelerate, rich) is imported inside the command that runs, so `kavi --help` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings

EXIT_OK, EXIT_INTERRUPTED = 0, 130
RESOLUTIONS = (16, 32, 64, 128, 256, 512, 1024)
BACKENDS = ("gan", "lora")


def add_style_parser(commands: Any) -> None:
    """Add `style` and its actions to the top-level subparsers."""
    style = commands.add_parser(
        "style", help="teach Kavi a style from a curated folder: prepare, train, sample, inspect"
    )
    actions = style.add_subparsers(dest="style_command", metavar="ACTION", required=True)

    prepare = actions.add_parser("prepare", help="clean a folder of images into a style dataset")
    prepare.add_argument("name", help="style name (lower-case letters, digits, - and _)")
    prepare.add_argument(
        "--from", dest="source", required=True, type=Path, help="folder of curated images"
    )
    prepare.add_argument(
        "--resolution",
        type=int,
        choices=RESOLUTIONS,
        default=256,
        metavar="PX",
        help="square side of the dataset images: 64-1024 (16, 32 for quick trials; default 256)",
    )
    prepare.add_argument(
        "--fit",
        choices=("crop", "pad"),
        default="crop",
        help="make images square by centre crop (default) or by padding with the border colour",
    )
    prepare.add_argument(
        "--replace", action="store_true", help="replace an existing style (and its training)"
    )

    train = actions.add_parser(
        "train", help="train the style (resumes from its last checkpoint; Ctrl-C saves and stops)"
    )
    train.add_argument("name", help="a prepared style")
    train.add_argument(
        "--backend",
        choices=BACKENDS,
        default="gan",
        help="gan: a GAN from scratch (default); lora: a LoRA of the diffusion model on disk",
    )
    train.add_argument("--steps", type=int, help="train up to this step (gan 10000, lora 1000)")
    train.add_argument(
        "--resolution", type=int, choices=RESOLUTIONS, metavar="PX", help="default: the dataset's"
    )
    train.add_argument("--batch-size", type=int, help="images per step per process (gan 8, lora 1)")
    train.add_argument("--width", type=int, help="gan: network base width (default 64)")
    train.add_argument("--latent", type=int, help="gan: latent vector size (default 256)")
    train.add_argument("--lr", type=float, help="learning rate (gan 0.0002, lora 0.0001)")
    train.add_argument(
        "--model", help="lora: the diffusion model to fine-tune (default: IMAGE_MODEL, on disk)"
    )
    train.add_argument("--rank", type=int, help="lora: the adapter's rank (default 16)")
    train.add_argument(
        "--sample-steps", type=int, help="lora: denoising steps of the sample grids (default 2)"
    )
    train.add_argument(
        "--sample-guidance",
        type=float,
        help="lora: classifier-free guidance of the sample grids (default 0, for turbo models)",
    )
    train.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="lora: recompute activations to save memory (slower; for large models)",
    )
    train.add_argument("--seed", type=int, help="run seed: data order, latents (default 0)")
    train.add_argument(
        "--augment", help="comma list of color, translation, cutout, or none (default all three)"
    )
    train.add_argument("--checkpoint-every", type=int, help="steps (gan 500, lora 100)")
    train.add_argument(
        "--sample-every", type=int, help="steps (gan 500, lora 100; lora: 0 for no grids)"
    )
    train.add_argument(
        "--precision",
        choices=("auto", "no", "fp16", "bf16"),
        default="auto",
        help="mixed precision (auto: bf16/fp16 on a GPU, full on CPU)",
    )
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    train.add_argument(
        "--fresh", action="store_true", help="delete the style's checkpoints and start over"
    )

    sample = actions.add_parser("sample", help="a grid of images from the trained style")
    sample.add_argument("name", help="a trained style")
    sample.add_argument(
        "--backend", choices=BACKENDS, help="which training to sample (default: gan if trained)"
    )
    sample.add_argument("-n", "--count", type=int, default=16, help="how many images (16)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the latents (0)")
    sample.add_argument("--out", type=Path, help="PNG to write (default: in the style folder)")

    inspect = actions.add_parser(
        "inspect", help="nearest training images of each sample: a novelty page"
    )
    inspect.add_argument("name", help="a trained style")
    inspect.add_argument(
        "--backend", choices=BACKENDS, help="which training to inspect (default: gan if trained)"
    )
    inspect.add_argument("-n", "--count", type=int, default=16, help="how many samples (16)")
    inspect.add_argument("--seed", type=int, default=0, help="seed of the latents (0)")
    inspect.add_argument(
        "--descriptor",
        metavar="NAME",
        help="what measures the distances: auto, perceptual, or an image embedding model "
        "(Hugging Face id or folder, on disk); default STYLE_DESCRIPTOR (auto)",
    )

    actions.add_parser("list", help="styles, their images, steps trained and last checkpoint")


def run_style(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `kavi style` action; errors are raised for the CLI edge to report."""
    styles_dir = settings.data_dir / "styles"
    action = args.style_command
    if action == "prepare":
        return _prepare(args, settings)
    if action == "train":
        if args.backend == "lora":
            return _train_lora(args, settings)
        return _train(args, settings)
    if action == "sample":
        return _sample(args, styles_dir)
    if action == "inspect":
        return _inspect(args, styles_dir, settings)
    return _list(settings)


def _positive(name: str, value: int | None) -> None:
    from core.errors import ConfigError

    if value is not None and value < 1:
        raise ConfigError(f"--{name} must be 1 or more, got {value}")


@contextmanager
def _progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transient bar with ETA; yields the `progress(done, total)` callback that moves it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _prepare(args: argparse.Namespace, settings: Settings) -> int:
    from bot.style_records import hold_style, record_style
    from generators.style.layout import check_style_name
    from generators.style.prepare import prepare_style
    from storage.db import Database

    styles_dir = settings.data_dir / "styles"
    with (
        hold_style(styles_dir, check_style_name(args.name), "prepared"),
        _progress_bar(f"preparing {args.name}") as progress,
    ):
        report = prepare_style(
            args.source,
            styles_dir,
            args.name,
            resolution=args.resolution,
            fit=args.fit,
            replace=args.replace,
            progress=progress,
        )
        db = Database.open(settings.resolved_database_url)
        try:
            record_style(db, report.layout, source=str(args.source))
        finally:
            db.close()
    print(
        f"style {args.name}: {report.kept} image(s) at {args.resolution} px in {report.layout.root}"
    )
    for label, items in (
        ("unreadable", report.unreadable),
        ("too small", report.too_small),
        ("near duplicates", report.duplicates),
    ):
        if items:
            print(f"  skipped {len(items)} {label}:")
            for item in items:
                print(f"    {item.file}: {item.reason}")
    print(f"  manifest: {report.layout.manifest}")
    return EXIT_OK


class _RichReporter:
    """A progress bar with ETA and the latest losses; messages printed above it."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            "{task.fields[losses]}",
        )
        self.task: Any = None

    def start(self, *, first_step: int, total: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("training", total=total, completed=first_step, losses="")

    def step(self, step: int, losses: dict[str, float]) -> None:
        text = f"D {losses['loss_d']:.3f} G {losses['loss_g']:.3f} rec {losses['loss_recon']:.3f}"
        self.progress.update(self.task, completed=step, losses=text)

    def message(self, text: str) -> None:
        self.progress.console.print(text, highlight=False)

    def close(self) -> None:
        self.progress.stop()


class _LossReporter(_RichReporter):
    """The progress bar with the LoRA's one loss."""

    def step(self, step: int, losses: dict[str, float]) -> None:
        self.progress.update(self.task, completed=step, losses=f"loss {losses['loss']:.4f}")


def _train(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from bot.style_records import recorded_training
    from generators.style.checkpoint import latest_checkpoint
    from generators.style.layout import StyleError, StyleLayout
    from generators.style.model import GanArchitecture
    from generators.style.train import TrainOptions, options_from_checkpoint, train_gan

    for name in ("steps", "batch_size", "width", "latent", "checkpoint_every", "sample_every"):
        _positive(name.replace("_", "-"), getattr(args, name))
    _refuse_other_backends(
        args,
        "gan",
        ("model", "rank", "sample_steps", "sample_guidance", "gradient_checkpointing"),
    )
    layout = StyleLayout.of(settings.data_dir / "styles", args.name)
    manifest = layout.read_manifest()
    schedule = {
        "steps": args.steps or 10_000,
        "checkpoint_every": args.checkpoint_every or 500,
        "sample_every": args.sample_every or 500,
        "precision": args.precision,
        "device": args.device,
    }
    given = _given(batch_size=args.batch_size, lr=args.lr, seed=args.seed, augment=args.augment)
    arch_given = _given(
        resolution=args.resolution,
        gen_width=args.width,
        disc_width=args.width,
        latent=args.latent,
    )
    resume = None if args.fresh else latest_checkpoint(layout.checkpoints)
    try:
        if resume is not None:
            # Unset options come from the checkpoint, so a plain `train NAME` resumes.
            saved = options_from_checkpoint(resume, **schedule)
            arch = GanArchitecture(**{**saved.architecture.as_dict(), **arch_given})
            options = TrainOptions(
                **{**_option_fields(saved), **given, "architecture": arch, **schedule}
            )
        else:
            arch = GanArchitecture(**{"resolution": manifest["resolution"], **arch_given})
            options = TrainOptions(architecture=arch, **given, **schedule)
    except ValueError as exc:
        raise StyleError(f"cannot train style {args.name!r}: {exc}") from None
    # A bar on a terminal, plain lines in a log; under `accelerate launch` only the main
    # process reports, and only it prints the outcome.
    reporter = _RichReporter() if sys.stdout.isatty() else None
    with recorded_training(
        settings,
        layout,
        args.backend,
        first_step=resume.step if resume else 0,
        steps_planned=options.steps,
        fresh=args.fresh,
    ) as record:
        result = train_gan(layout, options, reporter=record.reporter(reporter), fresh=args.fresh)
        record.finished(result)
    return _trained_outcome(args.name, result, layout.run("gan"))


def _trained_outcome(name: str, result: Any, run: Any) -> int:
    """Print where training stopped (main process only); 130 when it was interrupted."""
    if not result.main_process:
        return EXIT_OK
    where = result.checkpoint.path if result.checkpoint else "no checkpoint"
    if result.interrupted:
        print(f"stopped at step {result.step} ({where}); run the same command to resume")
        return EXIT_INTERRUPTED
    print(f"style {name}: trained to step {result.step}; last checkpoint {where}")
    print(f"  samples: {run.samples}  losses: {run.loss_log} ({run.loss_plot})")
    return EXIT_OK


def _refuse_other_backends(
    args: argparse.Namespace, backend: str, options: tuple[str, ...]
) -> None:
    """ConfigError naming options given that only another backend takes."""
    from core.errors import ConfigError

    given = [f"--{o.replace('_', '-')}" for o in options if getattr(args, o, None)]
    if given:
        raise ConfigError(
            f"{', '.join(given)}: not an option of --backend {backend} (another backend's)"
        )


def _train_lora(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from bot.chain import configured_model
    from bot.style_records import recorded_training
    from generators.style.checkpoint import latest_checkpoint
    from generators.style.layout import StyleError, StyleLayout
    from generators.style.lora import (
        LORA_WEIGHTS,
        LoraOptions,
        options_from_lora_checkpoint,
        train_lora,
    )

    for name in ("steps", "batch_size", "rank", "sample_steps", "checkpoint_every"):
        _positive(name.replace("_", "-"), getattr(args, name))
    _refuse_other_backends(args, "lora", ("width", "latent", "augment"))
    layout = StyleLayout.of(settings.data_dir / "styles", args.name)
    layout.read_manifest()
    schedule = _given(
        steps=args.steps,
        checkpoint_every=args.checkpoint_every,
        sample_every=args.sample_every,
        sample_steps=args.sample_steps,
        sample_guidance=args.sample_guidance,
    )
    schedule.update(
        precision=args.precision,
        device=args.device,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    given = _given(
        model=args.model,
        resolution=args.resolution,
        batch_size=args.batch_size,
        lr=args.lr,
        rank=args.rank,
        seed=args.seed,
    )
    resume = None if args.fresh else latest_checkpoint(layout.lora.checkpoints, LORA_WEIGHTS)
    try:
        if resume is not None:
            # Unset options come from the checkpoint, so a plain `train NAME --backend lora`
            # resumes.
            options = options_from_lora_checkpoint(resume, **{**given, **schedule})
        else:
            model = given.pop("model", None) or configured_model("image", settings)[0]
            options = LoraOptions(model=model, **given, **schedule)
    except ValueError as exc:
        raise StyleError(f"cannot train style {args.name!r}: {exc}") from None
    reporter = _LossReporter() if sys.stdout.isatty() else None
    with recorded_training(
        settings,
        layout,
        "lora",
        first_step=resume.step if resume else 0,
        steps_planned=options.steps,
        fresh=args.fresh,
    ) as record:
        result = train_lora(layout, options, reporter=record.reporter(reporter), fresh=args.fresh)
        record.finished(result)
    return _trained_outcome(args.name, result, layout.lora)


def _given(**values: Any) -> dict[str, Any]:
    """The options the command line set (the others stay the checkpoint's or the default)."""
    return {name: value for name, value in values.items() if value is not None}


def _option_fields(options: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def _trained(styles_dir: Path, name: str, backend: str | None = None) -> tuple[Any, Any, str]:
    """The style's layout, newest checkpoint and backend (gan if trained, else lora)."""
    from generators.style.checkpoint import latest_checkpoint, require_checkpoint
    from generators.style.layout import StyleLayout
    from generators.style.lora import LORA_WEIGHTS

    layout = StyleLayout.of(styles_dir, name)
    layout.read_manifest()
    if backend is None:
        gan_trained = latest_checkpoint(layout.checkpoints) is not None
        lora_trained = latest_checkpoint(layout.lora.checkpoints, LORA_WEIGHTS) is not None
        backend = "lora" if lora_trained and not gan_trained else "gan"
    if backend == "lora":
        checkpoint = require_checkpoint(layout.lora.checkpoints, name, LORA_WEIGHTS, "lora")
    else:
        checkpoint = require_checkpoint(layout.checkpoints, name)
    return layout, checkpoint, backend


def _draw(layout: Any, checkpoint: Any, backend: str, count: int, seed: int) -> list[Any]:
    """`count` images of the style from the backend's newest checkpoint."""
    if backend == "lora":
        from generators.style.lora_sample import sample_lora

        return sample_lora(checkpoint, count, seed=seed)
    from generators.style.sample import sample

    return sample(checkpoint, count, seed=seed)


def _sample(args: argparse.Namespace, styles_dir: Path) -> int:
    from generators.style.layout import atomic_path
    from generators.style.sample import grid

    _positive("count", args.count)
    layout, checkpoint, backend = _trained(styles_dir, args.name, args.backend)
    images = _draw(layout, checkpoint, backend, args.count, args.seed)
    folder = layout.run(backend).root
    out = args.out or folder / f"sample-step{checkpoint.step:08d}-seed{args.seed}.png"
    with atomic_path(Path(out)) as temp:
        grid(images).save(temp, format="PNG")
    print(
        f"{len(images)} sample(s) of style {args.name} ({backend}) at step {checkpoint.step}: {out}"
    )
    return EXIT_OK


def _inspect(args: argparse.Namespace, styles_dir: Path, settings: Settings) -> int:
    from core.errors import ConfigError
    from generators.style.descriptors import DescriptorError, resolve_descriptor
    from generators.style.novelty import inspect_samples

    _positive("count", args.count)
    source = "--descriptor" if args.descriptor is not None else "STYLE_DESCRIPTOR"
    choice = args.descriptor if args.descriptor is not None else settings.style_descriptor
    layout, checkpoint, backend = _trained(styles_dir, args.name, args.backend)
    try:
        chosen = resolve_descriptor(choice, device=settings.torch_device)
    except DescriptorError as exc:
        raise ConfigError(f"{source}={choice.strip()}: {exc}") from None
    # Said first: describing a large collection with a model takes minutes (then it is cached).
    print(f"descriptor: {chosen.descriptor.name} ({source}={choice.strip()}: {chosen.reason})")
    images = _draw(layout, checkpoint, backend, args.count, args.seed)
    with _progress_bar(f"describing the training images of {args.name}") as progress:
        report = inspect_samples(
            layout,
            images,
            checkpoint=f"{backend} {checkpoint.path.name} sha256:{checkpoint.sha256}",
            descriptor=chosen.descriptor,
            progress=progress,
        )
    print(
        f"style {args.name} ({backend}), step {checkpoint.step}: {len(images)} sample(s), "
        f"{report.flagged} flagged as memorised; novelty score {report.score:.3f} "
        f"(threshold {report.threshold:.4f}, typical gap {report.typical:.4f})"
    )
    for number, found in enumerate(report.samples):
        near = ", ".join(f"{n.file} {n.distance:.4f}" for n in found.neighbours)
        flag = "  MEMORISED" if found.memorised else ""
        print(f"  sample {number:>3}: {near}{flag}")
    print(f"  page: {report.page}")
    return EXIT_OK


def descriptor_line(choice: str) -> str:
    """Which descriptor STYLE_DESCRIPTOR=`choice` measures novelty with here, and why."""
    from generators.style.descriptors import DescriptorError, resolve_descriptor

    try:
        chosen = resolve_descriptor(choice)
    except DescriptorError as exc:
        return f"none usable (STYLE_DESCRIPTOR={choice}: {exc})"
    return f"{chosen.descriptor.name} (STYLE_DESCRIPTOR={choice}: {chosen.reason})"


def _list(settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from bot.style_records import style_lines
    from storage.db import Database

    db = Database.open(settings.resolved_database_url)
    try:
        lines = style_lines(db, settings.data_dir, ZoneInfo(settings.tz))
    finally:
        db.close()
    if not lines:
        styles_dir = settings.data_dir / "styles"
        print(f"No styles yet in {styles_dir}: run `kavi style prepare NAME --from FOLDER`.")
    for line in lines:
        print(line)
    return EXIT_OK
