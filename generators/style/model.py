"""A compact few-shot GAN after FastGAN (Liu et al., 2021), written for Kavi.

The generator grows a 4x4 map to the output size with nearest-neighbour upsampling and
GLU convolutions; skip-layer excitation (SLE) lets each coarse map (8x8, 16x16...) gate the
channels of the map eight times larger, so global layout steers fine texture cheaply. The
discriminator is residual with spectral normalisation and judges 5x5 patches of an 8x8 map;
a small decoder must rebuild the real image from that map, a self-supervised task that keeps
the discriminator learning real features on a few hundred images instead of memorising them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

# Channel width per side, as a multiple of the base width (FastGAN's schedule).
_WIDTH = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
# SLE joins a map to the one this many times larger (FastGAN: 8 -> 128; here 8 -> 64 too).
_SLE_SCALE = 8
DECODER_SIDE = 64


@dataclass(frozen=True)
class GanArchitecture:
    """What fixes the shapes of the networks (a checkpoint only loads into the same one)."""

    resolution: int = 256
    latent: int = 256
    gen_width: int = 64
    disc_width: int = 64

    def __post_init__(self) -> None:
        side = self.resolution
        if side not in _WIDTH or side < 16:
            raise ValueError(f"`resolution` must be a power of two from 16 to 1024, got {side}")
        for name in ("latent", "gen_width", "disc_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be positive, got {getattr(self, name)}")

    def channels(self, side: int, width: int) -> int:
        return max(4, int(_WIDTH[side] * width))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by a learnt weight (starts at 0, so it is opt-in by learning)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.weight * noise


class UpBlock(nn.Module):
    """Double the side: nearest upsample, two 3x3 GLU convolutions with noise."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels * 2, 3, 1, 1, bias=False),
            NoiseInjection(),
            nn.BatchNorm2d(out_channels * 2),
            nn.GLU(dim=1),
            nn.Conv2d(out_channels, out_channels * 2, 3, 1, 1, bias=False),
            NoiseInjection(),
            nn.BatchNorm2d(out_channels * 2),
            nn.GLU(dim=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SkipExcitation(nn.Module):
    """Skip-layer excitation: a coarse map, pooled to 4x4, gates each channel of a fine map."""

    def __init__(self, coarse_channels: int, fine_channels: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Conv2d(coarse_channels, fine_channels, 4, 1, 0, bias=False),
            nn.SiLU(),
            nn.Conv2d(fine_channels, fine_channels, 1, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        return fine * self.gate(coarse)


class Generator(nn.Module):
    """Latent vector -> RGB image in [-1, 1] of the architecture's resolution."""

    def __init__(self, arch: GanArchitecture) -> None:
        super().__init__()
        self.arch = arch
        width = arch.gen_width
        first = arch.channels(4, width)
        self.start = nn.Sequential(
            nn.ConvTranspose2d(arch.latent, first * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(first * 2),
            nn.GLU(dim=1),
        )
        self.sides = [4 * 2**i for i in range(1, int(math.log2(arch.resolution)) - 1)]
        self.blocks = nn.ModuleDict()
        self.excite = nn.ModuleDict()
        previous = first
        for side in self.sides:
            channels = arch.channels(side, width)
            self.blocks[str(side)] = UpBlock(previous, channels)
            coarse = side // _SLE_SCALE
            if coarse >= 4:
                self.excite[str(side)] = SkipExcitation(arch.channels(coarse, width), channels)
            previous = channels
        self.to_rgb = nn.Conv2d(previous, 3, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.start(z.view(z.shape[0], -1, 1, 1))
        maps = {4: x}
        for side in self.sides:
            x = self.blocks[str(side)](x)
            if str(side) in self.excite:
                x = self.excite[str(side)](maps[side // _SLE_SCALE], x)
            maps[side] = x
        return torch.tanh(self.to_rgb(x))


class DownBlock(nn.Module):
    """Halve the side: a strided convolution path plus an average-pooled shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            spectral_norm(nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)),
            nn.LeakyReLU(0.2),
        )
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2),
            spectral_norm(nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False)),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.shortcut(x)) / 2


class Decoder(nn.Module):
    """Rebuilds a small RGB image from the discriminator's 8x8 map (the self-supervised task)."""

    def __init__(self, in_channels: int, side: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(int(math.log2(side // 8))):
            out = max(8, channels // 2)
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                spectral_norm(nn.Conv2d(channels, out * 2, 3, 1, 1, bias=False)),
                nn.GLU(dim=1),
            ]
            channels = out
        layers += [spectral_norm(nn.Conv2d(channels, 3, 3, 1, 1)), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Discriminator(nn.Module):
    """Image -> 5x5 patch logits; with `decode=n` also the rebuilt first n images."""

    def __init__(self, arch: GanArchitecture) -> None:
        super().__init__()
        width = arch.disc_width
        side = arch.resolution
        self.from_rgb = nn.Sequential(
            spectral_norm(nn.Conv2d(3, arch.channels(side, width), 3, 1, 1, bias=False)),
            nn.LeakyReLU(0.2),
        )
        blocks = []
        while side > 8:
            blocks.append(DownBlock(arch.channels(side, width), arch.channels(side // 2, width)))
            side //= 2
        self.down = nn.Sequential(*blocks)
        channels = arch.channels(8, width)
        self.logits = nn.Sequential(
            spectral_norm(nn.Conv2d(channels, channels, 1, 1, 0, bias=False)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(channels, 1, 4, 1, 0, bias=False)),
        )
        self.decoder_side = min(DECODER_SIDE, arch.resolution)
        self.decoder = Decoder(channels, self.decoder_side)

    def forward(self, x: torch.Tensor, decode: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
        features = self.down(self.from_rgb(x))
        logits = self.logits(features).flatten(1)
        rebuilt = self.decoder(features[:decode]) if decode else None
        return logits, rebuilt


def reconstruction_target(images: torch.Tensor, side: int) -> torch.Tensor:
    """What the decoder should rebuild: the real images averaged down to its side."""
    if images.shape[-1] == side:
        return images
    return F.interpolate(images, size=(side, side), mode="area")
