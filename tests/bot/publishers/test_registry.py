"""The publisher registry: one declaration per platform, read by settings, CLI and docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.publishers.registry import (
    RegisteredNames,
    UnknownPublisherError,
    get_publisher_spec,
    markdown_table,
    publisher_names,
    publisher_specs,
)
from bot.settings import Settings
from core.errors import ConfigError
from tests.processes import run_python

REPO = Path(__file__).resolve().parents[3]


def test_unknown_publisher_names_the_known_ones() -> None:
    with pytest.raises(UnknownPublisherError) as info:
        get_publisher_spec("myspace")
    assert isinstance(info.value, ConfigError)
    assert str(info.value) == (
        "unknown publisher 'myspace'; choose from: twitter, instagram, mastodon, bluesky, "
        "instagram_graph"
    )


def test_builtins_are_registered_with_labels() -> None:
    assert publisher_names()[:2] == ["twitter", "instagram"]
    assert get_publisher_spec("twitter").label == "X"
    assert "twitter" in RegisteredNames() and "myspace" not in RegisteredNames()


def test_settings_fields_of_builtin_variables_match_their_spec() -> None:
    # A secret declared in the registry must be a SecretStr field, or it could be printed.
    for spec in publisher_specs():
        for setting in spec.settings:
            field = Settings.model_fields.get(setting.field)
            if field is not None:
                assert (field.annotation == (SecretStr | None)) is setting.secret, setting.variable


def test_importing_the_registry_imports_no_publisher_module_or_sdk() -> None:
    code = (
        "import sys, bot.publishers.registry\n"
        "names = ('bot.publishers.twitter', 'bot.publishers.instagram', 'tweepy', "
        "'instagrapi', 'requests', 'pydantic', 'bot.publishers.mastodon', 'mastodon', "
        "'bot.publishers.bluesky', 'atproto', 'bot.publishers.instagram_graph')\n"
        "print('LOADED', [m for m in names if m in sys.modules])\n"
    )
    proc = run_python(code)
    assert "LOADED []" in proc.stdout, proc.stderr


def test_readme_publisher_table_is_made_from_the_registry() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- publishers:[^\n]*-->\n(.*?)\n<!-- /publishers -->", readme, re.S)
    assert found, "README.md lost its <!-- publishers: ... --> <!-- /publishers --> markers"
    assert found.group(1) == markdown_table(), (
        "README's publisher table is out of date with bot/publishers/registry.py; put this "
        f"between its <!-- publishers --> markers:\n{markdown_table()}"
    )


def test_docs_list_every_publisher_name() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `PUBLISHERS` |"))
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    comment = next(line for line in example.splitlines() if "platforms to post to" in line)
    for name in publisher_names():
        assert f"`{name}`" in row, f"add `{name}` to README's PUBLISHERS row"
        assert name in comment, f"add {name} to .env.example's PUBLISHERS comment"
