"""The command line end to end: a real run of the offline chain into a temporary DATA_DIR."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(path))
    monkeypatch.setenv("IMAGE_SIZE", "256")
    return path


def test_dry_run_makes_stores_and_previews_an_artwork(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--post-now", "--dry-run", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "Artwork 1 (seed 7, mood " in out
    assert "Nothing was posted (dry run)." in out
    pngs = sorted((data_dir / "artworks").rglob("*.png"))
    assert len(pngs) == 2  # the final artwork and the painting before the mood
    page = next((data_dir / "previews").rglob("index.html"))
    html = page.read_text()
    assert "Preview — nothing was posted" in html and "Alt text:" in html
    assert str(page) in out


def test_same_seed_gives_byte_identical_images(data_dir: Path) -> None:
    assert main(["--post-now", "--dry-run", "--seed", "7"]) == 0
    assert main(["--post-now", "--dry-run", "--seed", "7"]) == 0
    digests: dict[str, set[str]] = {}
    for png in (data_dir / "artworks").rglob("*.png"):
        kind = "painting" if png.stem.endswith("-painting") else "final"
        digests.setdefault(kind, set()).add(hashlib.sha256(png.read_bytes()).hexdigest())
    assert {k: len(v) for k, v in digests.items()} == {"final": 1, "painting": 1}


def test_mood_can_be_chosen(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--post-now", "--dry-run", "--seed", "3", "--mood", "Love"]) == 0
    assert "mood love" in capsys.readouterr().out


def test_history_and_show(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 0
    assert "No artworks yet" in capsys.readouterr().out
    main(["--post-now", "--dry-run", "--seed", "11"])
    capsys.readouterr()
    assert main(["history"]) == 0
    assert "seed 11" in capsys.readouterr().out
    assert main(["show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "alt text:" in shown and "caption:" in shown and "posts: none" in shown


def test_show_unknown_artwork_fails_clearly(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "42"]) == 1
    assert "kavi: error: no artwork with id 42" in capsys.readouterr().err


def test_post_now_without_publishers_exits_2_with_advice(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--post-now"]) == 2
    err = capsys.readouterr().err
    assert "set PUBLISHERS=" in err and "--dry-run" in err
    assert not (data_dir / "artworks").exists()


def test_unknown_mood_exits_2(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--post-now", "--dry-run", "--mood", "joy"]) == 2
    assert "unknown mood 'joy'" in capsys.readouterr().err


def test_bad_setting_exits_2_without_traceback(data_dir: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "TZ": "Nowhere/Land",
        "DATA_DIR": str(data_dir),
        "HOME": str(data_dir),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--post-now", "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "kavi: configuration error: invalid configuration: TZ: unknown time zone 'Nowhere/Land'; "
        "use an IANA name such as UTC or Europe/Paris"
    ]
    assert "Traceback" not in proc.stderr


def test_bad_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--post-now", "--seed", "-3"])
    assert info.value.code == 2
    assert "--seed: must be between 0" in capsys.readouterr().err


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['bot', '--help']\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "names = ('numpy', 'PIL', 'sqlalchemy', 'pydantic', 'torch', 'skimage')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "HEAVY []" in proc.stdout


def test_debug_traceback_never_shows_a_secret(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAVI_DEBUG", "1")
    monkeypatch.setenv("INSTAGRAM_PASSWORD", "hunter2-very-secret")

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("login failed for password hunter2-very-secret")

    monkeypatch.setattr("bot.service.Kavi.post_now", explode)
    assert main(["--post-now", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "RuntimeError" in err
    assert "hunter2-very-secret" not in err and "***" in err
