"""Building a registered publisher from the settings, once its credentials are all there."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bot.publishers.registry import PublisherSpec, get_publisher_spec
from core.errors import ConfigError

if TYPE_CHECKING:
    from bot.publishers.base import Publisher
    from bot.settings import Settings


def build_publisher(spec: PublisherSpec, settings: Settings) -> Publisher:
    """Call the spec's factory, importing a lazy "module:Class" on first use."""
    factory = spec.factory
    if isinstance(factory, str):
        module_name, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
    publisher: Publisher = factory(settings)
    return publisher


def missing_credentials(name: str, settings: Settings) -> list[str]:
    """The required environment variables of the named publisher that are not set."""
    values = settings.publisher_settings(name)
    missing = []
    for variable in get_publisher_spec(name).required_variables:
        value = values[variable]
        text = value if value is None or isinstance(value, str) else value.get_secret_value()
        if not (text or "").strip():
            missing.append(variable)
    return missing


def get_publisher(name: str, settings: Settings, *, check_credentials: bool = True) -> Publisher:
    """Build the named publisher; raise ConfigError naming the variables to set when any is missing.

    `check_credentials=False` is for previews: fitting a draft needs no credentials.
    """
    spec = get_publisher_spec(name)
    if check_credentials:
        missing = missing_credentials(name, settings)
        if missing:
            raise ConfigError(
                f"{name} is enabled in PUBLISHERS but its credentials are missing: set "
                f"{', '.join(missing)} in .env (README: Publishing), "
                f"or remove {name} from PUBLISHERS"
            )
    return build_publisher(spec, settings)
