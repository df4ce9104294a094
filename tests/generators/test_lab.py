"""Kavi's sRGB <-> LAB conversions equal scikit-image's, value for value, without scipy."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from skimage.color import lab2rgb, rgb2lab

from generators.mood.colour import _lab_to_rgb, _rgb_to_lab


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rgb_to_lab_equals_scikit_image(dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.random((64, 48, 3)).astype(dtype)
    rgb[0, :4] = [[0, 0, 0], [1, 1, 1], [0.04045, 0.04045, 0.04045], [0.5, 0.0, 1.0]]
    ours = _rgb_to_lab(rgb)
    assert ours.dtype == rgb2lab(rgb).dtype
    assert np.array_equal(ours, rgb2lab(rgb))


def test_lab_to_rgb_equals_scikit_image_in_and_out_of_gamut() -> None:
    rng = np.random.default_rng(1)
    # Far outside the sRGB gamut too: negative Z and clipped channels must match as well.
    lab = np.stack(
        [rng.uniform(-10, 110, 5000), rng.uniform(-160, 160, 5000), rng.uniform(-160, 160, 5000)],
        axis=-1,
    ).reshape(50, 100, 3)
    with pytest.warns(UserWarning):
        expected = lab2rgb(lab)
    assert np.array_equal(_lab_to_rgb(lab), expected)


def test_the_lut_lattice_round_trip_equals_scikit_image() -> None:
    axis = np.linspace(0.0, 1.0, 33)
    blue, green, red = np.meshgrid(axis, axis, axis, indexing="ij")
    lattice = np.stack([red, green, blue], axis=-1).reshape(-1, 1, 3)
    shifted = (_rgb_to_lab(lattice) - [50.0, 3.0, -4.0]) * [1.2, 0.8, 1.5] + [55.0, 10.0, 5.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skimage warns when it clips Z
        expected = lab2rgb((rgb2lab(lattice) - [50.0, 3.0, -4.0]) * [1.2, 0.8, 1.5] + [55, 10, 5])
    assert np.array_equal(_lab_to_rgb(shifted), expected)


def test_styling_does_not_import_scipy() -> None:
    code = (
        "import json, sys; from PIL import Image; "
        "from generators.mood.colour import transfer_to_mood; "
        "from generators.mood.moods import MOODS; "
        "transfer_to_mood(Image.new('RGB', (32, 32), (90, 120, 200)), next(iter(MOODS.values()))); "
        "print(json.dumps(sorted(m for m in ('scipy', 'skimage') if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert json.loads(out.stdout) == []
