"""Per-stage latency and peak memory of the neural chain: diffusers defaults beside Kavi's.

    python bench/bench_neural.py --tiny               # tiny random models, seconds
    python bench/bench_neural.py --full --size 512    # full-size random architectures, minutes

Models are random (nothing is downloaded): tiny ones as in the tests, or full-size ones with
SD-Turbo's UNet/VAE/OpenCLIP-H text encoder, TAESD and SmolLM2-360M's shapes. Every
configuration of a stage is loaded in one process and timed interleaved over `--repeats`
rounds (min/median/max, and each configuration's speed-up over the diffusers defaults round
by round); memory is what each load added to the process. The poem stage also reports the
poet's 5-7-5 pass rate over `--prompts` haiku. Prints JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


@dataclass(frozen=True)
class Config:
    """One way of running the chain."""

    name: str
    dtype: str
    tiny_vae: bool
    compile: bool = False


BASELINE = Config("diffusers-default", dtype="float32", tiny_vae=False)
KAVI = Config("kavi", dtype="auto", tiny_vae=True)
KAVI_COMPILED = Config("kavi+compile", dtype="auto", tiny_vae=True, compile=True)


def build_full_sd(folder: Path) -> Path:
    """Save a random-weight pipeline with SD-Turbo's shapes (SD 2.1: UNet, VAE, text encoder)."""
    import torch
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from tests.generators.neural.tiny_models import clip_tokenizer, turbo_scheduler

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=1024,
        attention_head_dim=(5, 10, 20, 20),
        use_linear_projection=True,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=768,
        scaling_factor=0.18215,
    )
    tokenizer = clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=1024,
            intermediate_size=4096,
            num_hidden_layers=23,
            num_attention_heads=16,
            max_position_embeddings=77,
            hidden_act="gelu",
            projection_dim=1024,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=turbo_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    ).save_pretrained(folder)
    return folder


def build_full_models(folder: Path) -> None:
    """Save SD-Turbo-size (SD 2.1 shapes), TAESD-size and SmolLM2-360M-size random models."""
    from diffusers import AutoencoderTiny
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.generators.neural.tiny_models import byte_level_tokenizer

    build_full_sd(folder / "sd")
    AutoencoderTiny().save_pretrained(folder / "taesd")
    lm_tokenizer = byte_level_tokenizer(chat_template=True)
    lm = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=49152,
            hidden_size=960,
            intermediate_size=2560,
            num_hidden_layers=32,
            num_attention_heads=15,
            num_key_value_heads=5,
            max_position_embeddings=8192,
            rope_theta=100000.0,
            tie_word_embeddings=True,
            bos_token_id=lm_tokenizer.bos_token_id,
            eos_token_id=lm_tokenizer.eos_token_id,
            pad_token_id=lm_tokenizer.pad_token_id,
        )
    )
    lm_tokenizer.save_pretrained(folder / "lm")
    lm.save_pretrained(folder / "lm")


def build_tiny_models(folder: Path) -> None:
    """Save the tests' tiny random models."""
    from tests.generators.neural.tiny_models import build_tiny_lm, build_tiny_sd, build_tiny_taesd

    build_tiny_sd(folder / "sd")
    build_tiny_taesd(folder / "taesd")
    build_tiny_lm(folder / "lm", chat_template=True)


class ModuleTimer:
    """Forward hooks that add up the wall time spent in named modules (text encoder, UNet, VAE)."""

    def __init__(self, modules: dict[str, Any]) -> None:
        self.seconds: dict[str, float] = {name: 0.0 for name in modules}
        self.calls: dict[str, int] = {name: 0 for name in modules}
        self._started: dict[str, float] = {}
        self._handles = []
        for name, module in modules.items():
            if module is None:
                continue
            self._handles.append(module.register_forward_pre_hook(self._pre(name)))
            self._handles.append(module.register_forward_hook(self._post(name)))

    def _pre(self, name: str) -> Any:
        def hook(module: Any, args: Any) -> None:
            self._started[name] = time.perf_counter()

        return hook

    def _post(self, name: str) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            self.seconds[name] += time.perf_counter() - self._started.pop(name)
            self.calls[name] += 1

        return hook

    def reset(self) -> None:
        self.seconds = {name: 0.0 for name in self.seconds}
        self.calls = {name: 0 for name in self.calls}


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: the latter survives execve, so a worker would report
    # the peak of the parent that built the models.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pipeline_modules(pipe: Any) -> dict[str, Any]:
    return {
        "text_encoder": pipe.text_encoder,
        "unet": pipe.unet,
        "vae_encoder": getattr(pipe.vae, "encoder", None),
        "vae_decoder": pipe.vae.decoder,
    }


def _engines(stage: str, config: Config, models: Path, steps: int, tokens: int) -> Any:
    """Load one stage under one configuration; returns a function that runs it once at a size."""
    import torch

    tiny_vae = str(models / "taesd") if config.tiny_vae else None
    if stage == "poem":
        from generators.poem.llm import LLMPoemWriter, LLMPoemWriterOptions, build_prompt

        options = LLMPoemWriterOptions(str(models / "lm"), device="cpu", dtype=config.dtype)
        loaded = LLMPoemWriter(options).load()
        prompt = build_prompt(loaded.tokenizer, seed=1)

        def generate(side: int) -> None:
            with torch.inference_mode():
                loaded.model.generate(
                    **prompt,
                    do_sample=True,
                    max_new_tokens=tokens,
                    min_new_tokens=tokens,
                    pad_token_id=loaded.tokenizer.pad_token_id,
                )

        return generate, None
    from PIL import Image

    from generators.errors import GenerationError
    from generators.image.diffusion import DiffusionPainter, DiffusionPainterOptions
    from generators.mood.diffusion import DiffusionStylist, DiffusionStylistOptions
    from generators.mood.moods import get_mood
    from generators.poem.base import Poem

    common = dict(
        device="cpu",
        dtype=config.dtype,
        tiny_vae=tiny_vae,
        compile=config.compile,
        steps=steps,
        max_attempts=1,
    )
    poem = Poem(
        ("the old moon rises", "a heron stands in the stream", "cold wind on the reeds"),
        engine="bench",
    )
    if stage == "image":
        painter = DiffusionPainter(DiffusionPainterOptions(str(models / "sd"), **common))  # type: ignore[arg-type]
        engine: Any = painter

        def work(side: int) -> None:
            painter.paint(poem, size=side, seed=1)
    else:
        stylist = DiffusionStylist(DiffusionStylistOptions(str(models / "sd"), **common))  # type: ignore[arg-type]
        engine = stylist
        mood = get_mood("sadness")

        def work(side: int) -> None:
            picture = Image.linear_gradient("L").resize((side, side)).convert("RGB")
            stylist.stylize(picture, mood, seed=1)

    def run(side: int) -> None:
        # Random weights may paint a flat image (refused); the timing still stands.
        with contextlib.suppress(GenerationError):
            work(side)

    return run, engine.pipeline()


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


def compare_stage(
    stage: str,
    configs: list[Config],
    models: Path,
    *,
    size: int,
    warmup_size: int,
    steps: int,
    tokens: int,
    repeats: int,
) -> dict[str, Any]:
    """Every configuration of one stage loaded in this process, then timed interleaved.

    Each repeat runs every configuration once, the order turned by one each repeat, so drift
    in the machine's load falls on all of them alike; the ratios are taken repeat by repeat.
    """
    from generators.torch_runtime import dtype_name, resolve_dtype

    loaded: dict[str, Any] = {}
    rows: dict[str, dict[str, Any]] = {}
    for config in configs:
        before = _rss_mb()
        started = time.perf_counter()
        run, pipe = _engines(stage, config, models, steps, tokens)
        load_s = time.perf_counter() - started
        timer = ModuleTimer(_pipeline_modules(pipe)) if pipe is not None else None
        run(warmup_size)  # warm-up (and, with compile, the compilation)
        loaded[config.name] = (run, timer)
        rows[config.name] = {
            "dtype": dtype_name(resolve_dtype(config.dtype, "cpu")),
            "tiny_vae": config.tiny_vae,
            "compile": config.compile,
            "load_s": round(load_s, 3),
            "rss_added_by_load_mb": round(_rss_mb() - before, 1),
            "run_s": [],
            "modules_s": {},
        }
    for repeat in range(repeats):
        order = configs[repeat % len(configs) :] + configs[: repeat % len(configs)]
        for config in order:
            run, timer = loaded[config.name]
            if timer is not None:
                timer.reset()
            started = time.perf_counter()
            run(size)
            rows[config.name]["run_s"].append(time.perf_counter() - started)
            if timer is not None:
                for name, seconds in timer.seconds.items():
                    if timer.calls[name]:
                        rows[config.name]["modules_s"].setdefault(name, []).append(seconds)
    result: dict[str, Any] = {"stage": stage, "size": size, "repeats": repeats, "configs": {}}
    for name, row in rows.items():
        times = row.pop("run_s")
        modules = row.pop("modules_s")
        result["configs"][name] = {
            **row,
            "run_s": _spread(times),
            "modules_median_s": {k: round(statistics.median(v), 4) for k, v in modules.items()},
        }
        if stage == "poem":
            result["configs"][name]["tokens_per_s_median"] = round(
                tokens / statistics.median(times), 2
            )
        row["times"] = times
    base = rows[configs[0].name]["times"]
    for config in configs[1:]:
        ratios = [b / k for b, k in zip(base, rows[config.name]["times"], strict=True)]
        result["configs"][config.name][f"speedup_vs_{configs[0].name}"] = _spread(ratios)
    return result


def main(argv: list[str] | None = None) -> int:
    """Build the models, compare the configurations stage by stage, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tiny", action="store_true", help="tiny random models (default)")
    which.add_argument("--full", action="store_true", help="full-size random-weight architectures")
    parser.add_argument("--size", type=int, help="image side in px (tiny: 64, full: 512)")
    parser.add_argument("--steps", type=int, default=1, help="denoising steps (SD-Turbo: 1-4)")
    parser.add_argument("--tokens", type=int, default=32, help="new tokens the LM generates")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per stage")
    parser.add_argument("--prompts", type=int, default=5, help="haiku asked of the poet")
    parser.add_argument("--stages", default="poem,image,mood", help="comma list of stages")
    parser.add_argument("--compile", action="store_true", help="also time Kavi with torch.compile")
    parser.add_argument("--models-dir", type=Path, help="reuse (or keep) the built models here")
    args = parser.parse_args(argv)
    full = bool(args.full)
    size = args.size or (512 if full else 64)
    if size < 8:
        parser.error(f"--size must be at least 8, got {size}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    configs = [BASELINE, KAVI] + ([KAVI_COMPILED] if args.compile else [])
    with tempfile.TemporaryDirectory(prefix="kavi-bench-") as scratch:
        models = args.models_dir or Path(scratch)
        started = time.perf_counter()
        if not (models / "sd" / "model_index.json").is_file():
            (build_full_models if full else build_tiny_models)(models)
        build_s = time.perf_counter() - started
        stages = []
        poet = None
        for stage in [s.strip() for s in args.stages.split(",") if s.strip()]:
            stages.append(
                compare_stage(
                    stage,
                    configs,
                    models,
                    size=size,
                    warmup_size=min(size, 256) if full else size,
                    steps=args.steps,
                    tokens=args.tokens,
                    repeats=args.repeats,
                )
            )
            print(json.dumps(stages[-1]), file=sys.stderr, flush=True)
            if stage == "poem" and args.prompts:
                from bench_poet import measure

                poet = measure(
                    str(models / "lm"),
                    prompts=args.prompts,
                    max_attempts=3,
                    device="cpu",
                    dtype="auto",
                )
                poet["note"] = "random weights: the pass rate says nothing about a real model"
    print(
        json.dumps(
            {
                "models": "full-size random weights" if full else "tiny random",
                "size": size,
                "steps": args.steps,
                "build_s": round(build_s, 1),
                "cpu_count": os.cpu_count(),
                "peak_rss_mb": round(_peak_rss_mb(), 1),
                "stages": stages,
                "poet": poet,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
