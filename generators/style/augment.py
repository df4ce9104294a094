"""Differentiable augmentation (after Zhao et al., 2020): the same random colour, translation
and cutout applied to real and generated images alike, so the discriminator cannot memorise a
small collection and the generator still learns the un-augmented distribution."""

from __future__ import annotations

import torch
from torch.nn import functional as F

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(text: str) -> tuple[str, ...]:
    """`color,translation,cutout` -> its parts; `none` or empty -> no augmentation."""
    parts = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    if parts in ((), ("none",)):
        return ()
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise ValueError(
            f"unknown augmentation {unknown[0]!r}; use a comma list of {', '.join(POLICIES)} "
            "or none"
        )
    return parts


def augment(images: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """`images` (N, 3, H, W, in [-1, 1]) with the policy's transforms, drawn from torch's RNG."""
    for part in policy:
        images = _TRANSFORMS[part](images)
    return images


def _colour(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]

    def draw() -> torch.Tensor:
        return torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype)

    x = x + (draw() - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (draw() * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (draw() + 0.5) + mean  # contrast


def _translation(x: torch.Tensor) -> torch.Tensor:
    n, _, height, width = x.shape
    # Whole-pixel shifts of up to 1/8 of the side, the empty edge filled with zeros (grey).
    limit_y, limit_x = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    shift_y = torch.randint(-limit_y, limit_y + 1, (n,), device=x.device)
    shift_x = torch.randint(-limit_x, limit_x + 1, (n,), device=x.device)
    padded = F.pad(x, (limit_x, limit_x, limit_y, limit_y))
    rows = torch.arange(height, device=x.device)[None, :] + limit_y - shift_y[:, None]
    cols = torch.arange(width, device=x.device)[None, :] + limit_x - shift_x[:, None]
    batch = torch.arange(n, device=x.device)[:, None, None]
    picked = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return picked.permute(0, 3, 1, 2).contiguous()


def _cutout(x: torch.Tensor) -> torch.Tensor:
    n, _, height, width = x.shape
    cut_h, cut_w = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    top = torch.randint(0, height - cut_h + 1, (n, 1, 1), device=x.device)
    left = torch.randint(0, width - cut_w + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(height, device=x.device)[None, :, None]
    cols = torch.arange(width, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + cut_h) & (cols >= left) & (cols < left + cut_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_TRANSFORMS = {"color": _colour, "translation": _translation, "cutout": _cutout}
