from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, load_settings
from core.errors import ConfigError
from generators import registry as engines
from tests.processes import run_python


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    assert settings.tz == "UTC"
    assert settings.post_schedule == "0 9 * * *"
    assert settings.image_size == 1024
    assert settings.publishers == []
    assert len(settings.enabled_moods) == 20
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'kavi.db'}"


def test_reads_environment_and_lists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOODS", "Sadness, love")
    monkeypatch.setenv("PUBLISHERS", "twitter,instagram,twitter")
    monkeypatch.setenv("IMAGE_SIZE", "512")
    settings = load_settings()
    assert settings.enabled_moods == ("sadness", "love")
    assert settings.publishers == ["twitter", "instagram"]
    assert settings.image_size == 512


def test_reads_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TZ=Asia/Tokyo\nLOG_LEVEL=debug\n")
    settings = load_settings()
    assert settings.tz == "Asia/Tokyo"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TZ", "Mars/Olympus", "TZ: unknown time zone 'Mars/Olympus'"),
        ("POST_SCHEDULE", "every day", "POST_SCHEDULE: 'every day' must have 5 fields"),
        ("POST_SCHEDULE", "0 25 * * *", "POST_SCHEDULE: '0 25 * * *' is not a valid cron"),
        ("POST_SCHEDULE", "* * * * *", "POST_SCHEDULE: '* * * * *' fires 1440 times a day"),
        (
            "IMAGE_ENGINE",
            "dalle",
            "IMAGE_ENGINE: unknown engine 'dalle'; choose one of: auto, ink, procedural",
        ),
        ("MOODS", "joy", "MOODS: unknown mood 'joy'"),
        ("PUBLISHERS", "myspace", "PUBLISHERS: unknown publisher 'myspace'"),
        ("IMAGE_SIZE", "99", "IMAGE_SIZE: Input should be greater than or equal to 256"),
        ("DATABASE_URL", "notaurl://", "DATABASE_URL: SQLAlchemy has no database dialect"),
        ("DATABASE_URL", "kavi.db", "DATABASE_URL: not a valid SQLAlchemy database URL"),
        ("DATABASE_URL", "sqlite:////no/such/dir/kavi.db", "folder '/no/such/dir' does not"),
        ("MOODS", ",", "MOODS: ',' names nothing; list them separated by commas, or leave"),
        ("PUBLISHERS", " , ", "PUBLISHERS: ',' names nothing"),
        ("HASHTAGS", ",", "HASHTAGS: ',' lists no hashtag"),
        ("HASHTAGS", "#haiku #ai-art", "HASHTAGS: '#ai-art' has a character a hashtag cannot"),
        ("HASHTAGS", "#", "HASHTAGS: '#' is an empty hashtag"),
        ("TORCH_DEVICE", "tpu", "TORCH_DEVICE: allowed: 'auto', 'cuda', 'cpu' or 'mps'"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert expected in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("DATA_DIR", str(locked / "data"))
    with pytest.raises(ConfigError, match="DATA_DIR: .* is not a writable folder"):
        load_settings()


def test_data_dir_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("DATA_DIR", str(blocker))
    with pytest.raises(ConfigError, match="DATA_DIR: .* is not a writable folder"):
        load_settings()


def test_secrets_are_hidden_in_repr_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWITTER_API_SECRET", "s3cr3t-value-123")
    settings = load_settings()
    assert "s3cr3t-value-123" not in repr(settings)
    assert settings.secret_values() == ["s3cr3t-value-123"]
    monkeypatch.setenv("IMAGE_SIZE", "s3cr3t-value-123")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "s3cr3t-value-123" not in str(info.value)


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLE_DIR", "")
    monkeypatch.setenv("PUBLISHERS", "")
    settings = load_settings()
    assert settings.style_dir is None and settings.publishers == []


def test_database_url_with_a_missing_driver_names_it_but_never_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def without_psycopg(name: str, *args: Any, **kwargs: Any) -> Any:
        level = args[3] if len(args) > 3 else kwargs.get("level", 0)
        # Only the driver itself, not SQLAlchemy's own module of the same name.
        if level == 0 and name.split(".")[0] in ("psycopg", "psycopg2"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_psycopg)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://kavi:pa55word-xyz@db/kavi")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "DATABASE_URL: the driver for 'postgresql+psycopg' is not installed" in message
    assert "pa55word-xyz" not in message


def test_good_database_urls_and_lists_are_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    settings = load_settings(
        database_url=url, hashtags="#haiku, art #\u0939\u093f\u0902\u0926\u0940"
    )
    assert settings.resolved_database_url == url
    assert settings.hashtag_list == ["#haiku", "#art", "#\u0939\u093f\u0902\u0926\u0940"]
    assert load_settings(hashtags="none").hashtag_list == []
    assert Settings.model_validate({"database_url": " ", "hashtags": ""}) == load_settings()


def test_a_database_password_is_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Any URL SQLAlchemy takes may carry a password; it must be redacted like the others.
    monkeypatch.setenv("DATABASE_URL", f"sqlite://kavi:pa%2Fss-w0rd@/{tmp_path}/kavi.db")
    settings = load_settings()
    assert {"pa%2Fss-w0rd", "pa/ss-w0rd"} <= set(settings.secret_values())


def test_engine_settings_choose_from_the_engine_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engines.engine_names("image")  # the built-ins register first
    toy = engines.EngineSpec("image", "toy", lambda options: None)
    monkeypatch.setitem(engines._REGISTRY["image"], "toy", toy)
    monkeypatch.setenv("IMAGE_ENGINE", "Toy")
    assert load_settings(data_dir=tmp_path).image_engine == "toy"
    monkeypatch.setenv("IMAGE_ENGINE", "dalle")
    with pytest.raises(ConfigError, match="choose one of: auto, ink, procedural, toy, diffusion"):
        load_settings(data_dir=tmp_path)


def test_env_example_names_every_registered_engine() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    line = next(text for text in example.splitlines() if text.startswith("# poem: "))
    for stage in engines.STAGES:
        label = {"mood": "style"}.get(stage, stage)
        listed = line.split(f"{label}: ", 1)[1].split("  ", 1)[0]
        assert listed.split(" | ") == engines.engine_names(stage), (
            f"list the {stage} engines in .env.example's engine comment: "
            f"{' | '.join(engines.engine_names(stage))}"
        )


def test_a_fresh_process_accepts_every_built_in_engine_by_name() -> None:
    # The engine registry is a leaf: settings must see the engines without bot.chain loaded.
    result = run_python(
        "from bot.settings import load_settings as load\n"
        "load(poem_engine='grammar', image_engine='procedural', style_engine='classic')\n"
        "load(poem_engine='llm', image_engine='diffusion', style_engine='diffusion')\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_database_url_that_does_not_parse_never_quotes_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An unescaped '@' in a password makes the rest look like a host and a bad port.
    monkeypatch.setenv("DATABASE_URL", "postgresql://kavi:p@ss:w0rd-xyz@db/kavi")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "DATABASE_URL: not a valid SQLAlchemy database URL" in message
    assert "percent-encoded" in message
    assert "w0rd" not in message and "p@ss" not in message
