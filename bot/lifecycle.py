"""The process side of `serve`: DATA_DIR locks, signals, a clean shutdown and the heartbeat.

Nothing here knows what the jobs do: `bot.scheduler.Service` builds the scheduler and its
jobs on top of `ServiceProcess`, and runs each job that touches the archive through
`with_chain`, so it never overlaps another run in this process or in another.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

# apscheduler is imported at the top: only `serve` imports this module (the CLI imports
# bot.scheduler lazily), so `--help` and the other commands never pay for it.
from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError

from bot.health import Heartbeat, this_host, write_heartbeat
from bot.lock import DataDirBusy, DataDirLock, chain_lock, hold_service

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from bot.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_JOB_ID = "kavi-heartbeat"
# A second SIGTERM/SIGINT abandons the run only if it comes at least this long after the first.
SIGNAL_REPEAT_SECONDS = 1.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class ServiceProcess(ABC):
    """One long-running process around a scheduler, stopped cleanly by SIGTERM/SIGINT.

    A subclass implements `serve` (build the scheduler and its jobs, then `run_scheduler`),
    `next_run` (for the heartbeat) and `record_abandoned` (what a second signal leaves in
    the archive). A first signal stops new runs and waits for the one in progress; a second
    one, sent on purpose, records it abandoned and exits at once.
    """

    def __init__(
        self, settings: Settings, *, dry_run: bool, heartbeat_seconds: float, chain_wait: float
    ) -> None:
        self.settings = settings
        self.dry_run = dry_run
        self.heartbeat_seconds = heartbeat_seconds
        self.chain_wait = chain_wait
        self.scheduler: BaseScheduler | None = None
        self._run_lock: DataDirLock | None = None
        self._work = threading.Lock()  # warm-up and runs never overlap in this process
        self._stopping = threading.Event()
        self._stopper: threading.Thread | None = None
        self._first_signal_at = 0.0
        self._state = "starting"
        self._started_at = utcnow()

    @property
    def kind(self) -> str:
        return "preview" if self.dry_run else "post"

    # --- what the subclass provides -------------------------------------------------------

    @abstractmethod
    def serve(self) -> int:
        """Build the scheduler and its jobs, then `run_scheduler`; the exit code."""

    @abstractmethod
    def next_run(self) -> datetime | None:
        """When the next run is due, for the heartbeat (None if the schedule never fires)."""

    @abstractmethod
    def record_abandoned(self) -> None:
        """Record in the archive that the run in progress is abandoned (we hold the chain)."""

    # --- lifecycle ------------------------------------------------------------------------

    def run(self, *, install_signals: bool = True) -> int:
        """Hold DATA_DIR, serve until stopped, and leave a `stopped` heartbeat; the exit code."""
        service_lock = hold_service(self.settings.data_dir)
        previous = self._install_signal_handlers() if install_signals else {}
        try:
            return self.serve()
        finally:
            self._state = "stopped"
            self._safe_beat()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            service_lock.release()

    def run_scheduler(self, scheduler: BaseScheduler) -> int:
        """Start `scheduler` and block (BlockingScheduler) until `stop`; 0 on a clean stop."""
        self.scheduler = scheduler
        if self._stopping.is_set():
            return 0
        scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
        try:
            scheduler.start()  # blocks (BlockingScheduler) until stop()
        except JobLookupError:
            # APScheduler's shutdown() marks the scheduler stopped before it takes its locks:
            # a round of job processing already under way then cannot remove a one-shot job
            # it just submitted, and the loop raises. Only a stop gets there, and the loop
            # was ending anyway; anything else is a real error.
            if not self._stopping.is_set():
                raise
            log.debug("the scheduler's last round ended on the stop", exc_info=True)
        if self._stopper is not None:
            self._stopper.join()
        log.info("service stopped")
        return 0

    def stop(self) -> None:
        """Stop gracefully: no new run starts, a run in progress finishes first."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        scheduler = self.scheduler
        if scheduler is not None and scheduler.running:
            self._shut_down_in_background(scheduler)

    def _on_started(self, _event: object) -> None:
        # A stop that came between building the scheduler and starting it.
        if self._stopping.is_set() and self.scheduler is not None:
            self._shut_down_in_background(self.scheduler)
            return
        next_run = self.next_run()
        log.info(
            "scheduler started: next %s at %s",
            self.kind,
            next_run.isoformat() if next_run else "never (the schedule never fires again)",
        )

    def _shut_down_in_background(self, scheduler: BaseScheduler) -> None:
        # Not in the signal handler itself: it may run while the main loop holds the
        # scheduler's job store lock, and the shutdown waits until the run ends.
        if self._stopper is None:
            self._stopper = threading.Thread(
                target=self._shut_down, args=(scheduler,), name="kavi-shutdown", daemon=True
            )
            self._stopper.start()

    def _shut_down(self, scheduler: BaseScheduler) -> None:
        with contextlib.suppress(SchedulerNotRunningError):
            # shutdown() marks the scheduler stopped before it takes the job-store lock, so a
            # one-shot job submitted in that instant cannot be removed (JobLookupError) and
            # the main loop dies. Pause first (no new round starts), then let the round in
            # progress finish: get_jobs() waits for the same lock.
            scheduler.pause()
            scheduler.get_jobs()
            # Not wait=True: that holds the job-store lock while waiting for the jobs, and a
            # job that reads or adds a job (the heartbeat's next run, a run's same-day retry)
            # would wait for it forever. The run in progress is waited for below instead.
            scheduler.shutdown(wait=False)
        with self._work:
            pass  # the run (or warm-up) in progress has finished; no new one starts now

    # --- signals --------------------------------------------------------------------------

    def abandon(self, signum: int) -> NoReturn:
        """A second signal: record the run in progress as abandoned and exit at once."""
        log.warning("second %s: abandoning the run in progress", signal.Signals(signum).name)
        if self._run_lock is not None:
            try:
                self.record_abandoned()
            except Exception as exc:  # noqa: BLE001 - exiting anyway; the next start retries
                log.error("could not mark the run abandoned (the next start will): %s", exc)
        self._state = "stopped"
        self._safe_beat()
        logging.shutdown()
        # Worker threads cannot be interrupted; leaving now is what "abandon" means. Files are
        # written atomically, and a post left `posting` is reconciled at the next start.
        os._exit(128 + signum)

    def _install_signal_handlers(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stopping.is_set():
            # `timeout`, a terminal or an init may deliver one stop request twice at once;
            # only a signal sent again on purpose abandons the run.
            if time.monotonic() - self._first_signal_at >= SIGNAL_REPEAT_SECONDS:
                self.abandon(signum)
            return
        self._first_signal_at = time.monotonic()
        busy = self._run_lock is not None
        log.info(
            "%s: stopping%s (send it again to abandon)",
            name,
            " after the run in progress" if busy else "",
        )
        self.stop()

    # --- runs -----------------------------------------------------------------------------

    def with_chain(self, action: Callable[[], None], what: str) -> None:
        """Run `action` holding the chain lock, so no other process posts at the same time."""
        with self._work:
            # Checked holding `_work`: the shutdown waits for `_work` once stopping is set.
            if self._stopping.is_set():
                log.info("%s not started: the service is stopping", what)
                return
            lock = chain_lock(self.settings.data_dir)
            try:
                acquired = lock.acquire(
                    timeout=self.chain_wait,
                    should_stop=self._stopping.is_set,
                    on_wait=lambda pid: log.info(
                        "%s waits for process %s to finish its post", what, pid
                    ),
                )
            except DataDirBusy as exc:
                log.error("%s skipped: %s", what, exc)
                return
            if not acquired:
                log.info("%s not started: the service is stopping", what)
                return
            self._run_lock = lock
            try:
                action()
            finally:
                self._run_lock = None
                lock.release()
                self._state = "idle"
                self._safe_beat()

    def set_running(self) -> None:
        """Say in the heartbeat that a run is in progress (`with_chain` says idle after it)."""
        self._state = "running"
        self._safe_beat()

    # --- heartbeat ------------------------------------------------------------------------

    def add_heartbeat(self, scheduler: BaseScheduler, now: datetime) -> None:
        """Beat now and then every `heartbeat_seconds`, from the scheduler's own thread pool."""
        scheduler.add_job(
            self.beat,
            "interval",
            seconds=self.heartbeat_seconds,
            id=HEARTBEAT_JOB_ID,
            jobstore="memory",
            next_run_time=now,
            misfire_grace_time=None,
        )

    def beat(self) -> None:
        """Write the heartbeat that `health` reads: alive, what it is doing, next run."""
        state = self._state
        if state == "starting" and self.scheduler is not None and self.scheduler.running:
            state = self._state = "idle"
        write_heartbeat(
            self.settings.data_dir,
            Heartbeat(
                pid=os.getpid(),
                host=this_host(),
                time=utcnow(),
                started_at=self._started_at,
                state=state,
                dry_run=self.dry_run,
                schedule=self.settings.post_schedule,
                tz=self.settings.tz,
                next_run=self.next_run() if state != "stopped" else None,
            ),
        )

    def _safe_beat(self) -> None:
        try:
            self.beat()
        except Exception as exc:  # noqa: BLE001 - a heartbeat must never break a run
            log.warning("could not write the heartbeat: %s", exc)
