"""A small registry of engines per stage, so settings can choose engines by name.

A leaf: each stage package (`generators.poem`, `.image`, `.mood`) registers its engines here
when it is imported, so whoever chooses engines imports those packages (`bot/chain.py`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import ConfigError

Stage = Literal["poem", "image", "mood"]
STAGES: tuple[Stage, ...] = ("poem", "image", "mood")


class UnknownEngineError(ConfigError):
    """No engine of that name is registered for the stage."""


@dataclass(frozen=True)
class NoOptions:
    """The options type of an engine that has none to set (the offline engines)."""


@dataclass(frozen=True)
class EngineSpec:
    """How to build one engine and what it needs.

    `engine` is "module:Class", imported only when the engine is built so that registering
    stays cheap. `options` is the engine's typed options (a frozen dataclass that validates
    itself); the caller fills it from settings once and `build` hands it to the engine.
    Neural engines have `weights_available(model)`, which says whether the weights are on
    disk and why (a reason that names the model), so `auto` can pick without downloading.
    """

    stage: Stage
    name: str
    engine: str
    options: type = NoOptions
    weights_available: Callable[[str], tuple[bool, str]] | None = None
    description: str = ""
    # The offline engine `auto` falls back to (listed first among the offline engines).
    default_offline: bool = False
    # For a stylist: the painter it is made for, so `auto` pairs them (classic with the
    # procedural landscapes) instead of using the default.
    pairs_with: str | None = None

    @property
    def neural(self) -> bool:
        """Whether the engine needs model weights (and the neural extra)."""
        return self.weights_available is not None

    def build(self, options: Any) -> Any:
        """The engine, built from its typed options (an engine with NoOptions takes none)."""
        if not isinstance(options, self.options):
            raise TypeError(
                f"the {self.stage} engine {self.name!r} takes {self.options.__name__}, "
                f"got {type(options).__name__}"
            )
        module, _, name = self.engine.partition(":")
        engine_class = getattr(importlib.import_module(module), name)
        return engine_class() if self.options is NoOptions else engine_class(options)


_REGISTRY: dict[Stage, dict[str, EngineSpec]] = {stage: {} for stage in STAGES}


def register(spec: EngineSpec) -> EngineSpec:
    """Add (or replace) an engine for its stage."""
    _REGISTRY[spec.stage][spec.name] = spec
    return spec


def get_engine_spec(stage: Stage, name: str) -> EngineSpec:
    """Return the engine registered under `name` for `stage`, or raise UnknownEngineError."""
    try:
        return _REGISTRY[stage][name]
    except KeyError:
        known = ", ".join(["auto", *sorted(_REGISTRY[stage])])
        raise UnknownEngineError(
            f"unknown {stage} engine {name!r}; choose one of: {known}"
        ) from None


def engine_names(stage: Stage) -> list[str]:
    """Names of the engines registered for `stage`, offline engines first, the default first."""
    specs = sorted(
        _REGISTRY[stage].values(), key=lambda s: (s.neural, not s.default_offline, s.name)
    )
    return [s.name for s in specs]


def engines(stage: Stage) -> list[EngineSpec]:
    """Specs of the engines registered for `stage`, offline engines first."""
    return [_REGISTRY[stage][n] for n in engine_names(stage)]
