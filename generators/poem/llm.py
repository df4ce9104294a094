"""The `llm` poem writer: a Hugging Face causal LM writes the haiku; only valid 5-7-5 leaves."""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generators.errors import GenerationError
from generators.models import (
    DEFAULT_POEM_MODEL,
    ModelEngine,
    ModelOptions,
    OptionError,
    local_model_path,
)
from generators.poem.base import Poem

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 6
# Room for a short preamble or title before the poem; a reasoning block is cut off anyway.
DEFAULT_MAX_NEW_TOKENS = 64
# SmolLM2-Instruct's model card samples at temperature 0.2, top-p 0.9: short verse wanders
# off the syllable count at higher temperatures, and each retry gets a new prompt anyway.
DEFAULT_TEMPERATURE = 0.2
DEFAULT_TOP_P = 0.9

SYSTEM_PROMPT = (
    "You are Kavi, a haiku poet. You answer with one haiku only: three lines of 5, 7 and 5 "
    "syllables, concrete images from nature, no title, no explanation."
)
_SUBJECTS = (
    "the moon over a river",
    "cherry blossoms in the wind",
    "a heron in the rain",
    "snow on a mountain temple",
    "fireflies over a rice field",
    "autumn maples by a lake",
    "a crow on a bare branch",
    "morning mist on the sea",
    "pines at dusk",
    "a frog in an old pond",
    "stars above a quiet field",
    "a butterfly on a stone",
    "geese crossing the evening sky",
)
_EXAMPLE = "an old silent pond\na frog jumps into the pond\nsplash! silence again"

# Lines a chatty model wraps a poem in, which are not part of it.
_CHATTER = re.compile(
    r"^(here('s| is)|sure|certainly|of course|title|haiku|poem)\b.*[:!.]$|^```", re.IGNORECASE
)
_BULLET = re.compile(r"^(\d+[.):]|[-*\u2022>]|line\s*\d+\s*[:.)-])\s*", re.IGNORECASE)
_COUNT_NOTE = re.compile(r"\s*[(\[]\s*\d+(\s*syllables?)?\s*[)\]]\s*$", re.IGNORECASE)
_QUOTES = "\"'`*_\u201c\u201d\u2018\u2019"


# A reasoning model's thoughts: a closed block, or one the token budget cut off.
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """The reply without `<think>` blocks (also one left open, or opened in the prompt)."""
    if "</think>" in text.lower() and "<think>" not in text.lower():
        # The chat template opened the block in the prompt: the answer follows its end.
        text = re.split(r"</think>", text, flags=re.IGNORECASE)[-1]
    return _THINK.sub("", text)


def candidate_lines(text: str) -> list[str]:
    """Every line of a reply that may belong to the poem: reasoning, chatter, bullets stripped."""
    lines: list[str] = []
    for raw in strip_reasoning(text).replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            # A blank line after three poem lines ends the poem (models add notes below).
            if len(lines) >= 3:
                break
            continue
        if _CHATTER.match(line):
            continue
        line = _BULLET.sub("", line)
        line = _COUNT_NOTE.sub("", line).strip().strip(_QUOTES).strip()
        if line:
            lines.append(re.sub(r"\s+", " ", line))
    if len(lines) == 1 and " / " in lines[0]:
        lines = [part.strip() for part in lines[0].split(" / ") if part.strip()]
    return lines


def clean_poem_text(text: str) -> list[str]:
    """The first three poem lines of a reply, chatter, bullets, quotes and counts stripped."""
    return candidate_lines(text)[:3]


def pick_haiku(lines: list[str]) -> tuple[list[str], list[str]]:
    """The three consecutive lines that make a 5-7-5 haiku (a title or preamble skipped).

    With none, the three closest to 5-7-5 and what is wrong with them (for the retry prompt).
    """
    from generators.poem.syllables import HAIKU_PATTERN, count_line, haiku_problems

    if len(lines) < 3:
        return lines, [f"a haiku has 3 lines, got {len(lines)}"]
    best: tuple[int, list[str], list[str]] | None = None
    for start in range(len(lines) - 2):
        window = lines[start : start + 3]
        problems = haiku_problems(window)
        if not problems:
            return window, []
        distance = sum(
            abs(count_line(line) - needed)
            for line, needed in zip(window, HAIKU_PATTERN, strict=True)
        )
        if best is None or distance < best[0]:
            best = (distance, window, problems)
    assert best is not None
    return best[1], best[2]


@dataclass(frozen=True)
class LoadedLM:
    """A tokenizer and causal LM loaded together, and the device they sit on."""

    tokenizer: Any
    model: Any
    device: str


_MODELS: dict[tuple[str, str, str], LoadedLM] = {}
_MODELS_LOCK = threading.Lock()


def _load(model: str, device: str, dtype_name: str) -> LoadedLM:
    """Load tokenizer and model once per process (keyed by folder, device, dtype)."""
    folder = local_model_path(model, kind="llm")
    key = (str(folder), device, dtype_name)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        loaded = _load_uncached(folder, device, dtype_name)
        _MODELS[key] = loaded
        return loaded


def _load_uncached(folder: Path, device: str, dtype_name: str) -> LoadedLM:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("loading poem model from %s on %s (%s)", folder, device, dtype_name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        lm: Any = AutoModelForCausalLM.from_pretrained(
            folder,
            dtype=getattr(torch, dtype_name),
            attn_implementation="sdpa",
            local_files_only=True,
        )
    except (OSError, ValueError) as exc:
        raise GenerationError(f"could not load the poem model from {folder}: {exc}") from exc
    lm.to(device)
    lm.eval()
    return LoadedLM(tokenizer=tokenizer, model=lm, device=device)


def clear_model_cache() -> None:
    """Forget the loaded language models (tests and benchmarks; the service keeps them resident)."""
    with _MODELS_LOCK:
        _MODELS.clear()


@dataclass(frozen=True)
class LLMPoemWriterOptions(ModelOptions):
    """The llm writer's options: the language model, its sampling, and what to do on failure."""

    model: str = DEFAULT_POEM_MODEL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    # After max_attempts invalid haiku, write one with the grammar writer instead of failing.
    fallback: bool = False
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_attempts < 1:
            raise OptionError("max_attempts", f"must be at least 1, got {self.max_attempts}")
        if self.max_new_tokens < 8:
            raise OptionError("max_new_tokens", f"must be at least 8, got {self.max_new_tokens}")
        if not 0.0 < self.temperature <= 5.0:
            raise OptionError("temperature", f"must be in (0, 5], got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise OptionError("top_p", f"must be in (0, 1], got {self.top_p}")


class LLMPoemWriter(ModelEngine[LLMPoemWriterOptions]):
    """Writes a haiku with a causal LM, retrying with fresh seeds until the counter says 5-7-5."""

    name = "llm"

    def load(self) -> LoadedLM:
        """The resident tokenizer and model this writer uses, loaded (offline) on first call."""
        from generators.torch_runtime import dtype_name, resolve_device, resolve_dtype

        device = resolve_device(self.options.device)
        return _load(self.model, device, dtype_name(resolve_dtype(self.options.dtype, device)))

    def write(self, *, seed: int) -> Poem:
        """Write a validated haiku; else GenerationError (or the grammar writer, if allowed)."""
        from generators.torch_runtime import seed_everything

        loaded = self.load()
        retry: Retry | None = None
        last_problem = "no attempt made"
        for attempt in range(self.options.max_attempts):
            seed_everything(seed * 1009 + attempt)
            reply = self._generate(loaded, build_prompt(loaded.tokenizer, seed=seed, retry=retry))
            lines, problems = pick_haiku(candidate_lines(reply))
            if not problems:
                return self._poem(tuple(lines))  # type: ignore[arg-type]
            last_problem = "; ".join(problems)
            # The next attempt sees this one and is told what was wrong with it.
            retry = Retry(previous="\n".join(lines) or reply.strip(), problems=tuple(problems))
            log.info(
                "llm attempt %d/%d rejected: %s",
                attempt + 1,
                self.options.max_attempts,
                last_problem,
            )
        message = (
            f"the {self.model} model wrote no valid 5-7-5 haiku in "
            f"{self.options.max_attempts} attempts (last: {last_problem})"
        )
        if self.options.fallback:
            from generators.poem.grammar import GrammarPoemWriter

            log.warning("%s; falling back to the grammar writer", message)
            return dataclasses.replace(GrammarPoemWriter().write(seed=seed), fallback=message)
        raise GenerationError(message)

    def _generate(self, loaded: LoadedLM, prompt: dict[str, Any]) -> str:
        import torch

        tokenizer = loaded.tokenizer
        inputs = {k: v.to(loaded.device) for k, v in prompt.items()}
        pad_id = tokenizer.pad_token_id
        if pad_id is None:
            pad_id = tokenizer.eos_token_id
        with torch.inference_mode():
            output = loaded.model.generate(
                **inputs,
                do_sample=True,
                temperature=self.options.temperature,
                top_p=self.options.top_p,
                max_new_tokens=self.options.max_new_tokens,
                pad_token_id=pad_id,
            )
        new_tokens = output[0, inputs["input_ids"].shape[-1] :]
        return str(tokenizer.decode(new_tokens, skip_special_tokens=True))

    def _poem(self, lines: tuple[str, str, str]) -> Poem:
        from generators.image.scene import scene_from_poem

        draft = Poem(lines=lines, engine=self.name, model=self.model)
        scene = scene_from_poem(draft)
        weather = () if scene.weather == "clear" else (scene.weather,)
        imagery = tuple(
            dict.fromkeys((*scene.celestial, *scene.terrain, *scene.flora, *scene.fauna, *weather))
        )
        return Poem(
            lines=lines, engine=self.name, model=self.model, imagery=imagery, season=scene.season
        )


@dataclass(frozen=True)
class Retry:
    """A rejected attempt and what was wrong with it, shown to the model on the next try."""

    previous: str
    problems: tuple[str, ...]

    def feedback(self) -> str:
        """What to tell the model: which line had how many syllables, and to try again."""
        return (
            f"That is not a 5-7-5 haiku: {'; '.join(self.problems)}. Write it again: exactly "
            "three lines of 5, 7 and 5 syllables, nothing else."
        )


def build_prompt(tokenizer: Any, *, seed: int, retry: Retry | None = None) -> dict[str, Any]:
    """Token ids asking for one haiku: through the chat template if the tokenizer has one."""
    from jinja2 import TemplateError

    subject = random.Random(f"llm-subject:{seed}").choice(_SUBJECTS)
    request = f"Write one haiku about {subject}."
    example_request = "Write one haiku about an old pond."
    if getattr(tokenizer, "chat_template", None):
        tail = [{"role": "user", "content": request}]
        if retry is not None:
            tail += [
                {"role": "assistant", "content": retry.previous},
                {"role": "user", "content": retry.feedback()},
            ]
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": example_request},
            {"role": "assistant", "content": _EXAMPLE},
            *tail,
        ]
        try:
            encoded = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        except TemplateError:
            # Some templates (Gemma's, Mistral's) refuse a system turn: fold it into the first.
            messages = [
                {"role": "user", "content": f"{SYSTEM_PROMPT}\n\n{example_request}"},
                {"role": "assistant", "content": _EXAMPLE},
                *tail,
            ]
            encoded = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
    text = f"{SYSTEM_PROMPT}\n\nHaiku about an old pond:\n{_EXAMPLE}\n\n"
    if retry is not None:
        text += f"Haiku about {subject}:\n{retry.previous}\n\n({retry.feedback()})\n\n"
    text += f"Haiku about {subject}:\n"
    encoded = tokenizer(text, return_tensors="pt")
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
