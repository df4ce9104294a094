"""The command line end to end: a real run of the offline chain into a temporary DATA_DIR."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from storage.files import ImageStore
from tests.fakes import store_sample_artwork
from tests.processes import run_python

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(path))
    monkeypatch.setenv("IMAGE_SIZE", "256")
    return path


def test_inspect_writes_the_page_of_an_artwork(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--post-now", "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["inspect", "1"]) == 0
    page = Path(capsys.readouterr().out.strip())
    assert page == data_dir / "inspect" / "artwork-00001.html" and page.is_file()
    assert "How artwork 1 was chosen" in page.read_text(encoding="utf-8")
    assert main(["inspect", "9"]) == 1
    assert "no artwork with id 9" in capsys.readouterr().err


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


def archive_of(data_dir: Path, count: int) -> None:
    """An archive of `count` small sample artworks in `data_dir`, made through the storage layer."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        for seed in range(1, count + 1):
            store_sample_artwork(db, ImageStore(data_dir), seed=seed)
    finally:
        db.close()


def test_history_pages_and_says_how_many_more(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive_of(data_dir, 5)
    assert main(["history", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[:2]] == ["5", "4"]
    assert out[2:] == ["\u2026 3 more: use --limit 5 to list them all"]
    assert main(["history", "--limit", "5"]) == 0
    assert "more" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("limit", "why"),
    [
        ("0", "must be 1 or more, got 0"),
        ("-5", "must be 1 or more, got -5"),
        ("ten", "must be a whole number, got 'ten'"),
    ],
)
def test_history_limit_must_be_a_positive_whole_number(
    data_dir: Path, limit: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["history", "--limit", limit])
    assert info.value.code == 2
    assert f"argument --limit: {why}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("artworks", "unbuffered"),
    # Buffered, the first write is the flush at the end, or mid-listing once 150 rows overflow
    # the buffer; unbuffered (PYTHONUNBUFFERED, as in Docker), it is the first row.
    [(0, False), (150, False), (3, True)],
)
def test_history_into_a_closed_pipe_stops_quietly(
    tmp_path: Path, artworks: int, unbuffered: bool
) -> None:
    data_dir = tmp_path / "data"
    archive_of(data_dir, artworks)
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
        "DATA_DIR": str(data_dir),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    # The reader is gone before Kavi writes a byte, as `| head` is once it has its lines.
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "history", "--limit", "200"],
            cwd=tmp_path,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error(tmp_path: Path) -> None:
    # A socket's EPIPE (say, to a platform) must not pass for a reader gone away.
    code = (
        "import bot.cli as cli\n"
        "def history(*args):\n    raise BrokenPipeError(32, 'Broken pipe')\n"
        "cli._history = history\n"
        "raise SystemExit(cli.main(['history']))\n"
    )
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("kavi: error: BrokenPipeError: [Errno 32] Broken pipe")


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


@pytest.mark.parametrize("command", [["status"], ["serve", "--dry-run"]])
def test_a_schedule_finer_than_the_daily_post_exits_2(
    data_dir: Path,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POST_SCHEDULE", "*/10 9 * * *")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "POST_SCHEDULE: '*/10 9 * * *' fires 6 times a day, but Kavi posts once a day" in err


def test_a_bad_database_url_exits_2_naming_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "notaurl://")
    assert main(["history"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kavi: configuration error: invalid configuration: DATABASE_URL: ")
    assert "NoSuchModuleError" not in err


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
        "names = ('numpy', 'PIL', 'sqlalchemy', 'pydantic', 'torch', 'skimage', 'apscheduler',\n"
        "         'generators.mood', 'generators.image', 'bot.logs', 'bot.lock',\n"
        "         'fastapi', 'starlette', 'uvicorn', 'jinja2', 'bot.web')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = run_python(code)
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
