"""`kavi style …` end to end in a temporary DATA_DIR: clear errors (exit 2) and the whole loop."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from tests.generators.style_collections import make_collection, one_torch_thread  # noqa: F401


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(path))
    return path


def test_prepare_errors_exit_2_and_say_what_was_found(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["style", "prepare", "masks", "--from", str(tmp_path / "nowhere")]) == 2
    assert f"no folder at {tmp_path / 'nowhere'}" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["style", "prepare", "masks", "--from", str(tmp_path / "empty")]) == 2
    assert "holds no image files" in capsys.readouterr().err
    make_collection(tmp_path / "small", 2, size=20)
    assert main(["style", "prepare", "masks", "--from", str(tmp_path / "small")]) == 2
    err = capsys.readouterr().err
    assert "no usable image" in err and "2 too small" in err
    assert main(["style", "prepare", "Bad Name", "--from", str(tmp_path / "small")]) == 2
    assert "style name 'Bad Name' is not allowed" in capsys.readouterr().err


def test_commands_on_a_style_that_is_not_ready_exit_2(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["style", "list"]) == 0
    assert "No styles yet" in capsys.readouterr().out
    assert main(["style", "train", "masks"]) == 2
    assert "run `kavi style prepare masks --from FOLDER` first" in capsys.readouterr().err
    make_collection(tmp_path / "curated", 4, size=32)
    assert (
        main(
            ["style", "prepare", "masks", "--from", str(tmp_path / "curated"), "--resolution", "16"]
        )
        == 0
    )
    capsys.readouterr()
    for action in ("sample", "inspect"):
        assert main(["style", action, "masks"]) == 2
        assert "no trained checkpoint" in capsys.readouterr().err
    assert main(["style", "train", "masks", "--resolution", "32"]) == 2
    assert "prepared at 16 px, below the training resolution 32" in capsys.readouterr().err


@pytest.mark.usefixtures("one_torch_thread")
def test_prepare_train_sample_inspect_list(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("accelerate")
    make_collection(tmp_path / "curated", 8, size=32)
    (tmp_path / "curated" / "broken.png").write_bytes(b"nope")
    assert (
        main(
            ["style", "prepare", "blobs", "--from", str(tmp_path / "curated"), "--resolution", "16"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "style blobs: 8 image(s) at 16 px" in out and "skipped 1 unreadable" in out

    train = ["style", "train", "blobs", "--width", "4", "--latent", "8", "--batch-size", "4"]
    train += ["--checkpoint-every", "2", "--sample-every", "2", "--device", "cpu"]
    assert main([*train, "--steps", "2"]) == 0
    assert "trained to step 2" in capsys.readouterr().out
    # A plain second run resumes with the checkpoint's settings.
    assert main(["style", "train", "blobs", "--steps", "4", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "resuming from step 2" in out and "trained to step 4" in out
    assert main(["style", "train", "blobs", "--steps", "3", "--device", "cpu"]) == 0
    assert "already trained to step 4; ask for more steps" in capsys.readouterr().out

    assert main(["style", "sample", "blobs", "-n", "4", "--seed", "1"]) == 0
    grid_path = Path(capsys.readouterr().out.rsplit(": ", 1)[1].strip())
    with Image.open(grid_path) as grid:
        assert grid.size == (2 * 18 + 2, 2 * 18 + 2)

    assert main(["style", "inspect", "blobs", "-n", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 sample(s)" in out and "novelty score" in out and out.count("images/000") >= 9
    assert (data_dir / "styles" / "blobs" / "novelty" / "index.html").is_file()

    assert main(["style", "list"]) == 0
    listed = capsys.readouterr().out
    assert "blobs" in listed and "8 images at 16 px" in listed and "trained to step 4" in listed


def test_style_descriptor_names_a_keyword_or_is_kept_for_use() -> None:
    from bot.settings import load_settings

    assert load_settings().style_descriptor == "auto"
    assert load_settings(style_descriptor=" Perceptual ").style_descriptor == "perceptual"
    assert load_settings(style_descriptor="  ").style_descriptor == "auto"
    # A model is checked where it is used (it may be fetched after the settings load).
    assert load_settings(style_descriptor=" facebook/dinov2-small ").style_descriptor == (
        "facebook/dinov2-small"
    )
