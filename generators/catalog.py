"""The built-in engines, every one registered: choose from here, not from the bare registry.

The registry is a leaf that imports no stage; importing a stage package registers its
engines. This module imports the three, so whoever lists or picks engines by name (settings
validation, the chain, `models list`) sees them all, whatever else was imported before.
"""

from __future__ import annotations

# Imported for what importing them does: each stage package registers its engines.
from generators import image, mood, poem  # noqa: F401
from generators.registry import EngineSpec, Stage, engine_names, engines, get_engine_spec

__all__ = ["EngineSpec", "Stage", "engine_names", "engines", "get_engine_spec"]
