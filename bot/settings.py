"""Kavi's typed settings, read from the environment and `.env`, validated at start."""

from __future__ import annotations

import os
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.publishers.registry import (
    PublisherSetting,
    get_publisher_spec,
    publisher_specs,
)
from bot.schedule import check_once_a_day
from core.errors import ConfigError
from generators.catalog import Stage, engine_names
from generators.models import DEFAULT_EMOTION_MODEL, DEFAULT_IMAGE_MODEL, DEFAULT_POEM_MODEL
from generators.mood.moods import MOOD_NAMES

DEFAULT_HASHTAGS = "#haiku #aiart #generativeart #poetry #kavi"

Device = Literal["auto", "cuda", "cpu", "mps"]
DType = Literal["auto", "float32", "bfloat16", "float16"]


# What leaving a comma-list setting empty means, for the error that says how to do it.
_EMPTY_LIST_MEANS = {"MOODS": "to draw from all moods", "PUBLISHERS": "to only preview"}

# Each engine setting and the stage whose registered engines it chooses from.
_ENGINE_STAGES: dict[str, Stage] = {
    "poem_engine": "poem",
    "image_engine": "image",
    "style_engine": "mood",
}


def _split_list(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str):
        return value
    parts = [part.strip().lower() for part in value.split(",") if part.strip()]
    if value.strip() and not parts:
        # `MOODS=,` is a slip, not a wish: an empty value is how to leave a list unset.
        name = (info.field_name or "").upper()
        raise ValueError(
            f"{value.strip()!r} names nothing; list them separated by commas, "
            f"or leave {name} empty {_EMPTY_LIST_MEANS.get(name, 'for the default')}"
        )
    return parts


def _hashtag_problem(tag: str) -> str | None:
    body = tag.removeprefix("#")
    if not body:
        return "is an empty hashtag"
    # Letters (with their combining marks), digits and _ : what X and Instagram link as a tag.
    if not all(ch == "_" or unicodedata.category(ch)[0] in "LMN" for ch in body):
        return "has a character a hashtag cannot hold (use letters, digits and _)"
    if body.isdigit():
        return "is only digits, which X and Instagram do not link as a hashtag"
    return None


_SOURCES = SettingsConfigDict(
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    case_sensitive=False,
    # `STYLE_DIR=` in .env means "not set", not the current folder.
    env_ignore_empty=True,
)


class Settings(BaseSettings):
    """Every setting Kavi reads; names are the environment variables (case-insensitive)."""

    model_config = _SOURCES

    data_dir: Path = Path("./data")
    database_url: str | None = None
    tz: str = "UTC"
    post_schedule: str = "0 9 * * *"
    misfire_grace_hours: float = Field(default=6.0, ge=0, le=23)

    poem_engine: str = "auto"
    image_engine: str = "auto"
    style_engine: str = "auto"
    poem_model: str = DEFAULT_POEM_MODEL
    image_model: str = DEFAULT_IMAGE_MODEL
    tiny_vae: str = "auto"
    torch_device: Device = "auto"
    torch_dtype: DType = "auto"
    # Set in the GPU image: no GPU there is a fault to report, not a quiet CPU fallback.
    expect_gpu: bool = False
    torch_compile: bool = False
    image_steps: int = Field(default=2, ge=1, le=50)
    style_strength: float = Field(default=0.35, ge=0.0, le=1.0)
    poem_fallback: bool = True

    image_size: int = Field(default=1024, ge=256, le=2048)
    # The ink hand letters the poem on the painting, as haiga do, where the paper is empty.
    lettering: bool = True
    # Draw the mood from the poem's emotions (false: an even draw over MOODS).
    mood_from_poem: bool = True
    # A GoEmotions text classifier (Hugging Face id or folder) read the poem with when it is on
    # disk with the neural extra; else (or `none`) the NRC lexicon.
    emotion_model: str = DEFAULT_EMOTION_MODEL
    # Never repeat: a poem sharing this share of its lines and word triples with one past
    # poem, or an image this many bits (of 64) from a past one's perceptual hash, is redrawn,
    # up to NOVELTY_TRIES drafts.
    poem_repeat: float = Field(default=0.5, gt=0.0, le=1.0)
    image_repeat: int = Field(default=6, ge=0, le=32)
    novelty_tries: int = Field(default=5, ge=1, le=50)
    # Best of N: drafts made per run (each about 0.2-0.5 s offline at 1024 px on a CPU), and
    # the weights of their scores in the choice.
    candidates: int = Field(default=3, ge=1, le=64)
    # Taste from the audience (bot/taste.py): lean the mood draw toward the moods people
    # liked, once this many artworks have figures, leaving it out on a share of days.
    taste: bool = True
    taste_min_artworks: int = Field(default=30, ge=1)
    taste_explore: float = Field(default=0.2, ge=0.0, le=1.0)
    score_novelty: float = Field(default=1.0, ge=0.0)
    score_quality: float = Field(default=1.0, ge=0.0)
    score_agreement: float = Field(default=1.0, ge=0.0)
    # The side the diffusion model renders at; unset: its native size (512 for SD-Turbo).
    image_render_size: int | None = Field(default=None, ge=256, le=2048)
    moods: Annotated[list[str], NoDecode] = Field(default_factory=list)
    style_dir: Path | None = None
    # A style trained with `kavi style train NAME`, painted by IMAGE_ENGINE=gan.
    style_name: str = ""
    # A LoRA fused into the diffusion model: a style trained with `--backend lora` (by name), a
    # LoRA checkpoint folder or a .safetensors file; and how strongly it applies.
    lora: str = ""
    lora_scale: float = Field(default=1.0, ge=0.0, le=4.0)
    # What measures a style sample's distance to its training images (`kavi style inspect`,
    # the gan painter's copy check): auto, perceptual, or an image embedding model.
    style_descriptor: str = "auto"

    publishers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The built-in publishers' variables (bot/publishers/registry.py), typed here for their
    # modules; a publisher registered elsewhere needs no field (see publisher_settings).
    twitter_api_key: SecretStr | None = None
    twitter_api_secret: SecretStr | None = None
    twitter_access_token: SecretStr | None = None
    twitter_access_token_secret: SecretStr | None = None
    instagram_username: str | None = None
    instagram_password: SecretStr | None = None
    instagram_totp_secret: SecretStr | None = None
    mastodon_api_base_url: str | None = None
    mastodon_access_token: SecretStr | None = None
    bluesky_handle: str | None = None
    bluesky_app_password: SecretStr | None = None
    instagram_graph_access_token: SecretStr | None = None
    # X bills every read under its pay-per-use pricing: its posts' figures only on request.
    read_x_metrics: bool = False

    # The gallery (`kavi web`).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    # The gallery's public address: absolute links in the feed, and where platforms that
    # fetch the image by URL (the Instagram Graph API) find it.
    public_base_url: str | None = None
    web_admin_token: SecretStr | None = None

    hashtags: str = DEFAULT_HASHTAGS
    signature: str = "— Kavi, an AI poet-painter"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("moods", "publishers", mode="before")
    @classmethod
    def _comma_list(cls, value: Any, info: ValidationInfo) -> Any:
        return _split_list(value, info)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # empty means unset: kavi.db in DATA_DIR
        # Lazy: SQLAlchemy is heavy, and only a DATABASE_URL that is set needs it here.
        from storage.db import check_database_url

        check_database_url(value.strip())
        return value.strip()

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not a web address; give where the gallery is reached, "
                "e.g. https://kavi.example.org"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"{value!r} must be a plain address, without ?query, #part or login")
        return value.strip().rstrip("/")

    @field_validator("web_admin_token")
    @classmethod
    def _admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        # A short token can be guessed through the login form; the message never echoes it.
        if len(value.get_secret_value().strip()) < 16:
            raise ValueError(
                "is too short: use at least 16 characters, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(24))'`"
            )
        return SecretStr(value.get_secret_value().strip())

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, value: str) -> str:
        if not value.strip():
            return DEFAULT_HASHTAGS  # empty means unset, as in .env
        if value.strip().lower() == "none":
            return ""
        tags = value.replace(",", " ").split()
        if not tags:
            raise ValueError(
                f"{value!r} lists no hashtag; give some, e.g. '#haiku #art', or 'none' for none"
            )
        for tag in tags:
            problem = _hashtag_problem(tag)
            if problem:
                raise ValueError(f"{tag!r} {problem}")
        return value

    @field_validator("log_level", "torch_device", "torch_dtype", mode="before")
    @classmethod
    def _normalise_case(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Paris"
            ) from None
        return value

    @field_validator("post_schedule")
    @classmethod
    def _cron(cls, value: str, info: ValidationInfo) -> str:
        # TZ is validated first; when it failed, its own error says so.
        check_once_a_day(value, info.data.get("tz", "UTC"))
        return value

    @field_validator("poem_engine", "image_engine", "style_engine", mode="before")
    @classmethod
    def _engine(cls, value: Any, info: Any) -> Any:
        stage = _ENGINE_STAGES[info.field_name]
        name = str(value).strip().lower()
        choices = ["auto", *engine_names(stage)]
        if name not in choices:
            raise ValueError(f"unknown engine {value!r}; choose one of: {', '.join(choices)}")
        return name

    @field_validator("moods")
    @classmethod
    def _moods(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in MOOD_NAMES]
        if unknown:
            raise ValueError(f"unknown mood {unknown[0]!r}; choose from: {', '.join(MOOD_NAMES)}")
        return value

    @field_validator("publishers")
    @classmethod
    def _publishers(cls, value: list[str]) -> list[str]:
        for name in value:
            get_publisher_spec(name)  # an unknown name raises, listing the registered ones
        return list(dict.fromkeys(value))

    @field_validator("style_dir")
    @classmethod
    def _style_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{str(value)!r} is not a folder")
        return value

    @field_validator("style_name")
    @classmethod
    def _style_name(cls, value: str) -> str:
        from generators.style.layout import check_style_name

        return check_style_name(value.strip()) if value.strip() else ""

    @field_validator("style_descriptor")
    @classmethod
    def _style_descriptor(cls, value: str) -> str:
        name = value.strip()
        if name.lower() in {"", "auto", "perceptual"}:
            return name.lower() or "auto"
        # A model id or folder is checked where it is used: the gan painter's options at
        # start, `kavi style inspect` when it runs.
        return name

    @field_validator("data_dir")
    @classmethod
    def _data_dir_writable(cls, value: Path) -> Path:
        path = value.expanduser()
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise ValueError(
                f"{str(path)!r} is not a writable folder ({exc.strerror or exc})"
            ) from None
        return path.resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kavi.db'}"

    @property
    def lora_source(self) -> str:
        """Where LORA points: a style's folder when it is a style name, else the path, or ''."""
        from generators.style.layout import STYLE_NAME_PATTERN

        value = self.lora.strip()
        if not value:
            return ""
        style = self.data_dir / "styles" / value
        # A style of that name wins over a folder of that name where Kavi happens to run.
        if STYLE_NAME_PATTERN.match(value) and (
            style.is_dir() or not Path(value).expanduser().exists()
        ):
            return str(style)
        return str(Path(value).expanduser())

    @property
    def style_model(self) -> str:
        """The folder of the style STYLE_NAME names (what the gan painter loads), or ''."""
        return str(self.data_dir / "styles" / self.style_name) if self.style_name else ""

    @property
    def enabled_moods(self) -> tuple[str, ...]:
        return tuple(self.moods) if self.moods else MOOD_NAMES

    @property
    def hashtag_list(self) -> list[str]:
        tags = [
            t if t.startswith("#") else f"#{t}" for t in self.hashtags.replace(",", " ").split()
        ]
        return list(dict.fromkeys(tags))

    def publisher_settings(self, name: str) -> dict[str, SecretStr | str | None]:
        """The named publisher's variables (as its registry spec lists them) and their values.

        One lookup for every publisher: a variable Settings declares a field for (the
        built-ins', which `load_settings(twitter_api_key=...)` can set) is read from that
        field; any other (a publisher registered later, by a plugin or a test) is read from
        the environment and .env through the same pydantic-settings sources, with the same
        rules, so adding a publisher never means adding a field here. Secrets are SecretStr.
        """
        spec = get_publisher_spec(name)
        declared = type(self).model_fields
        undeclared = tuple(s for s in spec.settings if s.field not in declared)
        read = _read_variables(undeclared) if undeclared else {}
        return {
            s.variable: getattr(self, s.field) if s.field in declared else read[s.field]
            for s in spec.settings
        }

    def secret_values(self) -> list[str]:
        """The configured secret values, so logs and outputs can be scanned and redacted."""
        values = []
        for spec in publisher_specs():
            configured = self.publisher_settings(spec.name)
            for setting in spec.settings:
                value = configured[setting.variable]
                text = value.get_secret_value() if isinstance(value, SecretStr) else value
                if setting.secret and text:
                    values.append(text)
        if self.web_admin_token is not None:
            values.append(self.web_admin_token.get_secret_value())
        # A database password lives inside DATABASE_URL (postgresql://kavi:PASSWORD@host/db).
        password = urlsplit(self.database_url).password if self.database_url else None
        if password:
            values.extend({password, unquote(password)})
        return values


class _PublisherVariables(BaseSettings):
    model_config = _SOURCES


@lru_cache
def _variables_model(settings: tuple[PublisherSetting, ...]) -> type[BaseSettings]:
    """A settings model holding just these publisher variables, read like Settings' own."""
    fields: dict[str, Any] = {
        s.field: (SecretStr | None if s.secret else str | None, None) for s in settings
    }
    return create_model("PublisherVariables", __base__=_PublisherVariables, **fields)


def _read_variables(settings: tuple[PublisherSetting, ...]) -> dict[str, Any]:
    try:
        return _variables_model(settings)().model_dump()
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def environment_variables() -> list[str]:
    """Every variable Kavi reads: the settings' own and each registered publisher's."""
    names = {name.upper() for name in Settings.model_fields}
    names.update(s.variable for spec in publisher_specs() for s in spec.settings)
    return sorted(names)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise ConfigError naming the variable and what is allowed."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(p) for p in error["loc"]).upper() or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if error.get("type") == "literal_error":
            message = message.replace("Input should be", "allowed:")
        lines.append(f"{name}: {message}")
    # Variables named in the error never carry secret values: input is excluded above.
    return "invalid configuration: " + "; ".join(lines)


def env_flag(name: str) -> bool:
    """True when an environment switch such as KAVI_DEBUG is set to a truthy value."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
