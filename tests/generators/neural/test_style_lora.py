"""The LoRA backend: captions, exact resume, refusals, the CLI, and the diffusion painter
painting through a trained LoRA (recorded with its sha256)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from bot.cli import main  # noqa: E402
from generators.image.diffusion import clear_pipeline_cache  # noqa: E402
from generators.style.checkpoint import latest_checkpoint, load_weights  # noqa: E402
from generators.style.layout import StyleError, StyleLayout  # noqa: E402
from generators.style.lora import (  # noqa: E402
    ADAPTER,
    LORA_WEIGHTS,
    LoraOptions,
    captions_for,
    find_lora,
    style_token,
    train_lora,
)
from generators.style.prepare import prepare_style  # noqa: E402
from tests.generators.style_collections import (  # noqa: E402
    make_collection,
    one_torch_thread,  # noqa: F401
)

pytestmark = [pytest.mark.neural, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(autouse=True)
def _fresh_pipelines() -> None:
    clear_pipeline_cache()


def lora_style(root: Path, name: str = "blobs", count: int = 6) -> StyleLayout:
    """A prepared 64 px style (the tiny model's native size); the first image has a caption."""
    source = root / f"curated-{name}"
    if not source.exists():
        paths = make_collection(source, count, size=72)
        paths[0].with_suffix(".txt").write_text("  three red blobs\non white.\n", "utf-8")
    return prepare_style(source, root / "styles", name, resolution=64, replace=True).layout


def options(model: Path, **changes: object) -> LoraOptions:
    base: dict[str, object] = {
        "model": str(model),
        "steps": 2,
        "batch_size": 2,
        "rank": 4,
        "checkpoint_every": 1,
        "sample_every": 1000,
        "device": "cpu",
        "lr": 1e-3,
    }
    return LoraOptions(**{**base, **changes})  # type: ignore[arg-type]


def adapter(layout: StyleLayout) -> dict[str, torch.Tensor]:
    found = latest_checkpoint(layout.lora.checkpoints, LORA_WEIGHTS)
    assert found is not None
    return load_weights(found.path / ADAPTER)


def test_captions_come_from_sidecars_and_all_start_with_the_token(tmp_path: Path) -> None:
    layout = lora_style(tmp_path)
    manifest = layout.read_manifest()
    assert manifest["images"][0]["caption"] == "three red blobs on white."
    assert "caption" not in manifest["images"][1]
    captions = captions_for(layout)
    token = style_token("blobs")
    assert captions[0] == f"{token}, three red blobs on white"
    assert all(c.startswith(token) for c in captions) and len(set(captions[1:])) == 1


def test_a_resumed_lora_ends_with_the_same_adapter_as_an_unbroken_run(
    tmp_path: Path, tiny_sd: Path
) -> None:
    # One name in two folders: the name is in every caption, so it must match.
    straight = lora_style(tmp_path / "straight", "same")
    broken = lora_style(tmp_path / "broken", "same")
    train_lora(straight, options(tiny_sd, steps=3))
    first = train_lora(broken, options(tiny_sd, steps=2))
    second = train_lora(broken, options(tiny_sd, steps=3, sample_every=3))
    assert (first.step, second.resumed_from, second.step) == (2, 2, 3)
    one, two = adapter(straight), adapter(broken)
    assert one.keys() == two.keys() and len(one) > 0
    assert all(torch.equal(one[k], two[k]) for k in one)
    # The adapter learnt something: its up-projections left their zero start.
    assert any(float(v.abs().sum()) > 0 for k, v in one.items() if "lora_B" in k)
    steps = [json.loads(line)["step"] for line in broken.lora.loss_log.read_text().splitlines()]
    assert steps == [1, 2, 3]
    assert sorted(p.name for p in broken.lora.samples.iterdir()) == [
        "step-00000002.png",
        "step-00000003.png",
    ]
    assert broken.lora.loss_plot.is_file()
    saved = latest_checkpoint(broken.lora.checkpoints, LORA_WEIGHTS)
    assert saved is not None
    assert saved.state["token"] == style_token("same") and saved.state["rank"] == 4
    assert saved.state["captioned"] == 1
    found = find_lora(broken.root)
    assert (found.sha256, found.step, found.name) == (saved.sha256, 3, "same")


def test_mixed_precision_trains_a_float32_adapter_and_samples(
    tmp_path: Path, tiny_sd: Path
) -> None:
    from accelerate.state import AcceleratorState

    # Accelerate keeps one state per process (a real run is one process, one precision); the
    # earlier tests' full-precision state is set aside for this one and again after it.
    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        layout = lora_style(tmp_path)
        result = train_lora(layout, options(tiny_sd, steps=1, sample_every=1, precision="bf16"))
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    assert result.precision == "bf16" and len(result.samples) == 1
    assert all(v.dtype == torch.float32 for v in adapter(layout).values())


def test_resuming_with_another_rank_is_refused(tmp_path: Path, tiny_sd: Path) -> None:
    layout = lora_style(tmp_path)
    # sample_every=0: no grids at all, not even at the last step.
    assert train_lora(layout, options(tiny_sd, steps=1, sample_every=0)).samples == []
    assert not layout.lora.samples.exists()
    with pytest.raises(StyleError, match="rank: checkpoint 4, now 8.*--fresh"):
        train_lora(layout, options(tiny_sd, steps=2, rank=8))


def test_models_it_cannot_fine_tune_are_refused_clearly(
    tmp_path: Path, tiny_flux: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = lora_style(tmp_path)
    with pytest.raises(StyleError, match="supports Stable Diffusion 1.x/2.x.*flux"):
        train_lora(layout, options(tiny_flux))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf"))
    with pytest.raises(StyleError, match="kavi models pull"):
        train_lora(layout, options(Path("someone/not-pulled")))
    assert not layout.lora.checkpoints.exists()


def test_find_lora_names_what_is_missing(tmp_path: Path) -> None:
    layout = lora_style(tmp_path)
    with pytest.raises(StyleError, match="no trained LoRA.*--backend lora"):
        find_lora(layout.root)
    with pytest.raises(StyleError, match="no LoRA at"):
        find_lora(tmp_path / "nowhere")


def test_the_cli_trains_a_lora_and_refuses_gan_options(
    tmp_path: Path,
    tiny_sd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    lora_style(tmp_path / "data", "cli")
    argv = ["style", "train", "cli", "--backend", "lora", "--model", str(tiny_sd)]
    argv += ["--steps", "1", "--rank", "2", "--sample-every", "1", "--device", "cpu"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "style cli: trained to step 1" in out and "lora/samples" in out
    # The archive has the run and its checkpoint, under the lora backend.
    assert main(["style", "list"]) == 0
    listed = capsys.readouterr().out
    assert "lora trained to step 1" in listed and "(lora, steps 0-1) finished" in listed
    assert main([*argv[:5], "--width", "8"]) == 2
    assert "--width" in capsys.readouterr().err
    assert main(["style", "train", "cli", "--sample-guidance", "7.5"]) == 2
    assert "--sample-guidance: not an option of --backend gan" in capsys.readouterr().err


def test_the_diffusion_painter_paints_through_the_lora_and_records_it(
    tmp_path: Path,
    tiny_sd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from generators.image.diffusion import DiffusionPainter, DiffusionPainterOptions
    from generators.poem.grammar import GrammarPoemWriter

    data_dir = tmp_path / "data"
    layout = lora_style(data_dir, "inked")
    # A large learning rate, so that two steps move the pictures visibly.
    train_lora(layout, options(tiny_sd, lr=0.05))
    poem = GrammarPoemWriter().write(seed=2)
    plain = DiffusionPainterOptions(model=str(tiny_sd), device="cpu", dtype="float32", steps=1)
    styled = DiffusionPainterOptions(
        model=str(tiny_sd), device="cpu", dtype="float32", steps=1, lora=str(layout.root)
    )
    without = DiffusionPainter(plain).paint(poem, size=64, seed=5)
    with_lora = DiffusionPainter(styled).paint(poem, size=64, seed=5)
    again = DiffusionPainter(styled).paint(poem, size=64, seed=5)
    assert with_lora.image.tobytes() == again.image.tobytes()
    assert with_lora.image.tobytes() != without.image.tobytes()
    token = style_token("inked")
    assert with_lora.prompt.endswith(token) and token not in without.prompt
    sha = find_lora(layout.root).sha256
    assert with_lora.model == f"{tiny_sd} + LoRA inked step 2 sha256:{sha} at scale 1"
    # Scale 0 fuses nothing: the picture is the plain model's (the prompt keeps the token).
    zero = DiffusionPainterOptions(
        model=str(tiny_sd),
        device="cpu",
        dtype="float32",
        steps=1,
        lora=str(layout.root),
        lora_scale=0.0,
    )
    plain_token = DiffusionPainter(plain)
    weights = find_lora(layout.root)
    plain_token.prompt_for = (  # type: ignore[method-assign]
        lambda poem, lora=None: DiffusionPainter(zero).prompt_for(poem, weights)
    )
    assert (
        DiffusionPainter(zero).paint(poem, size=64, seed=5).image.tobytes()
        == plain_token.paint(poem, size=64, seed=5).image.tobytes()
    )

    # Through the chain: LORA names the style; the artwork records the LoRA and its sha256.
    for name, value in {
        "DATA_DIR": str(data_dir),
        "IMAGE_SIZE": "256",
        "TORCH_DEVICE": "cpu",
        "TORCH_DTYPE": "float32",
        "IMAGE_STEPS": "1",
        "IMAGE_ENGINE": "diffusion",
        "IMAGE_MODEL": str(tiny_sd),
        "LORA": "inked",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["--post-now", "--dry-run", "--seed", "3"]) == 0
    capsys.readouterr()
    assert main(["show", "1"]) == 0
    assert f"LoRA inked step 2 sha256:{sha}" in capsys.readouterr().out


def test_a_lora_setting_that_names_nothing_is_a_config_error(
    tmp_path: Path,
    tiny_sd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMAGE_ENGINE", "diffusion")
    monkeypatch.setenv("IMAGE_MODEL", str(tiny_sd))
    monkeypatch.setenv("LORA", "never-trained")
    assert main(["--post-now", "--dry-run"]) == 2
    assert "LORA: no LoRA at" in capsys.readouterr().err


def test_sample_and_inspect_a_lora_from_the_cli(
    tmp_path: Path,
    tiny_sd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    layout = lora_style(tmp_path / "data", "seen")
    assert main(["style", "sample", "seen", "--backend", "lora"]) == 2
    assert "--backend lora` first" in capsys.readouterr().err
    train_lora(layout, options(tiny_sd, steps=1))
    capsys.readouterr()
    # No GAN is trained, so sample and inspect take the LoRA without being told.
    assert main(["style", "sample", "seen", "-n", "2", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "2 sample(s) of style seen (lora) at step 1" in out
    assert (layout.lora.root / "sample-step00000001-seed4.png").is_file()
    assert main(["style", "inspect", "seen", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert "style seen (lora), step 1: 2 sample(s)" in out
    summary = json.loads((layout.novelty / "novelty.json").read_text())
    assert summary["checkpoint"].startswith("lora step-00000001 sha256:")
    assert len(summary["samples"]) == 2


def test_the_painter_never_keeps_a_copy_of_the_loras_training_image(
    tmp_path: Path, tiny_sd: Path
) -> None:
    import shutil

    from generators.image.diffusion import DiffusionPainter, DiffusionPainterOptions
    from generators.poem.grammar import GrammarPoemWriter

    def painter(style: StyleLayout) -> DiffusionPainter:
        return DiffusionPainter(
            DiffusionPainterOptions(
                model=str(tiny_sd), device="cpu", dtype="float32", steps=1, lora=str(style.root)
            )
        )

    poem = GrammarPoemWriter().write(seed=2)
    scratch = lora_style(tmp_path / "scratch", "scratch")
    train_lora(scratch, options(tiny_sd, steps=1, lr=0.05))
    seed_five = painter(scratch).paint(poem, size=64, seed=5).image
    seed_six = painter(scratch).paint(poem, size=64, seed=6).image
    # A collection holding the picture seed 5 paints, with that very LoRA: seed 5 would post
    # a copy of a training image, so the painter moves on to seed 6.
    curated = tmp_path / "own-curated"
    make_collection(curated, 5, size=72, first_seed=40)
    seed_five.save(curated / "copy.png")
    own = prepare_style(curated, tmp_path / "styles", "own", resolution=64).layout
    saved = latest_checkpoint(scratch.lora.checkpoints, LORA_WEIGHTS)
    assert saved is not None
    shutil.copytree(saved.path, own.lora.checkpoints / saved.path.name)
    painted = painter(own).paint(poem, size=64, seed=5)
    assert painted.image.tobytes() == seed_six.tobytes()


def test_two_processes_through_accelerate_train_one_lora(tmp_path: Path, tiny_sd: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    from tests.generators.style_collections import ONE_THREAD_ENV
    from tests.processes import REPO

    layout = lora_style(tmp_path / "data", "pair")
    launcher = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    assert launcher is not None
    argv = [launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    argv += ["--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0"]
    argv += ["-m", "bot", "style", "train", "pair", "--backend", "lora", "--model", str(tiny_sd)]
    argv += ["--steps", "2", "--checkpoint-every", "2", "--rank", "2", "--device", "cpu"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAVI_", "ACCELERATE_"))}
    env.update(ONE_THREAD_ENV, DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("trained to step 2") == 1  # only the main process reports
    saved = latest_checkpoint(layout.lora.checkpoints, LORA_WEIGHTS)
    assert saved is not None and saved.state["processes"] == 2
    assert find_lora(layout.root).step == 2
    assert any("lora_B" in k and float(v.abs().sum()) > 0 for k, v in adapter(layout).items())


def test_a_lora_that_no_stage_uses_is_warned_about(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.chain import Chain
    from bot.settings import Settings

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMAGE_ENGINE", "ink")
    monkeypatch.setenv("LORA", "masks")
    with caplog.at_level("WARNING", logger="bot.chain"):
        Chain(Settings())
    assert "LORA=masks is set but no stage uses the diffusion model (image: ink" in caplog.text


def test_a_lora_the_model_cannot_take_is_refused_not_silently_skipped(
    tmp_path: Path, tiny_sd: Path, tiny_flux: Path
) -> None:
    from core.errors import ConfigError
    from generators.errors import GenerationError
    from generators.image.diffusion import DiffusionPainter, DiffusionPainterOptions
    from generators.poem.grammar import GrammarPoemWriter

    layout = lora_style(tmp_path)
    train_lora(layout, options(tiny_sd, steps=1))
    poem = GrammarPoemWriter().write(seed=2)

    def paint(model: Path, lora: Path) -> None:
        chosen = DiffusionPainterOptions(
            model=str(model), device="cpu", dtype="float32", steps=1, lora=str(lora)
        )
        DiffusionPainter(chosen).paint(poem, size=64, seed=1)

    with pytest.raises(ConfigError, match="IMAGE_MODEL=.* is flux: it cannot take it"):
        paint(tiny_flux, layout.root)
    # peft's own layout (what resuming reads) holds no keys diffusers maps onto the UNet.
    saved = latest_checkpoint(layout.lora.checkpoints, LORA_WEIGHTS)
    assert saved is not None
    with pytest.raises(GenerationError, match="holds nothing for this model's UNet"):
        paint(tiny_sd, saved.path / ADAPTER)


def test_an_inpainting_model_is_refused_for_training(tmp_path: Path, tiny_sd: Path) -> None:
    import shutil

    inpainting = tmp_path / "inpainting"
    shutil.copytree(tiny_sd, inpainting)
    config = inpainting / "unet" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "in_channels": 9}))
    with pytest.raises(StyleError, match="9 input channels.*needs a text-to-image model"):
        train_lora(lora_style(tmp_path), options(inpainting))


def test_kill_9_then_resume_continues_the_lora_exactly(tmp_path: Path, tiny_sd: Path) -> None:
    import signal
    import sys

    from generators.style.lora import options_from_lora_checkpoint
    from tests.generators.style_collections import ONE_THREAD_ENV
    from tests.processes import kavi_env, signal_after_line

    killed = lora_style(tmp_path / "killed" / "data", "same")
    argv = [sys.executable, "-m", "bot", "style", "train", "same", "--backend", "lora"]
    argv += ["--model", str(tiny_sd), "--steps", "100000", "--checkpoint-every", "2"]
    argv += ["--sample-every", "0", "--rank", "4", "--batch-size", "2", "--lr", "0.001"]
    argv += ["--device", "cpu"]
    env = kavi_env(tmp_path / "killed" / "data", ONE_THREAD_ENV)
    process = signal_after_line(
        argv, env=env, cwd=tmp_path, line="checkpoint saved at step 2", signum=signal.SIGKILL
    )
    assert process.returncode == -signal.SIGKILL, process.output
    saved = latest_checkpoint(killed.lora.checkpoints, LORA_WEIGHTS)
    assert saved is not None and saved.step >= 2
    resume_at = saved.step

    # Whatever the dead run left half-done is ignored: two more steps from the checkpoint...
    options = options_from_lora_checkpoint(
        saved, steps=resume_at + 2, checkpoint_every=2, sample_every=0, device="cpu"
    )
    result = train_lora(killed, options)
    assert (result.resumed_from, result.step) == (resume_at, resume_at + 2)
    logged = [json.loads(line)["step"] for line in killed.lora.loss_log.read_text().splitlines()]
    assert logged == list(range(1, resume_at + 3))
    # ...end where an unbroken run of as many steps ends, bit for bit.
    straight = lora_style(tmp_path / "straight", "same")
    train_lora(straight, options)
    one, two = adapter(straight), adapter(killed)
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)
