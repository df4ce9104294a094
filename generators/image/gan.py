"""The `gan` painter: a style Kavi trained itself (`kavi style train`), sampled from the day's seed.

The poem still drives the rest of the artwork (mood, caption, alt text); the picture is the
trained EMA generator's sample for the seed, upsized to the artwork's size. A sample that is
a near copy of a training image is never used: the next seed is drawn instead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.errors import GenerationError
from generators.image.base import Painting, check_paint_inputs
from generators.models import OptionError

if TYPE_CHECKING:
    from generators.poem.base import Poem
    from generators.style.checkpoint import Checkpoint
    from generators.style.novelty import TrainingIndex

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5


def _checkpoints(model: str) -> Path:
    return Path(model).expanduser() / "gan" / "checkpoints"


def style_weights_available(model: str) -> tuple[bool, str]:
    """Whether the style folder `model` (DATA_DIR/styles/NAME) has a checkpoint, and why."""
    from generators.style.checkpoint import latest_checkpoint

    if not model or not model.strip():
        return False, "no style chosen (set STYLE_NAME to a trained style)"
    found = latest_checkpoint(_checkpoints(model))
    name = Path(model).name
    if found is None:
        return False, f"style {name!r} has no trained checkpoint; run `kavi style train {name}`"
    return True, f"style {name!r} trained to step {found.step}"


@dataclass(frozen=True)
class GanPainterOptions:
    """The gan painter's options: the style's folder and name, where to run, and the image
    descriptor its never-post-a-copy check measures with (auto, perceptual, a model)."""

    model: str = ""
    style: str = ""
    device: str = "auto"
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    descriptor: str = "auto"

    def __post_init__(self) -> None:
        from generators.style.descriptors import descriptor_problem

        if not self.style.strip():
            raise OptionError("style", "must name a trained style (see `kavi style list`)")
        available, reason = style_weights_available(self.model)
        if not available:
            raise OptionError("style", reason)
        if self.max_attempts < 1:
            raise OptionError("max_attempts", f"must be at least 1, got {self.max_attempts}")
        problem = descriptor_problem(self.descriptor)
        if problem:
            raise OptionError("descriptor", f"{problem}; or use auto or perceptual")


class GanPainter:
    """Paints with a trained style's EMA generator, seeded, never a copy of a training image."""

    name = "gan"

    def __init__(self, options: GanPainterOptions) -> None:
        from generators.style.checkpoint import require_checkpoint

        self.options = options
        self.checkpoint: Checkpoint = require_checkpoint(_checkpoints(options.model), options.style)
        self.model = f"style {options.style} sha256:{self.checkpoint.sha256}"
        self._generator: Any = None
        self._index: TrainingIndex | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, TrainingIndex]:
        from generators.style.descriptors import resolve_descriptor
        from generators.style.layout import StyleLayout
        from generators.style.novelty import build_index
        from generators.style.sample import load_generator
        from generators.torch_runtime import resolve_device

        with self._lock:
            if self._generator is None:
                device = resolve_device(self.options.device)
                self._generator = load_generator(self.checkpoint, device)
                chosen = resolve_descriptor(self.options.descriptor, device=device)
                log.info(
                    "gan painter: copies of training images are found by the descriptor %s "
                    "(asked for %s: %s)",
                    chosen.descriptor.name,
                    self.options.descriptor,
                    chosen.reason,
                )
                layout = StyleLayout(Path(self.options.model).expanduser())
                self._index = build_index(layout, chosen.descriptor)
            assert self._index is not None
            return self._generator, self._index

    def paint(self, poem: Poem, *, size: int, seed: int) -> Painting:
        """Sample the style for `seed`, redrawing a near copy of a training image, then upsize."""
        from PIL import Image as PILImage

        from generators.image.quality import image_problem
        from generators.style.sample import generate, latents

        check_paint_inputs(size=size, seed=seed)
        generator, index = self._load()
        problem = "no attempt made"
        for attempt in range(seed, seed + self.options.max_attempts):
            z = latents(1, generator.arch.latent, attempt)
            image = generate(generator, z, seed=attempt)[0]
            novelty = index.nearest(image, count=1)
            found = image_problem(image)
            if novelty.memorised:
                found = (
                    f"a near copy of training image {novelty.neighbours[0].file} "
                    f"(distance {novelty.nearest:.4f} < {index.threshold:.4f})"
                )
            if found is None:
                if image.size != (size, size):
                    image = image.resize((size, size), PILImage.Resampling.LANCZOS)
                return Painting(
                    image=image,
                    prompt=f"learnt style {self.options.style}, seed {attempt}",
                    engine=self.name,
                    model=self.model,
                    description=(
                        f"a picture in the style Kavi learnt from the collection "
                        f"\u201c{self.options.style}\u201d"
                    ),
                )
            problem = found
            log.warning("gan painter: seed %d rejected (%s); trying the next", attempt, problem)
        raise GenerationError(
            f"the gan painter made no usable image for style {self.options.style!r} in "
            f"{self.options.max_attempts} seeds (last: {problem})"
        )
