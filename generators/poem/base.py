"""The poem stage: what a poem writer returns and the Protocol every writer follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Poem:
    """A haiku: three lines, plus the imagery it is about (used to paint it)."""

    lines: tuple[str, str, str]
    engine: str
    model: str | None = None
    # Concrete images the poem names ("moon", "river", "snow"...), in the order they appear.
    imagery: tuple[str, ...] = field(default_factory=tuple)
    season: str | None = None
    # Why the asked-for writer gave way to the grammar writer, when it did (else None).
    fallback: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@runtime_checkable
class PoemWriter(Protocol):
    """Writes one haiku, deterministically for a given seed.

    Every returned poem has exactly three lines of 5, 7 and 5 syllables as counted by
    `generators.poem.syllables.count_line`; a writer that cannot achieve that raises
    `GenerationError` rather than return an unvalidated poem.
    """

    name: str

    def write(self, *, seed: int) -> Poem: ...
