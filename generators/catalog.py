"""The built-in engines, every one registered: choose from here, not from the bare registry.

The registry is a leaf that imports no stage; importing a stage package registers its
engines. This module imports the three, so whoever lists or picks engines by name (settings
validation, the chain, `models list`) sees them all, whatever else was imported before.
"""

from __future__ import annotations

import generators.image
import generators.mood
import generators.poem
from generators.registry import EngineSpec, Stage, engine_names, engines, get_engine_spec

STAGE_PACKAGES = (generators.poem, generators.image, generators.mood)

__all__ = ["STAGE_PACKAGES", "EngineSpec", "Stage", "engine_names", "engines", "get_engine_spec"]
