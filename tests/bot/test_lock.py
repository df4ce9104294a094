from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.lock import DataDirBusy, chain_lock, hold_chain, hold_service, service_lock
from core.errors import ConfigError
from tests.processes import READY_TIMEOUT


def test_service_lock_is_exclusive_and_names_the_holder(tmp_path: Path) -> None:
    first = hold_service(tmp_path)
    try:
        with pytest.raises(DataDirBusy) as caught:
            hold_service(tmp_path)
        message = str(caught.value)
        assert f"pid {os.getpid()}" in message
        assert str(tmp_path) in message
        assert caught.value.holder == os.getpid()
        # The CLI maps ConfigError to exit code 2.
        assert isinstance(caught.value, ConfigError)
    finally:
        first.release()
    hold_service(tmp_path).release()


def test_service_and_chain_locks_are_independent(tmp_path: Path) -> None:
    service = hold_service(tmp_path)
    try:
        with hold_chain(tmp_path, timeout=0):
            pass
    finally:
        service.release()


def test_post_now_waits_for_the_chain_then_gets_it(tmp_path: Path) -> None:
    held = chain_lock(tmp_path)
    assert held.try_acquire()
    waited_for: list[int | None] = []

    def release_once_waiting(pid: int | None) -> None:
        # The waiter says it is waiting: only now does the holder let go.
        waited_for.append(pid)
        threading.Thread(target=held.release).start()

    with hold_chain(tmp_path, timeout=READY_TIMEOUT, on_wait=release_once_waiting) as lock:
        assert lock.held
        assert not held.held
    assert waited_for == [os.getpid()]


def test_post_now_gives_up_after_the_bound_with_a_clear_message(tmp_path: Path) -> None:
    held = chain_lock(tmp_path)
    assert held.try_acquire()
    try:
        start = time.monotonic()
        with pytest.raises(DataDirBusy) as caught, hold_chain(tmp_path, timeout=0.5):
            pass
        # It gave up rather than waiting on (the bound is loose: a loaded machine is slow).
        assert time.monotonic() - start < READY_TIMEOUT
        assert "still making a post" in str(caught.value)
        assert "waiting 0.5 s" in str(caught.value)
    finally:
        held.release()


def test_waiting_stops_when_asked(tmp_path: Path) -> None:
    held = chain_lock(tmp_path)
    assert held.try_acquire()
    try:
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        waiter = chain_lock(tmp_path)
        assert waiter.acquire(timeout=30, should_stop=stop.is_set) is False
        assert not waiter.held
    finally:
        held.release()


def test_a_dead_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path; from bot.lock import hold_service; "
        "hold_service(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)"
    )
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(DataDirBusy, match=f"pid {child.pid}"):
            hold_service(tmp_path)
    finally:
        child.kill()
        child.wait(timeout=10)
    # The kernel dropped the lock with the process; the pid left in the file is harmless.
    lock = hold_service(tmp_path)
    assert lock.holder() == os.getpid()
    lock.release()


def test_release_is_idempotent_and_context_manager_works(tmp_path: Path) -> None:
    lock = service_lock(tmp_path)
    with lock:
        assert lock.held
        assert not service_lock(tmp_path).try_acquire()
    assert not lock.held
    lock.release()
    assert service_lock(tmp_path).try_acquire()
