"""The poem stage: writers that produce a 5-7-5 haiku."""

from __future__ import annotations

from functools import partial

from generators.models import weights_on_disk
from generators.poem.llm import LLMPoemWriterOptions
from generators.registry import EngineSpec, register

register(
    EngineSpec(
        "poem",
        "grammar",
        "generators.poem.grammar:GrammarPoemWriter",
        description="curated word bank and haiku templates",
    )
)
register(
    EngineSpec(
        "poem",
        "llm",
        "generators.poem.llm:LLMPoemWriter",
        LLMPoemWriterOptions,
        partial(weights_on_disk, kind="llm"),
        "Hugging Face causal LM, chat-templated, validated 5-7-5",
    )
)
