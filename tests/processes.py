"""A child process whose output is read as it comes, so tests wait on what it says, not on time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Generous on purpose: a loaded 2-core machine can take many seconds to start Python. These
# bound a hang; a test that passes never waits for them.
READY_TIMEOUT = 120.0


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter at the repository root (what a command imports)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )


class WatchedProcess:
    """A running process; its stdout and stderr are collected line by line on a thread."""

    def __init__(
        self, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.process = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait_for_line(self, text: str, *, timeout: float = READY_TIMEOUT, start: int = 0) -> int:
        """Block until a line containing `text` is printed; return its index.

        Fails at once, with the output so far, if the process ends without printing it.
        """
        with self._changed:
            found = self._changed.wait_for(
                lambda: self._find(text, start) is not None or self._closed, timeout
            )
            index = self._find(text, start)
            if index is not None:
                return index
            output = "".join(self._lines)
        why = "the process ended" if found else f"{timeout:.0f} s passed"
        raise AssertionError(f"{why} before it printed {text!r}; its output:\n{output}")

    def _find(self, text: str, start: int) -> int | None:
        for index in range(start, len(self._lines)):
            if text in self._lines[index]:
                return index
        return None

    def line_count(self) -> int:
        with self._changed:
            return len(self._lines)

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float = READY_TIMEOUT) -> str:
        """Wait for the process to end (killing it after `timeout`); return all it printed."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=READY_TIMEOUT)
        return self.output

    def stop(self, timeout: float = READY_TIMEOUT) -> str:
        """SIGTERM (a graceful stop), then wait; return all it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)


def kavi_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment for a `python -m bot` child: DATA_DIR set, no KAVI_/ACCELERATE_ leaks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAVI_", "ACCELERATE_"))}
    env.update(extra or {}, DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    return env


def signal_after_line(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, line: str, signum: int
) -> WatchedProcess:
    """Start `argv`, send `signum` once it prints `line`, wait for it to end; the process."""
    process = WatchedProcess(argv, env=env, cwd=cwd)
    try:
        process.wait_for_line(line)
        process.send_signal(signum)
    finally:
        process.wait()
    return process
