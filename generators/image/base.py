"""The image stage: what a painter returns and the Protocol every painter follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.poem.base import Poem

MIN_SIZE = 64
MAX_SIZE = 4096


def check_paint_inputs(*, size: int, seed: int) -> None:
    """Raise ValueError naming `size` or `seed` when a painter cannot take it (every painter)."""
    if isinstance(size, bool) or not isinstance(size, int):
        raise ValueError(f"`size` must be an integer, got {size!r}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"`size` must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")


@dataclass(frozen=True)
class InkOptions:
    """The ink hand's settings: whether to letter the poem on the painting (LETTERING).

    Here rather than in ink.py, so that registering the engine imports no numpy.
    """

    lettering: bool = True


@dataclass(frozen=True)
class Painting:
    """An RGB image painted from a poem, with the prompt or scene description behind it."""

    image: Image
    prompt: str
    engine: str
    model: str | None = None
    # A short plain-English description of what is shown, for alt text.
    description: str = ""
    # What was drawn and where: (subject, (left, top, right, bottom)) in pixels, when known.
    drawn: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()
    # Words of the poem the painter could not draw (no motif), so nothing pretends otherwise.
    not_drawn: tuple[str, ...] = ()
    # How the picture was framed ("landscape", "close-up"), when the painter composes.
    framing: str = ""
    # Where the poem is lettered on the painting (left, top, right, bottom), if it is.
    lettering: tuple[int, int, int, int] | None = None

    def record(self) -> dict[str, object]:
        """The scene record kept with the artwork: framing, what was drawn where, what was not."""
        if not self.drawn and not self.not_drawn and not self.framing:
            return {}
        return {
            "framing": self.framing,
            "drawn": [{"subject": name, "box": list(box)} for name, box in self.drawn],
            "not_drawn": list(self.not_drawn),
            "lettering": list(self.lettering) if self.lettering else None,
        }

    # The square side the model rendered at, when it differs from the size asked for.
    rendered_size: int | None = None


@runtime_checkable
class Painter(Protocol):
    """Paints a square RGB image of `size` pixels from a poem, deterministically per seed.

    The result is never blank or black: a painter that cannot make a usable image raises
    `GenerationError`.
    """

    name: str

    def paint(self, poem: Poem, *, size: int, seed: int) -> Painting: ...
