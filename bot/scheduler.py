"""`python -m bot serve`: the long-running service that posts once a day on POST_SCHEDULE.

An APScheduler BlockingScheduler fires a cron job (standard cron, in TZ) stored in the
same database as the archive. What decides whether a run posts is never the scheduler
alone: every run takes the DATA_DIR chain lock and then asks the runs table whether
today's post already went out, so a restart, a catch-up and a `--post-now` can never
post twice on one day, and two processes never run the chain at once.

Three pieces: `bot.daily` decides (what is due, catch-up, same-day retry and resend),
`bot.lifecycle` keeps the process (locks, signals, shutdown, heartbeat), and `Service`
here wires the jobs that post.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

# apscheduler is imported at the top: only `serve` imports this module (the CLI imports it
# lazily), so `--help` and the other commands never pay for it.
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.daily import Calendar, DailyPlan, grace_seconds
from bot.health import HEARTBEAT_SECONDS
from bot.lifecycle import ServiceProcess, utcnow
from bot.lock import chain_lock
from bot.publishers.registry import enable_hint
from bot.schedule import parse_cron
from bot.service import Kavi, Recovery
from core.errors import ConfigError, KaviError
from storage.repository import abandon_running_runs

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from bot.publishing import PublishOutcome
    from bot.settings import Settings
    from generators.registry import Stage

log = logging.getLogger(__name__)

JOB_ID = "kavi-daily-post"
WARM_UP_JOB_ID = "kavi-warm-up"
SAME_DAY_RETRY_JOB_ID = "kavi-same-day-retry"
SAME_DAY_RESEND_JOB_ID = "kavi-same-day-resend"
# How long a scheduled run waits for a `--post-now` that holds the chain before giving up.
CHAIN_WAIT_SECONDS = 3600.0
# How long start-up waits for a `--post-now` to finish before recovering interrupted runs.
STARTUP_WAIT_SECONDS = 900.0
STAGES: tuple[Stage, ...] = ("poem", "image", "mood")


class RunSummary(Protocol):
    """What the service reads from a run's report (`bot.service.RunReport`)."""

    @property
    def run_id(self) -> int: ...

    @property
    def ok(self) -> bool: ...

    @property
    def artwork_id(self) -> int | None: ...


class EngineLoader(Protocol):
    """The chain as the warm-up sees it (`bot.chain.Chain`): engines loaded on first use."""

    def engine(self, stage: Stage) -> object: ...


class Poster(Calendar, Protocol):
    """What the service needs from `bot.service.Kavi` (tests pass a fake with the same shape)."""

    @property
    def chain(self) -> EngineLoader: ...

    def post_now(self, *, dry_run: bool, trigger: str) -> RunSummary: ...

    def recover(self, *, look_up: bool = True, every_unknown: bool = False) -> Recovery: ...

    def resend_unsent(self, artwork_id: int) -> list[PublishOutcome]: ...

    def close(self) -> None: ...


def recover_interrupted(poster: Poster, *, dry_run: bool) -> None:
    """At start-up, close what a dead process left (bot.service.recover_dead_process).

    Runs left `running` are abandoned and posts left `posting` become unknown; when posting,
    every recent unknown post is then looked up. Bad publisher settings stop the start
    (ConfigError); a platform that cannot be reached now is logged and left for the next run,
    which reconciles again before it posts.
    """
    try:
        # A preview service needs no credentials: it settles the database and looks nothing up.
        recovery = poster.recover(look_up=not dry_run, every_unknown=True)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - the service must start; the next run retries
        log.error("could not reconcile interrupted posts now (the next run will): %s", exc)
        return
    for outcome in recovery.reconciled:
        log.info("reconciled: %s", outcome.message)


class Service(ServiceProcess):
    """One running bot: the daily job, its same-day retries and resends, and the warm-up."""

    def __init__(
        self,
        settings: Settings,
        *,
        dry_run: bool,
        poster: Poster | None = None,
        clock: Callable[[], datetime] = utcnow,
        make_scheduler: Callable[..., BaseScheduler] | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        chain_wait: float = CHAIN_WAIT_SECONDS,
        startup_wait: float = STARTUP_WAIT_SECONDS,
        warm_up: bool = True,
        recover: Callable[..., None] = recover_interrupted,
    ) -> None:
        super().__init__(
            settings, dry_run=dry_run, heartbeat_seconds=heartbeat_seconds, chain_wait=chain_wait
        )
        self.clock = clock
        self.startup_wait = startup_wait
        self.warm_up = warm_up
        self._recover_posts = recover
        self._poster = poster
        self._make_scheduler = make_scheduler
        self.trigger = parse_cron(settings.post_schedule, settings.tz)

    @property
    def poster(self) -> Poster:
        if self._poster is None:
            raise RuntimeError("the service has not started")
        return self._poster

    @cached_property
    def plan(self) -> DailyPlan:
        """The daily decision over this service's archive (built once the poster exists)."""
        return DailyPlan(
            self.settings, self.trigger, self.poster, dry_run=self.dry_run, clock=self.clock
        )

    # --- lifecycle ------------------------------------------------------------------------

    def run(self, *, install_signals: bool = True) -> int:
        """Hold DATA_DIR, recover, schedule, and block until stopped; return the exit code."""
        if not self.dry_run and not self.settings.publishers:
            raise ConfigError(
                f"no publisher is enabled: {enable_hint()}, or run `serve --dry-run` to make "
                "previews on the schedule"
            )
        return super().run(install_signals=install_signals)

    def serve(self) -> int:
        global _ACTIVE
        try:
            if self._poster is None:
                self._poster = Kavi(self.settings)
            # One line per run is logged here; APScheduler's per-execution lines are noise.
            if not log.isEnabledFor(logging.DEBUG):
                logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
            log.info(
                "service starting: pid=%s schedule=%r tz=%s dry_run=%s grace=%sh data_dir=%s",
                os.getpid(),
                self.settings.post_schedule,
                self.settings.tz,
                self.dry_run,
                self.settings.misfire_grace_hours,
                self.settings.data_dir,
            )
            self.beat()
            if not self._recover():
                return 0
            scheduler = self._build_scheduler()
            _ACTIVE = self
            return self.run_scheduler(scheduler)
        finally:
            _ACTIVE = None
            if self._poster is not None:
                self._poster.close()

    def record_abandoned(self) -> None:
        # We hold the chain lock, so the only running row on this DATA_DIR is ours.
        if self._poster is not None:
            abandon_running_runs(self._poster.db)

    def next_run(self) -> datetime | None:
        scheduler = self.scheduler
        if scheduler is not None and scheduler.running:
            job = scheduler.get_job(JOB_ID)
            if job is not None:
                next_time: datetime | None = job.next_run_time
                return next_time
        return self.trigger.get_next_fire_time(None, utcnow())

    def catch_up_time(self) -> datetime | None:
        """The scheduled time missed while down, if it is within the grace and still needed."""
        return self.plan.catch_up_time()

    # --- start-up -------------------------------------------------------------------------

    def _recover(self) -> bool:
        """Close what a dead process left open; False when told to stop while waiting."""
        lock = chain_lock(self.settings.data_dir)
        acquired = lock.acquire(
            timeout=self.startup_wait,
            should_stop=self._stopping.is_set,
            on_wait=lambda pid: log.info(
                "waiting for process %s to finish its post before starting", pid or "?"
            ),
        )
        if not acquired:
            return False
        try:
            self._recover_posts(self.poster, dry_run=self.dry_run)
        finally:
            lock.release()
        return True

    def _build_scheduler(self) -> BaseScheduler:
        jobstores = {
            "default": SQLAlchemyJobStore(engine=self.poster.db.engine),
            "memory": MemoryJobStore(),
        }
        options = {
            "jobstores": jobstores,
            "timezone": self.settings.tz,
            "job_defaults": {"coalesce": True, "max_instances": 1},
        }
        make_scheduler = self._make_scheduler or BlockingScheduler
        scheduler = make_scheduler(**options)
        first_run = self.plan.catch_up_time()
        scheduler.add_job(
            run_daily_post,
            trigger=self.trigger,
            id=JOB_ID,
            name="daily " + self.kind,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace_seconds(self.settings),
            # A missed run is fed back as the job's first run time: APScheduler runs it at once.
            **({"next_run_time": first_run} if first_run is not None else {}),
        )
        now = utcnow()
        self.add_heartbeat(scheduler, now)
        if self.warm_up:
            scheduler.add_job(self.warm, "date", run_date=now, id=WARM_UP_JOB_ID, jobstore="memory")
        return scheduler

    # --- jobs -----------------------------------------------------------------------------

    def warm(self) -> None:
        """Load the chain's engines (and so the models) once, before the first run needs them."""
        with self._work:
            if self._stopping.is_set():
                return
            # Inside the lock: `Kavi.chain` is built lazily, and a run may be building it too.
            chain = self.poster.chain
            for stage in STAGES:
                try:
                    chain.engine(stage)
                except Exception as exc:  # noqa: BLE001 - the run will report it properly
                    log.error("could not load the %s engine ahead of the first run: %s", stage, exc)
                    return
        log.info("engines loaded and kept warm")

    def daily_post(self) -> None:
        """The scheduled job: make today's post (or preview) unless it already went out."""
        self.with_chain(self._post_once, f"scheduled {self.kind}")

    def _post_once(self) -> None:
        day = self.poster.today(self.clock())
        done = self.plan.done(day)
        if done is not None:
            log.info(
                "scheduled %s skipped: today's (%s) already went out: %s", self.kind, day, done
            )
            return
        self.set_running()
        log.info("scheduled %s starting for %s", self.kind, day)
        try:
            report = self.poster.post_now(dry_run=self.dry_run, trigger="scheduled")
        except KaviError as exc:
            log.error("scheduled %s failed: %s", self.kind, exc)
            self._try_again_later_today(day)
            return
        except Exception:
            log.exception("scheduled %s failed unexpectedly", self.kind)
            self._try_again_later_today(day)
            return
        if not report.ok:
            self._try_again_later_today(day)
        log.info(
            "scheduled %s %s: run=%s artwork=%s",
            self.kind,
            "succeeded" if report.ok else "failed",
            report.run_id,
            report.artwork_id if report.artwork_id is not None else "?",
        )
        if not self.dry_run:
            self._read_metrics()

    def _read_metrics(self) -> None:
        """Once a day, after the post: what the platforms say about the last 30 days' posts."""
        # A Poster without it (a test's) simply has no figures to read.
        read = getattr(self.poster, "read_metrics", None)
        if read is None:
            return
        try:
            read()
        except Exception:  # noqa: BLE001 - figures are a nicety; the post is what matters
            log.exception("reading the posts' figures failed")

    def _try_again_later_today(self, day: date) -> None:
        """After a failed run, try once more later today unless something already went out."""
        if self.scheduler is None or self._stopping.is_set():
            return
        if self.plan.done(day) is not None:
            # Part of it went out: a new artwork would double-post; resend only what never left.
            self._resend_later_today(day)
            return
        retry_at = self.plan.retry_time(day)
        if retry_at is None:
            return
        self.scheduler.add_job(
            run_daily_post,
            "date",
            run_date=retry_at,
            id=SAME_DAY_RETRY_JOB_ID,
            jobstore="memory",
            replace_existing=True,
            misfire_grace_time=grace_seconds(self.settings),
        )
        log.info("today's %s will be tried again at %s", self.kind, retry_at.isoformat())

    def _resend_later_today(self, day: date) -> None:
        """Schedule a resend of today's never-sent posts, a bounded number of times."""
        if self.scheduler is None or self._stopping.is_set() or not self.plan.unsent_artworks(day):
            log.warning("scheduled %s partly failed: see `python -m bot status`", self.kind)
            return
        resend_at = self.plan.resend_time(day)
        if resend_at is None:
            return
        self.scheduler.add_job(
            self.resend_unsent,
            "date",
            run_date=resend_at,
            args=[day],
            id=SAME_DAY_RESEND_JOB_ID,
            jobstore="memory",
            replace_existing=True,
            misfire_grace_time=grace_seconds(self.settings),
        )
        log.info("today's unsent posts will be sent again at %s", resend_at.isoformat())

    def resend_unsent(self, day: date) -> None:
        """The resend job: send again today's posts that never reached their platform."""

        def resend() -> None:
            for artwork_id in self.plan.unsent_artworks(day):
                try:
                    outcomes = self.poster.resend_unsent(artwork_id)
                except Exception:  # noqa: BLE001 - logged; the service goes on
                    log.exception("resending artwork %s failed", artwork_id)
                    continue
                for outcome in outcomes:
                    log.info("resend of artwork %s: %s", artwork_id, outcome.message)
            if self.plan.unsent_artworks(day):
                self._resend_later_today(day)

        self.with_chain(resend, "resend of today's unsent posts")


# The job store keeps a reference to a module-level function (it pickles jobs); the running
# service behind it lives here, so the warm Kavi is never pickled.
_ACTIVE: Service | None = None


def run_daily_post() -> None:
    """Entry point stored with the daily job; runs the active service's daily post."""
    service = _ACTIVE
    if service is None:
        log.warning("daily post fired with no service running; ignored")
        return
    service.daily_post()


def serve(settings: Settings, *, dry_run: bool, **options: Any) -> int:
    """Run the service until SIGTERM/SIGINT; 0 on a clean stop. Raises ConfigError/DataDirBusy."""
    return Service(settings, dry_run=dry_run, **options).run()
