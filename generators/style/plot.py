"""The loss curves of a training run, drawn with Pillow from its JSONL log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image

# The GAN's three losses and the LoRA's one; a log is drawn with the series it has.
SERIES = (
    ("loss_d", (200, 60, 50)),
    ("loss_g", (40, 90, 190)),
    ("loss_recon", (60, 150, 70)),
    ("loss", (120, 60, 160)),
)
WIDTH, HEIGHT, MARGIN = 720, 360, 48


def read_log(path: Path) -> list[dict[str, float]]:
    """The records of a JSONL loss log; a torn last line (a killed run) is left out."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def _smooth(values: np.ndarray) -> np.ndarray:
    window = max(1, len(values) // 50)
    if window == 1:
        return values
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def plot_losses(records: list[dict[str, float]]) -> Image:
    """A line chart of each loss against the step (smoothed), with axes and a legend."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    chart = PILImage.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(chart)
    left, top, right, bottom = MARGIN, MARGIN // 2, WIDTH - MARGIN // 2, HEIGHT - MARGIN
    draw.rectangle((left, top, right, bottom), outline=(120, 120, 120))
    if not records:
        draw.text((left + 10, top + 10), "no steps logged yet", fill=(0, 0, 0))
        return chart
    steps = np.array([r["step"] for r in records], dtype=np.float64)
    present = [(name, colour) for name, colour in SERIES if any(name in r for r in records)]
    curves = {
        name: _smooth(np.array([r.get(name, np.nan) for r in records], dtype=np.float64))
        for name, _ in present
    }
    every = np.concatenate([c[np.isfinite(c)] for c in curves.values()] or [np.zeros(0)])
    low, high = (float(every.min()), float(every.max())) if every.size else (0.0, 1.0)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    first, last = float(steps.min()), float(max(steps.max(), steps.min() + 1))

    def point(step: float, value: float) -> tuple[float, float]:
        x = left + (step - first) / (last - first) * (right - left)
        y = bottom - (value - low) / (high - low) * (bottom - top)
        return x, y

    for name, colour in present:
        values = curves[name]
        points = [point(s, v) for s, v in zip(steps, values, strict=True) if np.isfinite(v)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
    draw.text((left, bottom + 6), f"step {int(first)}", fill=(0, 0, 0))
    draw.text((right - 80, bottom + 6), f"step {int(last)}", fill=(0, 0, 0))
    draw.text((4, top), f"{high:.2f}", fill=(0, 0, 0))
    draw.text((4, bottom - 10), f"{low:.2f}", fill=(0, 0, 0))
    for index, (name, colour) in enumerate(present):
        x = left + 10 + index * 150
        draw.line((x, bottom + 28, x + 20, bottom + 28), fill=colour, width=3)
        draw.text((x + 26, bottom + 22), name, fill=(0, 0, 0))
    return chart
