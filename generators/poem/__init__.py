"""The poem stage: writers that produce a 5-7-5 haiku."""

from __future__ import annotations

from typing import Any

from generators.models import weights_on_disk
from generators.registry import EngineOptions, EngineSpec, register


# Each factory imports its engine's module when called: registering costs nothing, and
# an engine nobody chose never loads (numpy, Pillow, the word bank, the neural code).
def _grammar(options: EngineOptions) -> Any:
    from generators.poem.grammar import GrammarPoemWriter

    return GrammarPoemWriter()


def _llm(options: EngineOptions) -> Any:
    from generators.poem.llm import LLMPoemWriter

    return LLMPoemWriter.from_options(options)


def _llm_weights(model: str) -> tuple[bool, str]:
    return weights_on_disk(model, kind="llm")


register(
    EngineSpec("poem", "grammar", _grammar, description="curated word bank and haiku templates")
)
register(
    EngineSpec(
        "poem",
        "llm",
        _llm,
        neural=True,
        weights_available=_llm_weights,
        description="Hugging Face causal LM, chat-templated, validated 5-7-5",
    )
)
