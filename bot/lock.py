"""One bot per DATA_DIR: advisory file locks for the service and for each run of the chain.

Two locks, both `fcntl.flock` on files in DATA_DIR, so the kernel drops them when the
holder dies (no stale lock to clean up after a crash or a `docker kill`):

- the *service* lock (`kavi.lock`) is held by `serve` for its whole life; a second
  `serve` on the same DATA_DIR is refused at once;
- the *chain* lock (`chain.lock`) is held only while the chain runs and posts, by the
  service's job or by `--post-now`; the other side waits for it, up to a bound.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from core.errors import ConfigError

SERVICE_LOCK = "kavi.lock"
CHAIN_LOCK = "chain.lock"
POLL_SECONDS = 0.2
# How long `--post-now` (or `retry`) waits for the service's run to finish before giving up.
POST_NOW_WAIT_SECONDS = 900.0


class DataDirBusy(ConfigError):
    """Another Kavi process holds this DATA_DIR (or its chain) and the lock could not be taken."""

    def __init__(self, message: str, holder: int | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class DataDirLock:
    """An exclusive, advisory, process-wide lock on one file; the holder's pid is written in it."""

    def __init__(self, path: Path, purpose: str) -> None:
        self.path = path
        self.purpose = purpose
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> int | None:
        """The pid written by the current (or last) holder, if the file names one."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another open file holds it."""
        if self._fd is not None:
            raise RuntimeError(f"the {self.purpose} lock {self.path} is already held here")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        # Only the holder writes, so a reader sees the pid of whoever holds it now.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return True

    def acquire(
        self,
        *,
        timeout: float = 0.0,
        should_stop: Callable[[], bool] | None = None,
        on_wait: Callable[[int | None], None] | None = None,
    ) -> bool:
        """Take the lock, waiting up to `timeout` seconds; raise DataDirBusy when it stays held.

        `on_wait(holder_pid)` is called once, when the lock is first found busy. Returns False
        (without the lock) only when `should_stop()` turns true while waiting.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        if self.try_acquire():
            return True
        if on_wait is not None:
            on_wait(self.holder())
        while time.monotonic() < deadline:
            if should_stop is not None and should_stop():
                return False
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))
            if self.try_acquire():
                return True
        raise DataDirBusy(self.busy_message(timeout), holder=self.holder())

    def busy_message(self, waited: float) -> str:
        holder = self.holder()
        who = f"process {holder}" if holder else "another process"
        waited_text = f" (waited {waited:g} s)" if waited > 0 else ""
        return f"{who} holds the {self.purpose} lock on {self.path.parent}{waited_text}"

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Leave the file (another waiter may have it open); truncating would race with it.
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> DataDirLock:
        if not self.held:
            self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def service_lock(data_dir: Path) -> DataDirLock:
    return DataDirLock(data_dir / SERVICE_LOCK, "service")


def chain_lock(data_dir: Path) -> DataDirLock:
    return DataDirLock(data_dir / CHAIN_LOCK, "chain")


def hold_service(data_dir: Path) -> DataDirLock:
    """Take the service lock at once, or raise DataDirBusy naming the service that holds it."""
    lock = service_lock(data_dir)
    if not lock.try_acquire():
        holder = lock.holder()
        who = f" (pid {holder})" if holder else ""
        raise DataDirBusy(
            f"another Kavi service{who} already holds DATA_DIR {data_dir}: one bot per data "
            "folder. Stop it first, or point DATA_DIR at another folder.",
            holder=holder,
        )
    return lock


@contextlib.contextmanager
def hold_chain(
    data_dir: Path,
    *,
    timeout: float,
    on_wait: Callable[[int | None], None] | None = None,
) -> Iterator[DataDirLock]:
    """Hold the chain lock for a `--post-now`, waiting up to `timeout` seconds for the service."""
    lock = chain_lock(data_dir)
    try:
        lock.acquire(timeout=timeout, on_wait=on_wait)
    except DataDirBusy as exc:
        who = f" (pid {exc.holder})" if exc.holder else ""
        raise DataDirBusy(
            f"another Kavi process{who} is still making a post in DATA_DIR {data_dir} after "
            f"waiting {timeout:g} s; try again once it has finished "
            "(`python -m bot status` shows the last run)",
            holder=exc.holder,
        ) from None
    try:
        yield lock
    finally:
        lock.release()
