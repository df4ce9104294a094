"""The style GAN: shapes, augmentation, data order, exact resume (also after kill -9),
two processes through Accelerate, sampling, and the gan painter in the chain."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from bot.cli import main  # noqa: E402
from generators.style.augment import augment, parse_policy  # noqa: E402
from generators.style.checkpoint import latest_checkpoint, load_weights  # noqa: E402
from generators.style.layout import StyleError, StyleLayout  # noqa: E402
from generators.style.model import Discriminator, GanArchitecture, Generator  # noqa: E402
from generators.style.sample import sample  # noqa: E402
from generators.style.train import (  # noqa: E402
    batch_indices,
    options_from_checkpoint,
    train_gan,
)
from tests.generators.neural.style_fixtures import (  # noqa: E402
    TINY,
    tiny_options,
    tiny_style,
    untrained_checkpoint,
)
from tests.generators.style_collections import ONE_THREAD_ENV, one_torch_thread  # noqa: E402, F401
from tests.processes import REPO, WatchedProcess  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WEIGHT_FILES = ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors")


def weights(layout: StyleLayout) -> dict[str, dict[str, torch.Tensor]]:
    found = latest_checkpoint(layout.checkpoints)
    assert found is not None
    return {name: load_weights(found.path / name) for name in WEIGHT_FILES}


def assert_same_weights(a: StyleLayout, b: StyleLayout) -> None:
    first, second = weights(a), weights(b)
    for name in WEIGHT_FILES:
        assert first[name].keys() == second[name].keys()
        different = [k for k in first[name] if not torch.equal(first[name][k], second[name][k])]
        assert not different, f"{name} differs in {different[:5]}"


@pytest.mark.parametrize("side", [16, 32, 64])
def test_networks_make_and_judge_images_of_their_size(side: int) -> None:
    arch = GanArchitecture(resolution=side, latent=8, gen_width=4, disc_width=4)
    generator, discriminator = Generator(arch), Discriminator(arch)
    images = generator(torch.randn(3, 8))
    assert images.shape == (3, 3, side, side)
    assert images.abs().max() <= 1
    logits, rebuilt = discriminator(images, decode=2)
    assert logits.shape == (3, 25)
    assert rebuilt is not None and rebuilt.shape == (2, 3, min(side, 64), min(side, 64))
    # Skip-layer excitation joins each map to the one 8 times larger.
    assert sorted(generator.excite) == [str(s) for s in (32, 64) if s <= side]


def test_augmentation_keeps_shape_and_gradients_and_moves_content() -> None:
    torch.manual_seed(0)
    images = torch.rand(4, 3, 16, 16, requires_grad=True)
    out = augment(images, parse_policy("color,translation,cutout"))
    assert out.shape == images.shape
    out.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    # Cutout blanks a half-side square in every image.
    cut = augment(torch.ones(4, 3, 16, 16), ("cutout",))
    assert ((cut == 0).flatten(1).sum(1) == 3 * 8 * 8).all()
    assert parse_policy("none") == ()
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        parse_policy("color,blur")


def test_data_order_is_a_function_of_the_step_and_covers_each_epoch() -> None:
    count, batch, world = 12, 3, 2
    epoch = []
    for step in range(count // (batch * world)):
        parts = [
            batch_indices(count, batch, world=world, rank=r, seed=5, step=step)
            for r in range(world)
        ]
        assert not set(parts[0]) & set(parts[1])
        epoch += parts[0] + parts[1]
    assert sorted(epoch) == list(range(count))
    again = batch_indices(count, batch, world=world, rank=1, seed=5, step=1)
    assert again == batch_indices(count, batch, world=world, rank=1, seed=5, step=1)
    assert batch_indices(count, batch, world=1, rank=0, seed=6, step=0) != batch_indices(
        count, batch, world=1, rank=0, seed=5, step=0
    )


def test_a_resumed_run_ends_with_the_same_weights_as_an_unbroken_one(tmp_path: Path) -> None:
    straight = tiny_style(tmp_path, "straight")
    broken = tiny_style(tmp_path, "broken")
    train_gan(straight, tiny_options(steps=4))
    first = train_gan(broken, tiny_options(steps=2))
    second = train_gan(broken, tiny_options(steps=4))
    assert (first.step, second.resumed_from, second.step) == (2, 2, 4)
    assert_same_weights(straight, broken)
    steps = [json.loads(line)["step"] for line in broken.loss_log.read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    assert sorted(p.name for p in broken.samples.iterdir()) == [
        "step-00000002.png",
        "step-00000004.png",
    ]
    assert broken.loss_plot.is_file()


def test_resuming_with_other_settings_is_refused(tmp_path: Path) -> None:
    layout = tiny_style(tmp_path)
    train_gan(layout, tiny_options(steps=2))
    with pytest.raises(StyleError, match="batch_size: checkpoint 4, now 2.*--fresh"):
        train_gan(layout, tiny_options(steps=4, batch_size=2))
    assert train_gan(layout, tiny_options(steps=1, batch_size=2), fresh=True).resumed_from == 0


def style_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAVI_", "ACCELERATE_"))}
    return {**env, **ONE_THREAD_ENV, "DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}


TRAIN_ARGS = ["--width", "4", "--latent", "8", "--batch-size", "4", "--device", "cpu"]


def train_until_signalled(
    root: Path, style: str, *, every: list[str], wait_for: str, signum: int
) -> tuple[int | None, str]:
    """Run `kavi style train` in a child process; send `signum` once it prints `wait_for`."""
    argv = [sys.executable, "-m", "bot", "style", "train", style, "--steps", "100000"]
    process = WatchedProcess([*argv, *every, *TRAIN_ARGS], env=style_env(root), cwd=root)
    try:
        process.wait_for_line(wait_for)
        process.send_signal(signum)
    finally:
        output = process.wait()
    return process.returncode, output


def test_kill_9_then_resume_continues_exactly_from_the_last_checkpoint(tmp_path: Path) -> None:
    killed = tiny_style(tmp_path, "killed")
    code, output = train_until_signalled(
        tmp_path,
        "killed",
        every=["--checkpoint-every", "2", "--sample-every", "1000"],
        wait_for="checkpoint saved at step 2",
        signum=signal.SIGKILL,
    )
    assert code == -signal.SIGKILL, output
    saved = latest_checkpoint(killed.checkpoints)
    assert saved is not None and 2 <= saved.step < 100000
    resume_at = saved.step

    # What the dead run left (maybe a half-written checkpoint, log lines past the
    # checkpoint) must not change the outcome: resume two more steps...
    options = options_from_checkpoint(saved, steps=resume_at + 2, checkpoint_every=2, device="cpu")
    result = train_gan(killed, options)
    assert (result.resumed_from, result.step) == (resume_at, resume_at + 2)
    assert not [p for p in killed.checkpoints.iterdir() if p.name.startswith(".")]
    logged = [json.loads(line)["step"] for line in killed.loss_log.read_text().splitlines()]
    assert logged == list(range(1, resume_at + 3))

    # ...and end where an unbroken run of as many steps ends, bit for bit.
    straight = tiny_style(tmp_path, "straight")
    train_gan(straight, options_from_checkpoint(saved, steps=resume_at + 2, device="cpu"))
    assert_same_weights(straight, killed)


def test_ctrl_c_saves_the_step_it_reached_and_stops(tmp_path: Path) -> None:
    layout = tiny_style(tmp_path, "stopped")
    # No checkpoint is due before step 1000: the one found after Ctrl-C is the one it saved.
    code, output = train_until_signalled(
        tmp_path,
        "stopped",
        every=["--checkpoint-every", "1000", "--sample-every", "1"],
        wait_for="samples at step 1",
        signum=signal.SIGINT,
    )
    assert code == 130, output
    assert "run the same command to resume" in output and "interrupted: saving step" in output
    saved = latest_checkpoint(layout.checkpoints)
    stopped_at = int(output.split("stopped at step ", 1)[1].split()[0])
    assert saved is not None and saved.step == stopped_at


def test_two_processes_through_accelerate_write_the_same_checkpoint_format(
    tmp_path: Path,
) -> None:
    pytest.importorskip("accelerate")
    two = tiny_style(tmp_path, "two")
    one = tiny_style(tmp_path, "one")
    train_gan(one, tiny_options(steps=2))
    launcher = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    assert launcher is not None
    # `--cpu` alone runs one process (more need MPI); the multi-process launcher (torchrun)
    # with `--device cpu` gives two CPU processes joined over gloo.
    argv = [launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    argv += ["--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0"]
    argv += ["-m", "bot", "style", "train", "two", "--steps", "2", "--checkpoint-every", "2"]
    argv += [*TRAIN_ARGS]
    proc = subprocess.run(
        argv, env=style_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("trained to step 2") == 1  # only the main process reports
    saved_two, saved_one = latest_checkpoint(two.checkpoints), latest_checkpoint(one.checkpoints)
    assert saved_two is not None and saved_one is not None
    assert saved_two.state["processes"] == 2 and saved_one.state["processes"] == 1
    assert sorted(p.name for p in saved_two.path.iterdir()) == sorted(
        p.name for p in saved_one.path.iterdir()
    )
    for name in WEIGHT_FILES:
        assert (
            load_weights(saved_two.path / name).keys() == load_weights(saved_one.path / name).keys()
        )
    assert len(sample(saved_two, 2, seed=0)) == 2
    # Only the main process records the run, once, with both processes counted.
    from storage.db import Database
    from storage.styles import TrainingStatus, style_checkpoints, training_runs

    db = Database.open(f"sqlite:///{tmp_path / 'kavi.db'}")
    (run,) = training_runs(db, "two")
    assert (run.status, run.processes, run.last_step) == (TrainingStatus.FINISHED, 2, 2)
    assert [(c.step, c.run_id) for c in style_checkpoints(db, "two")] == [(2, run.id)]
    db.close()


def test_samples_repeat_for_a_seed(tmp_path: Path) -> None:
    checkpoint = untrained_checkpoint(tiny_style(tmp_path))
    first, again = sample(checkpoint, 3, seed=4), sample(checkpoint, 3, seed=4)
    other = sample(checkpoint, 3, seed=5)
    assert [i.tobytes() for i in first] == [i.tobytes() for i in again]
    assert first[0].tobytes() != other[0].tobytes()
    assert first[0].size == (TINY.resolution, TINY.resolution)


def paint_with_style(root: Path, monkeypatch: pytest.MonkeyPatch, style: str) -> Path:
    """Point the chain at DATA_DIR `root`/data with IMAGE_ENGINE=gan and STYLE_NAME=`style`."""
    for name, value in {
        "DATA_DIR": str(root / "data"),
        "IMAGE_SIZE": "256",
        "IMAGE_ENGINE": "gan",
        "STYLE_NAME": style,
    }.items():
        monkeypatch.setenv(name, value)
    return root / "data"


def test_the_chain_paints_with_a_trained_style(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = paint_with_style(tmp_path, monkeypatch, "blobs")
    layout = tiny_style(data_dir, "blobs")
    checkpoint = untrained_checkpoint(layout)
    assert main(["--post-now", "--dry-run", "--seed", "3"]) == 0
    assert "image gan" in capsys.readouterr().out
    assert main(["show", "1"]) == 0
    shown = capsys.readouterr().out
    assert f"gan style blobs sha256:{checkpoint.sha256}" in shown
    assert "learnt from the collection" in shown
    # The gallery's artwork page names it too, and the archive traces that sha256 to its step.
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from bot.settings import load_settings
    from bot.web.app import create_app
    from storage.db import Database
    from storage.styles import style_checkpoints

    with TestClient(create_app(load_settings())) as client:
        assert f"style blobs sha256:{checkpoint.sha256}" in client.get("/artworks/1").text
    assert main(["style", "list"]) == 0
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    assert [(c.step, c.sha256) for c in style_checkpoints(db, "blobs")] == [
        (checkpoint.step, checkpoint.sha256)
    ]
    db.close()
    assert main(["--post-now", "--dry-run", "--seed", "3"]) == 0
    paintings = sorted((data_dir / "artworks").rglob("*-painting.png"))
    from PIL import Image

    with Image.open(paintings[0]) as image:
        assert image.size == (256, 256)
    # The same seed and checkpoint paint the same picture, byte for byte.
    assert len(paintings) == 2 and paintings[0].read_bytes() == paintings[1].read_bytes()


def test_the_painter_redraws_a_sample_that_copies_a_training_image(tmp_path: Path) -> None:
    from generators.image.gan import GanPainter, GanPainterOptions
    from generators.poem.grammar import GrammarPoemWriter
    from generators.style.prepare import prepare_style

    # A collection of the generator's own samples, among them those of seeds 0 and 1:
    # painting seed 0 gives a training image, and so does seed 1, so the painter must move
    # on to seed 2 (which is not in the collection).
    data_dir = tmp_path / "data"
    scratch = tiny_style(data_dir / "scratch", "scratch")
    checkpoint = untrained_checkpoint(scratch)
    curated = data_dir / "own-samples"
    curated.mkdir(parents=True)
    for seed in (0, 1, *range(10, 20)):
        sample(checkpoint, 1, seed=seed)[0].save(curated / f"{seed}.png")
    layout = prepare_style(curated, data_dir / "styles", "own", resolution=16).layout
    shutil.copytree(checkpoint.path, layout.checkpoints / checkpoint.path.name)
    painter = GanPainter(GanPainterOptions(model=str(layout.root), style="own", device="cpu"))
    painting = painter.paint(GrammarPoemWriter().write(seed=1), size=64, seed=0)
    assert painting.prompt.endswith("seed 2")


def test_the_chain_refuses_a_style_that_is_not_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_style(paint_with_style(tmp_path, monkeypatch, "blobs"), "blobs")
    assert main(["--post-now", "--dry-run"]) == 2
    assert "STYLE_NAME: style 'blobs' has no trained checkpoint; run `kavi style train blobs`" in (
        capsys.readouterr().err
    )
