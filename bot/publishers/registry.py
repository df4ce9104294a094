"""The publisher registry: each platform's name, label, settings and class, declared once.

Settings validation (`PUBLISHERS`), the credentials check, secret redaction, the CLI's
`retry --platform` choices, `status`, the labels in messages, `.env.example` and README's
publisher table all read it. A publisher is added with one `register_publisher(spec)` call;
a built-in's class is named by a lazy "module:Class" path, so importing this module (which
`--help` does) imports no SDK, no pydantic and no publisher module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from core.errors import ConfigError

if TYPE_CHECKING:
    from bot.publishers.base import Publisher

# Takes bot.settings.Settings (not named here: settings reads this registry).
PublisherFactory = Callable[[Any], "Publisher"]


class UnknownPublisherError(ConfigError):
    """No publisher of that name is registered."""


@dataclass(frozen=True)
class PublisherSetting:
    """One environment variable a publisher reads: a credential or an option."""

    variable: str  # the environment variable, e.g. TWITTER_API_KEY
    description: str  # one line, for README's table
    required: bool = True
    secret: bool = True  # read as SecretStr and redacted from every log and output

    @property
    def field(self) -> str:
        """The Settings attribute that holds it, when Settings declares one."""
        return self.variable.lower()


@dataclass(frozen=True)
class PublisherSpec:
    """Everything Kavi needs to know about a publisher before building it.

    `factory` is a callable taking Settings, or a "module:Class" path imported on first
    build, so a publisher whose SDK is heavy costs nothing until it posts.
    """

    name: str  # what PUBLISHERS, `retry --platform` and the database's post rows say
    label: str  # what people call the platform, in messages ("X")
    description: str
    factory: PublisherFactory | str
    settings: tuple[PublisherSetting, ...] = ()

    @property
    def required_variables(self) -> tuple[str, ...]:
        return tuple(s.variable for s in self.settings if s.required)


_REGISTRY: dict[str, PublisherSpec] = {}


def register_publisher(spec: PublisherSpec) -> PublisherSpec:
    """Make a publisher available by name (replacing any earlier one of that name)."""
    _REGISTRY[spec.name] = spec
    return spec


def unregister_publisher(name: str) -> None:
    """Forget a publisher (a test's toy, once the test is done)."""
    _REGISTRY.pop(name, None)


def get_publisher_spec(name: str) -> PublisherSpec:
    """The publisher registered as `name`, or UnknownPublisherError listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownPublisherError(
            f"unknown publisher {name!r}; choose from: {', '.join(publisher_names())}"
        ) from None


def publisher_specs() -> list[PublisherSpec]:
    """Every registered publisher, in registration order (built-ins first)."""
    return list(_REGISTRY.values())


def enable_hint() -> str:
    """How to enable publishing, naming the registered platforms (for "nothing enabled")."""
    return f"set PUBLISHERS={','.join(publisher_names())} (with their credentials) in .env"


def publisher_names() -> list[str]:
    return list(_REGISTRY)


def publisher_label(name: str) -> str:
    """What people call the platform; its name when no longer registered (an old post row)."""
    spec = _REGISTRY.get(name)
    return spec.label if spec else name


class RegisteredNames(Sequence[str]):
    """The registered names, read when used: argparse `choices` that a later registration joins.

    Building the parser must stay cheap (`--help`), and a publisher registered after the
    parser is built (a plugin, a test's toy) must still be accepted and listed.
    """

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return publisher_names()[index]

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __iter__(self) -> Iterator[str]:
        return iter(publisher_names())

    def __contains__(self, name: object) -> bool:
        return name in _REGISTRY


def markdown_table() -> str:
    """README's table of publishers and their variables, made from the registry."""
    rows = [
        "| `PUBLISHERS` name | platform | variable | required | secret | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for spec in publisher_specs():
        for index, setting in enumerate(spec.settings):
            name, label = (f"`{spec.name}`", spec.label) if index == 0 else ("", "")
            flags = " | ".join(
                "yes" if flag else "no" for flag in (setting.required, setting.secret)
            )
            rows.append(
                f"| {name} | {label} | `{setting.variable}` | {flags} | {setting.description} |"
            )
    return "\n".join(rows)


# --- the built-in publishers ------------------------------------------------------------------
# Declared here rather than in their modules, so that reading settings imports neither the
# modules (requests, PIL) nor their SDKs (tweepy, instagrapi); each class loads on first build.

register_publisher(
    PublisherSpec(
        name="twitter",
        label="X",
        description="X (Twitter): v2 media upload with alt text, then a post",
        factory="bot.publishers.twitter:TwitterPublisher",
        settings=(
            PublisherSetting("TWITTER_API_KEY", "the app's API key (consumer key)"),
            PublisherSetting("TWITTER_API_SECRET", "the app's API key secret"),
            PublisherSetting("TWITTER_ACCESS_TOKEN", "the account's access token"),
            PublisherSetting("TWITTER_ACCESS_TOKEN_SECRET", "the account's access token secret"),
        ),
    )
)
register_publisher(
    PublisherSpec(
        name="instagram",
        label="Instagram",
        description="Instagram through instagrapi, with the login session kept and reused",
        factory="bot.publishers.instagram:InstagramPublisher",
        settings=(
            PublisherSetting("INSTAGRAM_USERNAME", "the account's username", secret=False),
            PublisherSetting("INSTAGRAM_PASSWORD", "the account's password"),
            PublisherSetting(
                "INSTAGRAM_TOTP_SECRET",
                "the authentication app key (base32), only if two-factor is on",
                required=False,
            ),
        ),
    )
)
register_publisher(
    PublisherSpec(
        name="mastodon",
        label="Mastodon",
        description="Mastodon (Mastodon.py): media with alt text and focus point, then a status",
        factory="bot.publishers.mastodon:MastodonPublisher",
        settings=(
            PublisherSetting(
                "MASTODON_API_BASE_URL",
                "the instance's address, e.g. https://mastodon.social",
                secret=False,
            ),
            PublisherSetting(
                "MASTODON_ACCESS_TOKEN",
                "an access token with the write:media and write:statuses scopes",
            ),
        ),
    )
)
register_publisher(
    PublisherSpec(
        name="bluesky",
        label="Bluesky",
        description="Bluesky (atproto): image within 1 MB with alt text and aspect ratio, tags",
        factory="bot.publishers.bluesky:BlueskyPublisher",
        settings=(
            PublisherSetting(
                "BLUESKY_HANDLE", "the account's handle, e.g. kavi.bsky.social", secret=False
            ),
            PublisherSetting("BLUESKY_APP_PASSWORD", "an app password (never the main one)"),
        ),
    )
)
register_publisher(
    PublisherSpec(
        name="instagram_graph",
        label="Instagram (Graph API)",
        description="Instagram's official content-publishing API, with a long-lived token",
        factory="bot.publishers.instagram_graph:InstagramGraphPublisher",
        settings=(
            PublisherSetting(
                "INSTAGRAM_GRAPH_ACCESS_TOKEN",
                "a long-lived Instagram Login token of a Professional account",
            ),
            PublisherSetting(
                "PUBLIC_BASE_URL",
                "the gallery's public address; Instagram fetches <it>/images/<id>.jpg (a JPEG: the "
                "API takes no other format)",
                secret=False,
            ),
        ),
    )
)
