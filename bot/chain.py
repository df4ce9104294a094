"""The chain: poem -> painting -> mood stylization -> Artwork, with engines chosen by name."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bot.captions import build_alt_text, build_caption
from core.artwork import Artwork
from core.errors import ConfigError
from generators.catalog import EngineSpec, Stage, engines, get_engine_spec
from generators.errors import GenerationError
from generators.image.quality import image_problem
from generators.models import OptionError, weights_on_disk
from generators.mood.emotions import draw_mood_for_poem
from generators.mood.moods import draw_mood, get_mood

if TYPE_CHECKING:
    from PIL.Image import Image

    from bot.settings import Settings
    from generators.image.base import Painting
    from generators.poem.base import Poem

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
    "lettering": "lettering",
    "resolution": "image_render_size",
    "style": "style_name",
    "lora": "lora_source",
    "lora_scale": "lora_scale",
    "descriptor": "style_descriptor",
}
# Engines whose model is not the stage's model setting: the gan painter's "model" is the
# trained style's folder (DATA_DIR/styles/STYLE_NAME).
_ENGINE_MODEL_SETTINGS: dict[str, str] = {"gan": "style_model"}
_ENGINE_SETTINGS: dict[Stage, str] = {
    "poem": "poem_engine",
    "image": "image_engine",
    "mood": "style_engine",
}


def _setting_for(stage: Stage, settings: Settings) -> tuple[str, str, str]:
    model, why = configured_model(stage, settings)
    return getattr(settings, _ENGINE_SETTINGS[stage]), model, why


def configured_model(stage: Stage, settings: Settings) -> tuple[str, str]:
    """The model a stage's setting names (`auto`: the one picked for this host), and why."""
    model = str(getattr(settings, _MODEL_SETTINGS[stage]))
    if model.strip().lower() != "auto":
        return model, ""
    from generators.models import auto_models, pick_auto_model
    from generators.torch_runtime import gpu_memory_gib

    kind: Literal["llm", "diffusion"] = "llm" if stage == "poem" else "diffusion"
    return pick_auto_model(auto_models(kind, gpu_memory_gib(settings.torch_device)), kind=kind)


def _model_setting(spec: EngineSpec) -> str:
    return _ENGINE_MODEL_SETTINGS.get(spec.name, _MODEL_SETTINGS[spec.stage])


def missing_neural_packages() -> list[str]:
    return [name for name in NEURAL_PACKAGES if importlib.util.find_spec(name) is None]


def resolve_engine(stage: Stage, settings: Settings) -> EngineChoice:
    """Resolve `auto` (or check a named engine) without loading or downloading anything."""
    requested, model, picked = _setting_for(stage, settings)
    if requested != "auto":
        spec = get_engine_spec(stage, requested)
        if spec.neural:
            missing = missing_neural_packages()
            if missing:
                raise ConfigError(
                    f"{_ENGINE_SETTINGS[stage].upper()}={requested} needs the "
                    f"neural extra ({', '.join(missing)} missing): pip install 'kavi[neural]'"
                )
        if spec.name in _ENGINE_MODEL_SETTINGS:
            model, picked = getattr(settings, _model_setting(spec)), ""
        reason = f"chosen in settings; {picked}" if picked and spec.neural else "chosen in settings"
        return EngineChoice(stage, spec.name, model if spec.neural else None, spec.neural, reason)
    offline = _offline_engine(stage, settings)
    neural = [s for s in engines(stage) if s.neural]
    reason = "no neural engine registered"
    for spec in neural:
        missing = missing_neural_packages()
        if missing:
            reason = f"the neural extra is not installed ({', '.join(missing)} missing)"
            break
        own_model = spec.name in _ENGINE_MODEL_SETTINGS
        spec_model = getattr(settings, _model_setting(spec)) if own_model else model
        if own_model and not spec_model:
            continue  # not configured (no STYLE_NAME): `auto` has nothing to weigh
        available, why = (
            spec.weights_available(spec_model) if spec.weights_available else (False, "")
        )
        # `why` already names the model or its folder.
        if available:
            note = f" ({picked})" if picked and not own_model else ""
            return EngineChoice(stage, spec.name, spec_model, True, f"auto: {why}{note}")
        reason = why or f"no weights for {spec_model}"
    return EngineChoice(stage, offline.name, None, False, f"auto: offline engine, because {reason}")


def _offline_engine(stage: Stage, settings: Settings) -> EngineSpec:
    """The offline engine `auto` falls back to: a stylist made for the chosen painter, else
    the stage's default (the ink hand)."""
    offline = [s for s in engines(stage) if not s.neural]
    if stage == "mood":
        painter = resolve_engine("image", settings).name
        paired = [s for s in offline if s.pairs_with == painter]
        if paired:
            return paired[0]
    return offline[0]


def emotion_classifier(settings: Settings) -> tuple[str | None, str]:
    """The GoEmotions classifier to read poems with, when it is on disk with the neural extra
    (else None: the NRC lexicon), and why; never downloads."""
    model = settings.emotion_model.strip()
    if not model or model.lower() == "none":
        return None, "the NRC lexicon (EMOTION_MODEL=none)"
    missing = missing_neural_packages()
    if missing:
        return None, f"the NRC lexicon (the neural extra is not installed: {', '.join(missing)})"
    available, why = weights_on_disk(model, kind="classifier")
    if not available:
        return None, f"the NRC lexicon ({why})"
    return model, f"the classifier {model} ({why})"


def resolve_engines(settings: Settings) -> dict[Stage, EngineChoice]:
    return {stage: resolve_engine(stage, settings) for stage in ("poem", "image", "mood")}


def engine_options(spec: EngineSpec, settings: Settings, *, model: str | None = None) -> Any:
    """The engine's typed options, filled from settings and validated; errors name the variable.

    `model`, when given, is the model the stage resolved (`POEM_MODEL=auto` picked it).
    """
    sources = {**_OPTION_SETTINGS, "model": _model_setting(spec)}
    wanted = [f.name for f in dataclasses.fields(spec.options) if f.name in sources]
    values = {name: getattr(settings, sources[name]) for name in wanted}
    if model is not None and "model" in values:
        values["model"] = model
    try:
        return spec.options(**values)
    except OptionError as exc:
        variable = sources.get(exc.option)
        # Properties derived from a setting are reported as the setting the user wrote.
        variable = {"lora_source": "lora"}.get(variable or "", variable)
        # Defaults are valid, so a bad option comes from a setting; still, never hide one.
        problem = f"{variable.upper()}: {exc.problem}" if variable else f"{spec.name}: {exc}"
        raise ConfigError(f"invalid configuration: {problem}") from None


def runtime_problem(settings: Settings) -> str | None:
    """A GPU that was asked for and is missing, in one line (None when fine or not asked)."""
    from generators.torch_runtime import gpu_problem

    return gpu_problem(settings.torch_device, expect_gpu=settings.expect_gpu)


_REPORTED: set[str] = set()


def check_runtime(settings: Settings, choices: dict[Stage, EngineChoice]) -> None:
    """At start: say loudly that an asked-for GPU is missing; refuse TORCH_COMPILE without gcc."""
    problem = runtime_problem(settings)
    if problem and problem not in _REPORTED:
        # Not fatal: the offline engines and a slow CPU still make the day's post. Said once
        # per process: `serve` checks before its scheduler, the warm-up's chain again.
        _REPORTED.add(problem)
        log.error("no GPU: %s", problem)
    if settings.torch_compile and any(c.neural and c.stage != "poem" for c in choices.values()):
        from generators.torch_runtime import compile_problem

        reason = compile_problem()
        if reason:
            raise ConfigError(f"invalid configuration: {reason}")


def lora_unused(settings: Settings, choices: dict[Stage, EngineChoice]) -> str | None:
    """Why LORA is set but nothing will use it (no stage runs the diffusion model), or None."""
    if not settings.lora.strip():
        return None
    if any(choices[stage].name == "diffusion" for stage in ("image", "mood")):
        return None
    image = choices["image"]
    return (
        f"LORA={settings.lora} is set but no stage uses the diffusion model (image: "
        f"{image.name}, {image.reason}): the LoRA is not applied"
    )


class Chain:
    """Runs the three stages; engines are built once and kept warm for later runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.choices = resolve_engines(settings)
        for choice in self.choices.values():
            log.info("stage %s uses engine %s (%s)", choice.stage, choice.name, choice.reason)
        check_runtime(settings, self.choices)
        # Options are checked now, so a bad value stops the start, not the first post.
        self.specs = {stage: get_engine_spec(stage, c.name) for stage, c in self.choices.items()}
        self.options = {
            stage: engine_options(s, settings, model=self.choices[stage].model)
            for stage, s in self.specs.items()
        }
        unused = lora_unused(settings, self.choices)
        if unused:
            log.warning("%s", unused)
        self._engines: dict[Stage, Any] = {}
        self.emotion_model: str | None = None
        if settings.mood_from_poem:
            self.emotion_model, why = emotion_classifier(settings)
            log.info("the poem's emotions come from %s", why)

    def engine(self, stage: Stage) -> Any:
        """The stage's engine, built on first use and kept warm."""
        if stage not in self._engines:
            self._engines[stage] = self.specs[stage].build(self.options[stage])
        return self._engines[stage]

    def runtime(self) -> tuple[str | None, str | None]:
        """The device and precision the neural engines run in, resolved as they resolve them."""
        if not any(choice.neural for choice in self.choices.values()):
            return None, None
        from generators.torch_runtime import dtype_name, resolve_device, resolve_dtype

        device = resolve_device(self.settings.torch_device)
        return device, dtype_name(resolve_dtype(self.settings.torch_dtype, device))

    def _notes(self, poem: Poem, painting: Painting) -> dict[str, str]:
        notes: dict[str, str] = {c.stage: f"{c.name}: {c.reason}" for c in self.choices.values()}
        if poem.fallback:
            notes["poem_fallback"] = poem.fallback
        rendered = painting.rendered_size
        if rendered is not None and rendered != self.settings.image_size:
            # Never enlarge silently: a 512-px render shown at 1024 px is softer than it looks.
            notes["image_render"] = (
                f"rendered at {rendered} px, resized to {self.settings.image_size} px (Lanczos)"
            )
        return notes

    def run(
        self, *, seed: int, mood: str | None = None, mood_lean: dict[str, float] | None = None
    ) -> ChainResult:
        """Write, paint and recolour one artwork, reproducibly for `seed`.

        `mood_lean` multiplies the poem's mood weights (the audience's taste, bot/taste.py).
        """
        if seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer, got {seed}")
        settings = self.settings
        timings: dict[str, float] = {}

        start = time.perf_counter()
        poem = self.engine("poem").write(seed=seed)
        timings["poem_s"] = round(time.perf_counter() - start, 4)
        curation: dict[str, object] = {}
        if mood:
            chosen_mood = get_mood(mood)
            curation["mood_from"] = "chosen"
        elif settings.mood_from_poem:
            drawn_mood = draw_mood_for_poem(
                poem.text,
                seed,
                settings.enabled_moods,
                lean=mood_lean,
                classifier=self.emotion_model,
            )
            chosen_mood = drawn_mood.mood
            curation.update(mood_from="poem", **drawn_mood.record())
        else:
            chosen_mood = draw_mood(seed, settings.enabled_moods)
            curation["mood_from"] = "even draw"

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
            engine_notes=self._notes(poem, painting),
            poem_fallback=poem.fallback is not None,
            scene=painting.record(),
            curation=curation,
        )
        artwork.device, artwork.precision = self.runtime()
        return ChainResult(artwork=artwork, image=styled.image, painting=painting.image)
