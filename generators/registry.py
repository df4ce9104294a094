"""A small registry of engines per stage, so settings can choose engines by name.

A leaf: each stage package (`generators.poem`, `.image`, `.mood`) registers its engines here
when it is imported, so whoever chooses engines imports those packages (`bot/chain.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import ConfigError

Stage = Literal["poem", "image", "mood"]
STAGES: tuple[Stage, ...] = ("poem", "image", "mood")


class UnknownEngineError(ConfigError):
    """No engine of that name is registered for the stage."""


@dataclass(frozen=True)
class EngineOptions:
    """Plain values an engine factory may use; offline engines ignore the neural ones."""

    model: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)

    def checked_params(self, known: set[str], engine: str) -> dict[str, Any]:
        """The params, after refusing any the engine does not know (a typo must not pass)."""
        unknown = set(self.params) - known
        if unknown:
            raise ValueError(f"unknown {engine} params: {', '.join(sorted(unknown))}")
        return dict(self.params)


@dataclass(frozen=True)
class EngineSpec:
    """How to build one engine and what it needs.

    `factory` builds the engine from EngineOptions (plain values, no settings object).
    `neural` engines need model weights; `weights_available(model)` says whether they are
    on disk and why (a reason that names the model), so `auto` can pick without downloading.
    """

    stage: Stage
    name: str
    factory: Callable[[EngineOptions], Any]
    neural: bool = False
    weights_available: Callable[[str], tuple[bool, str]] | None = None
    description: str = ""


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
    """Names of the engines registered for `stage`, offline engines first."""
    specs = sorted(_REGISTRY[stage].values(), key=lambda s: (s.neural, s.name))
    return [s.name for s in specs]


def engines(stage: Stage) -> list[EngineSpec]:
    """Specs of the engines registered for `stage`, offline engines first."""
    return [_REGISTRY[stage][n] for n in engine_names(stage)]
