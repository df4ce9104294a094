"""How often the llm poet's haiku pass the strict 5-7-5 check: first try, and within its retries.

    python bench/bench_poet.py --model HuggingFaceTB/SmolLM2-360M-Instruct --prompts 100
    python bench/bench_poet.py --model /models/qwen --prompts 100 --device cuda
    python bench/bench_poet.py --tiny --prompts 5     # a tiny random LM: checks the script only

The model is loaded from disk (a folder or the Hugging Face cache; nothing is downloaded).
Each prompt is one seed: the writer runs with its retries (each told what was wrong) and no
grammar fallback. Prints JSON: pass rates, attempts per poem, seconds per attempt, and the
most common problems. A tiny random model never writes 5-7-5: its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _kind(problem: str) -> str:
    """ "line 2 has 8 syllables, needs 7" -> "line 2 syllables"; anything else: the line count."""
    if problem.startswith("line "):
        return f"{problem.split(' has ')[0]} syllables"
    return "not three lines"


def measure(
    model: str, *, prompts: int, max_attempts: int, device: str, dtype: str
) -> dict[str, Any]:
    """Write `prompts` haiku (seeds 0..prompts-1) and count how each went."""
    from generators.errors import GenerationError
    from generators.poem.llm import LLMPoemWriter, LLMPoemWriterOptions
    from generators.torch_runtime import dtype_name, resolve_device, resolve_dtype

    writer = LLMPoemWriter(
        LLMPoemWriterOptions(
            model, device=device, dtype=dtype, max_attempts=max_attempts, fallback=False
        )
    )
    started = time.perf_counter()
    loaded = writer.load()
    load_s = time.perf_counter() - started
    generate = writer._generate
    calls: list[float] = []

    def timed(loaded_lm: Any, prompt: dict[str, Any]) -> str:
        begun = time.perf_counter()
        reply = generate(loaded_lm, prompt)
        calls.append(time.perf_counter() - begun)
        return reply

    writer._generate = timed  # type: ignore[method-assign]
    attempts: list[int] = []
    passed_first = passed = 0
    problems: Counter[str] = Counter()
    examples: list[str] = []
    for seed in range(prompts):
        before = len(calls)
        try:
            poem = writer.write(seed=seed)
        except GenerationError as exc:
            # "... (last: line 2 has 8 syllables, needs 7; ...)": count the kind of problem.
            last = str(exc).rpartition("(last: ")[2].removesuffix(")")
            problems.update(_kind(problem) for problem in last.split("; "))
        else:
            passed += 1
            passed_first += len(calls) - before == 1
            if len(examples) < 3:
                examples.append(" / ".join(poem.lines))
        attempts.append(len(calls) - before)
    resolved = resolve_device(device)
    return {
        "model": model,
        "device": str(loaded.device),
        "dtype": dtype_name(resolve_dtype(dtype, resolved)),
        "prompts": prompts,
        "max_attempts": max_attempts,
        "first_try_pass_rate": round(passed_first / prompts, 3),
        "pass_rate_within_retries": round(passed / prompts, 3),
        "fallback_rate": round(1 - passed / prompts, 3),
        "attempts_per_poem": {
            "mean": round(statistics.fmean(attempts), 2),
            "max": max(attempts),
        },
        "attempt_s": {
            "min": round(min(calls), 3),
            "median": round(statistics.median(calls), 3),
            "max": round(max(calls), 3),
        },
        "load_s": round(load_s, 2),
        "common_problems": problems.most_common(5),
        "examples": examples,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="Hugging Face id (already pulled) or local folder")
    which.add_argument("--tiny", action="store_true", help="a tiny random LM (script check only)")
    parser.add_argument("--prompts", type=int, default=100, help="how many haiku to ask for")
    parser.add_argument("--max-attempts", type=int, default=6, help="the writer's retries")
    parser.add_argument("--device", default="auto", help="auto, cuda, cpu or mps")
    parser.add_argument("--dtype", default="auto", help="auto, float32, bfloat16 or float16")
    args = parser.parse_args(argv)
    if args.prompts < 1:
        parser.error(f"--prompts must be at least 1, got {args.prompts}")
    with tempfile.TemporaryDirectory(prefix="kavi-bench-poet-") as scratch:
        model = args.model
        if args.tiny:
            from tests.generators.neural.tiny_models import build_tiny_lm

            model = str(build_tiny_lm(Path(scratch) / "lm", chat_template=True))
        result = measure(
            model,
            prompts=args.prompts,
            max_attempts=args.max_attempts,
            device=args.device,
            dtype=args.dtype,
        )
    if args.tiny:
        result["note"] = "tiny random model: the pass rate says nothing about a real model"
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
