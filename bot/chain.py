"""The chain: poem -> painting -> mood stylization -> Artwork, with engines chosen by name."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.captions import build_alt_text, build_caption
from core.artwork import Artwork
from core.errors import ConfigError
from generators.catalog import EngineSpec, Stage, engines, get_engine_spec
from generators.errors import GenerationError
from generators.image.quality import image_problem
from generators.models import OptionError
from generators.mood.moods import draw_mood, get_mood

if TYPE_CHECKING:
    from PIL.Image import Image

    from bot.settings import Settings

log = logging.getLogger(__name__)

NEURAL_PACKAGES = ("torch", "transformers", "diffusers")


@dataclass(frozen=True)
class EngineChoice:
    """Which engine a stage will use, with which model, and why."""

    stage: Stage
    name: str
    model: str | None
    neural: bool
    reason: str


@dataclass
class ChainResult:
    """What one run of the chain made: the artwork value and its two images."""

    artwork: Artwork
    image: Image
    painting: Image


# The setting (environment variable) that feeds each engine option of that name; an option
# not listed keeps the engine's default. The stylist repaints with the image model.
_MODEL_SETTINGS: dict[Stage, str] = {
    "poem": "poem_model",
    "image": "image_model",
    "mood": "image_model",
}
_OPTION_SETTINGS: dict[str, str] = {
    "device": "torch_device",
    "dtype": "torch_dtype",
    "steps": "image_steps",
    "tiny_vae": "tiny_vae",
    "compile": "torch_compile",
    "strength": "style_strength",
    "fallback": "poem_fallback",
    "style": "style_name",
}
# Engines whose model is not the stage's model setting: the gan painter's "model" is the
# trained style's folder (DATA_DIR/styles/STYLE_NAME).
_ENGINE_MODEL_SETTINGS: dict[str, str] = {"gan": "style_model"}
_ENGINE_SETTINGS: dict[Stage, str] = {
    "poem": "poem_engine",
    "image": "image_engine",
    "mood": "style_engine",
}


def _setting_for(stage: Stage, settings: Settings) -> tuple[str, str]:
    return getattr(settings, _ENGINE_SETTINGS[stage]), getattr(settings, _MODEL_SETTINGS[stage])


def _model_setting(spec: EngineSpec) -> str:
    return _ENGINE_MODEL_SETTINGS.get(spec.name, _MODEL_SETTINGS[spec.stage])


def missing_neural_packages() -> list[str]:
    return [name for name in NEURAL_PACKAGES if importlib.util.find_spec(name) is None]


def resolve_engine(stage: Stage, settings: Settings) -> EngineChoice:
    """Resolve `auto` (or check a named engine) without loading or downloading anything."""
    requested, model = _setting_for(stage, settings)
    if requested != "auto":
        spec = get_engine_spec(stage, requested)
        if spec.neural:
            missing = missing_neural_packages()
            if missing:
                raise ConfigError(
                    f"{_ENGINE_SETTINGS[stage].upper()}={requested} needs the "
                    f"neural extra ({', '.join(missing)} missing): pip install 'kavi[neural]'"
                )
        model = getattr(settings, _model_setting(spec))
        return EngineChoice(
            stage, spec.name, model if spec.neural else None, spec.neural, "chosen in settings"
        )
    offline = next(s for s in engines(stage) if not s.neural)
    neural = [s for s in engines(stage) if s.neural]
    reason = "no neural engine registered"
    for spec in neural:
        missing = missing_neural_packages()
        if missing:
            reason = f"the neural extra is not installed ({', '.join(missing)} missing)"
            break
        spec_model = getattr(settings, _model_setting(spec))
        if spec.name in _ENGINE_MODEL_SETTINGS and not spec_model:
            continue  # not configured (no STYLE_NAME): `auto` has nothing to weigh
        available, why = (
            spec.weights_available(spec_model) if spec.weights_available else (False, "")
        )
        # `why` already names the model or its folder.
        if available:
            return EngineChoice(stage, spec.name, spec_model, True, f"auto: {why}")
        reason = why or f"no weights for {model}"
    return EngineChoice(stage, offline.name, None, False, f"auto: offline engine, because {reason}")


def resolve_engines(settings: Settings) -> dict[Stage, EngineChoice]:
    return {stage: resolve_engine(stage, settings) for stage in ("poem", "image", "mood")}


def engine_options(spec: EngineSpec, settings: Settings) -> Any:
    """The engine's typed options, filled from settings and validated; errors name the variable."""
    sources = {**_OPTION_SETTINGS, "model": _model_setting(spec)}
    wanted = [f.name for f in dataclasses.fields(spec.options) if f.name in sources]
    try:
        return spec.options(**{name: getattr(settings, sources[name]) for name in wanted})
    except OptionError as exc:
        variable = sources.get(exc.option)
        # Defaults are valid, so a bad option comes from a setting; still, never hide one.
        problem = f"{variable.upper()}: {exc.problem}" if variable else f"{spec.name}: {exc}"
        raise ConfigError(f"invalid configuration: {problem}") from None


class Chain:
    """Runs the three stages; engines are built once and kept warm for later runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.choices = resolve_engines(settings)
        for choice in self.choices.values():
            log.info("stage %s uses engine %s (%s)", choice.stage, choice.name, choice.reason)
        # Options are checked now, so a bad value stops the start, not the first post.
        self.specs = {stage: get_engine_spec(stage, c.name) for stage, c in self.choices.items()}
        self.options = {stage: engine_options(s, settings) for stage, s in self.specs.items()}
        self._engines: dict[Stage, Any] = {}

    def engine(self, stage: Stage) -> Any:
        """The stage's engine, built on first use and kept warm."""
        if stage not in self._engines:
            self._engines[stage] = self.specs[stage].build(self.options[stage])
        return self._engines[stage]

    def run(self, *, seed: int, mood: str | None = None) -> ChainResult:
        """Write, paint and recolour one artwork, reproducibly for `seed`."""
        if seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer, got {seed}")
        settings = self.settings
        chosen_mood = get_mood(mood) if mood else draw_mood(seed, settings.enabled_moods)
        timings: dict[str, float] = {}

        start = time.perf_counter()
        poem = self.engine("poem").write(seed=seed)
        timings["poem_s"] = round(time.perf_counter() - start, 4)

        start = time.perf_counter()
        painting = self.engine("image").paint(poem, size=settings.image_size, seed=seed)
        timings["image_s"] = round(time.perf_counter() - start, 4)

        start = time.perf_counter()
        styled = self.engine("mood").stylize(
            painting.image, chosen_mood, seed=seed, style_dir=settings.style_dir
        )
        timings["mood_s"] = round(time.perf_counter() - start, 4)

        problem = image_problem(styled.image)
        if problem:
            raise GenerationError(f"the finished artwork is unusable: {problem}")

        caption = build_caption(
            poem.lines,
            chosen_mood.phrase,
            hashtags=settings.hashtag_list,
            signature=settings.signature,
        )
        artwork = Artwork(
            seed=seed,
            poem=poem.text,
            season=poem.season,
            poem_engine=poem.engine,
            poem_model=poem.model,
            prompt=styled.prompt and f"{painting.prompt} | {styled.prompt}" or painting.prompt,
            description=painting.description,
            image_engine=painting.engine,
            image_model=painting.model,
            mood=chosen_mood.name,
            style_engine=styled.engine,
            style_model=styled.model,
            style_reference=str(styled.style_reference) if styled.style_reference else None,
            caption=caption,
            alt_text=build_alt_text(painting.description, poem.lines, chosen_mood.phrase),
            timings=timings,
            engine_notes={c.stage: f"{c.name}: {c.reason}" for c in self.choices.values()},
        )
        return ChainResult(artwork=artwork, image=styled.image, painting=painting.image)
