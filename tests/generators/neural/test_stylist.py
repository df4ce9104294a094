"""The diffusion stylist: img2img on the painter's pipeline, then colour transfer to the mood."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from generators.image.diffusion import DiffusionOptions, load_text2image  # noqa: E402
from generators.mood.diffusion import DiffusionStylist, DiffusionStylistOptions  # noqa: E402
from generators.mood.moods import get_mood  # noqa: E402

pytestmark = pytest.mark.neural


def _picture(size: tuple[int, int]) -> Image.Image:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    grey = image.getchannel(0)
    return Image.merge("RGB", (grey, grey.rotate(90), grey))


def _stylist(folder: Path, **kwargs: object) -> DiffusionStylist:
    options = DiffusionStylistOptions(
        str(folder),
        device="cpu",
        dtype="float32",
        tiny_vae=None,
        **kwargs,  # type: ignore[arg-type]
    )
    return DiffusionStylist(options)


def test_img2img_then_colour_transfer(tiny_sd: Path) -> None:
    stylist = _stylist(tiny_sd, strength=0.5)
    source = _picture((80, 64))
    result = stylist.stylize(source, get_mood("sadness"), seed=4)
    assert result.image.size == (80, 64) and result.image.mode == "RGB"
    assert (result.mood, result.engine, result.model) == ("sadness", "diffusion", str(tiny_sd))
    assert result.prompt is not None and "melancholy" in result.prompt
    assert result.style_reference is None
    again = stylist.stylize(source, get_mood("sadness"), seed=4)
    assert again.image.tobytes() == result.image.tobytes()


def test_shares_the_text_to_image_components(tiny_sd: Path) -> None:
    text2image = load_text2image(
        DiffusionOptions(str(tiny_sd), device="cpu", dtype="float32", tiny_vae=None)
    )
    img2img = _stylist(tiny_sd).pipeline()
    assert img2img is not text2image
    assert img2img.unet is text2image.unet and img2img.vae is text2image.vae
    assert img2img.text_encoder is text2image.text_encoder


def test_style_image_is_used_and_recorded(tiny_sd: Path, tmp_path: Path) -> None:
    folder = tmp_path / "styles" / "anger"
    folder.mkdir(parents=True)
    Image.new("RGB", (32, 32), (200, 30, 10)).save(folder / "red.png")
    result = _stylist(tiny_sd, strength=0.3).stylize(
        _picture((64, 64)), get_mood("anger"), seed=1, style_dir=tmp_path / "styles"
    )
    assert result.style_reference == folder / "red.png"


def test_strength_zero_is_colour_transfer_only() -> None:
    # Never loads a model: the folder does not even exist.
    stylist = _stylist(Path("/nonexistent/model"), strength=0.0)
    result = stylist.stylize(_picture((64, 64)), get_mood("love"), seed=1)
    assert result.image.size == (64, 64)


def test_strength_is_validated() -> None:
    with pytest.raises(ValueError, match="`strength` must be between 0 and 1, got 1.5"):
        DiffusionStylistOptions(model="x", strength=1.5)
    with pytest.raises(ValueError, match="transfer_strength"):
        DiffusionStylistOptions("x", transfer_strength=-0.1)


def _lightness(image: Image.Image) -> Any:
    import numpy as np
    from skimage.color import rgb2lab

    return rgb2lab(np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0)[..., 0].ravel()


def test_the_repaint_keeps_the_paintings_values(
    tiny_sd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    source = _picture((64, 64))
    stylist = _stylist(tiny_sd, strength=0.6, transfer_strength=0.0)
    repaints: list[Image.Image] = []
    repaint = stylist._repaint

    def recorded(image: Image.Image, prompt: str, seed: int) -> Image.Image:
        repaints.append(repaint(image, prompt, seed))
        return repaints[-1]

    monkeypatch.setattr(stylist, "_repaint", recorded)
    result = stylist.stylize(source, get_mood("love"), seed=3)
    wanted = _lightness(source)
    # The random model's repaint alone has lost the painting's values; the result has them.
    assert np.corrcoef(_lightness(repaints[0]), wanted)[0, 1] < 0.9
    assert np.corrcoef(_lightness(result.image), wanted)[0, 1] > 0.99
    assert result.image.tobytes() != source.tobytes()
