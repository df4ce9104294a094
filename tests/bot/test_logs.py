from __future__ import annotations

import logging

import pytest

from bot.logs import configure_logging


def test_secrets_are_redacted_in_messages_args_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", ["hunter2-password", "tok-ABCDEF"])
    log = logging.getLogger("kavi.test")
    log.info("logging in with %s", "hunter2-password")
    try:
        raise RuntimeError("bad token tok-ABCDEF")
    except RuntimeError:
        log.exception("failed")
    out = capsys.readouterr().out
    assert "hunter2-password" not in out and "tok-ABCDEF" not in out
    assert out.count("***") >= 2
    assert "RuntimeError" in out
