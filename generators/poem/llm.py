"""The `llm` poem writer: a Hugging Face causal LM writes the haiku; only valid 5-7-5 leaves."""

from __future__ import annotations

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
DEFAULT_MAX_NEW_TOKENS = 48
DEFAULT_TEMPERATURE = 0.8

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


def clean_poem_text(text: str) -> list[str]:
    """The poem lines in a model's reply, chatter, bullets, quotes and counts stripped."""
    lines: list[str] = []
    for raw in text.replace("\r", "\n").split("\n"):
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
    return lines[:3]


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

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_attempts < 1:
            raise OptionError("max_attempts", f"must be at least 1, got {self.max_attempts}")
        if self.max_new_tokens < 8:
            raise OptionError("max_new_tokens", f"must be at least 8, got {self.max_new_tokens}")
        if not 0.0 < self.temperature <= 5.0:
            raise OptionError("temperature", f"must be in (0, 5], got {self.temperature}")


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
        from generators.poem.syllables import haiku_problems
        from generators.torch_runtime import seed_everything

        loaded = self.load()
        prompt = build_prompt(loaded.tokenizer, seed=seed)
        last_problem = "no attempt made"
        for attempt in range(self.options.max_attempts):
            seed_everything(seed * 1009 + attempt)
            reply = self._generate(loaded, prompt)
            lines = clean_poem_text(reply)
            problems = (
                haiku_problems(lines)
                if len(lines) == 3
                else [f"expected 3 lines, got {len(lines)}"]
            )
            if not problems:
                return self._poem(tuple(lines))  # type: ignore[arg-type]
            last_problem = "; ".join(problems)
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
            return GrammarPoemWriter().write(seed=seed)
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
                top_p=0.95,
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


def build_prompt(tokenizer: Any, *, seed: int) -> dict[str, Any]:
    """Token ids asking for one haiku: through the chat template if the tokenizer has one."""
    from jinja2 import TemplateError

    subject = random.Random(f"llm-subject:{seed}").choice(_SUBJECTS)
    request = f"Write one haiku about {subject}."
    example_request = "Write one haiku about an old pond."
    if getattr(tokenizer, "chat_template", None):
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": example_request},
            {"role": "assistant", "content": _EXAMPLE},
            {"role": "user", "content": request},
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
                {"role": "user", "content": request},
            ]
            encoded = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
    text = f"{SYSTEM_PROMPT}\n\nHaiku about an old pond:\n{_EXAMPLE}\n\nHaiku about {subject}:\n"
    encoded = tokenizer(text, return_tensors="pt")
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
