"""`python -m bot serve`: the long-running service that posts once a day on POST_SCHEDULE.

An APScheduler BlockingScheduler fires a cron job (standard cron, in TZ) stored in the
same database as the archive. What decides whether a run posts is never the scheduler
alone: every run takes the DATA_DIR chain lock and then asks the runs table whether
today's post already went out, so a restart, a catch-up and a `--post-now` can never
post twice on one day, and two processes never run the chain at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from bot.health import HEARTBEAT_SECONDS, Heartbeat, this_host, write_heartbeat
from bot.lock import DataDirBusy, DataDirLock, chain_lock, hold_service
from bot.schedule import parse_cron
from core.errors import ConfigError, KaviError

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.base import BaseTrigger

    from bot.settings import Settings
    from storage.db import Database

log = logging.getLogger(__name__)

JOB_ID = "kavi-daily-post"
HEARTBEAT_JOB_ID = "kavi-heartbeat"
WARM_UP_JOB_ID = "kavi-warm-up"
SAME_DAY_RETRY_JOB_ID = "kavi-same-day-retry"
SAME_DAY_RESEND_JOB_ID = "kavi-same-day-resend"
# A scheduled run that fails before anything reached a platform is tried again later the
# same day (a network outage at posting time should not cost the day's post).
SAME_DAY_RETRY_AFTER = timedelta(minutes=30)
SAME_DAY_ATTEMPTS = 3
# How long a scheduled run waits for a `--post-now` that holds the chain before giving up.
CHAIN_WAIT_SECONDS = 3600.0
# How long start-up waits for a `--post-now` to finish before recovering interrupted runs.
STARTUP_WAIT_SECONDS = 900.0
# A second SIGTERM/SIGINT abandons the run only if it comes at least this long after the first.
SIGNAL_REPEAT_SECONDS = 1.0
# A daily schedule never needs to look further back than this for a missed run.
LOOKBACK = timedelta(days=1)


class Poster(Protocol):
    """What the service needs from `bot.service.Kavi` (tests pass a fake with the same shape)."""

    @property
    def db(self) -> Database: ...

    def today(self, now: datetime | None = None) -> date: ...

    def post_now(
        self,
        *,
        dry_run: bool,
        seed: int | None = None,
        mood: str | None = None,
        trigger: str = "manual",
    ) -> Any: ...

    def resend_unsent(self, artwork_id: int) -> list[Any]: ...

    def close(self) -> None: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def last_fire_time(trigger: BaseTrigger, now: datetime, since: datetime) -> datetime | None:
    """The latest time in [since, now] at which `trigger` fires, or None if it does not."""
    fire = trigger.get_next_fire_time(None, since)
    latest = None
    # A cron trigger fires at most once a second; the bound only guards against a bad trigger.
    for _ in range(int((now - since).total_seconds()) + 2):
        if fire is None or fire > now:
            break
        latest = fire
        # Step in UTC: adding to a local time in a DST fold would step back an hour.
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    return latest


def grace_seconds(settings: Settings) -> int:
    # APScheduler reads None as "no limit" and rejects 0, so a zero grace becomes one second.
    return max(1, round(settings.misfire_grace_hours * 3600))


def today_done(db: Database, day: date, *, dry_run: bool) -> str | None:
    """Why `day`'s post (or preview) counts as gone out, or None when it has not.

    A succeeded run counts; so does a failed or abandoned run whose artwork reached a
    platform (posted, or posting/unknown awaiting reconciliation): re-running it would
    post a second artwork on the platforms that already took the first.
    """
    from storage.repository import succeeded_run_on

    done = succeeded_run_on(db, day, dry_run=dry_run)
    if done is not None:
        return f"run {done.id} ({done.trigger}) succeeded"
    if dry_run:
        return None
    from storage.models import PostState
    from storage.repository import posts_for_artwork

    reached = {PostState.POSTED, PostState.POSTING, PostState.UNKNOWN}
    for run_id, artwork_id in _runs_with_artwork_on(db, day):
        states = [post.state for post in posts_for_artwork(db, artwork_id)]
        if any(state in reached for state in states):
            listed = ", ".join(sorted(state.value for state in states))
            return f"run {run_id} reached a platform ({listed})"
    return None


def _runs_with_artwork_on(db: Database, day: date) -> list[tuple[int, int]]:
    from sqlalchemy import select

    from storage.models import RunRow

    with db.session() as session:
        rows = session.execute(
            select(RunRow.id, RunRow.artwork_id).where(
                RunRow.local_date == day,
                RunRow.dry_run.is_(False),
                RunRow.artwork_id.is_not(None),
            )
        ).all()
    return [(run_id, artwork_id) for run_id, artwork_id in rows if artwork_id is not None]


def recover_interrupted(poster: Poster, *, dry_run: bool) -> None:
    """At start-up, close what a dead process left (bot.service.recover_dead_process).

    Runs left `running` are abandoned and posts left `posting` become unknown; when posting,
    every recent unknown post is then looked up. Bad publisher settings stop the start
    (ConfigError); a platform that cannot be reached now is logged and left for the next run,
    which reconciles again before it posts.
    """
    from bot.service import recover_dead_process

    # A preview service needs no credentials: it settles the database and looks nothing up.
    publishing = None if dry_run else getattr(poster, "publishing", None)
    try:
        recovery = recover_dead_process(poster.db, publishing, every_unknown=True)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - the service must start; the next run retries
        log.error("could not reconcile interrupted posts now (the next run will): %s", exc)
        return
    for outcome in recovery.reconciled:
        log.info("reconciled: %s", outcome.message)


class Service:
    """One running bot: the scheduler, its jobs, the locks, the heartbeat and signal handling."""

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
        self.settings = settings
        self.dry_run = dry_run
        self.clock = clock
        self.heartbeat_seconds = heartbeat_seconds
        self.chain_wait = chain_wait
        self.startup_wait = startup_wait
        self.warm_up = warm_up
        self._recover_posts = recover
        self._poster = poster
        self._make_scheduler = make_scheduler
        self.trigger = parse_cron(settings.post_schedule, settings.tz)
        self.scheduler: BaseScheduler | None = None
        self._service_lock: DataDirLock | None = None
        self._run_lock: DataDirLock | None = None
        self._work = threading.Lock()  # warm-up and runs never overlap in this process
        self._stopping = threading.Event()
        self._stopper: threading.Thread | None = None
        self._first_signal_at = 0.0
        self._state = "starting"
        self._started_at = utcnow()
        self._resends: dict[date, int] = {}

    @property
    def kind(self) -> str:
        return "preview" if self.dry_run else "post"

    @property
    def poster(self) -> Poster:
        if self._poster is None:
            raise RuntimeError("the service has not started")
        return self._poster

    # --- lifecycle --------------------------------------------------------------------

    def run(self, *, install_signals: bool = True) -> int:
        """Hold DATA_DIR, recover, schedule, and block until stopped; return the exit code."""
        if not self.dry_run and not self.settings.publishers:
            raise ConfigError(
                "no publisher is enabled: set PUBLISHERS=twitter,instagram (with their "
                "credentials) in .env, or run `serve --dry-run` to make previews on the schedule"
            )
        self._service_lock = hold_service(self.settings.data_dir)
        previous = self._install_signal_handlers() if install_signals else {}
        global _ACTIVE
        try:
            if self._poster is None:
                from bot.service import Kavi

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
            self.scheduler = scheduler
            _ACTIVE = self
            if self._stopping.is_set():
                return 0
            from apscheduler.events import EVENT_SCHEDULER_STARTED

            scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
            scheduler.start()  # blocks (BlockingScheduler) until stop()
            if self._stopper is not None:
                self._stopper.join()
            log.info("service stopped")
            return 0
        finally:
            _ACTIVE = None
            self._state = "stopped"
            self._safe_beat()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self._poster is not None:
                self._poster.close()
            self._service_lock.release()

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
        from apscheduler.schedulers import SchedulerNotRunningError

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

    def abandon(self, signum: int) -> NoReturn:
        """A second signal: record the run in progress as abandoned and exit at once."""
        log.warning("second %s: abandoning the run in progress", signal.Signals(signum).name)
        if self._run_lock is not None and self._poster is not None:
            from storage.repository import abandon_running_runs

            # We hold the chain lock, so the only running row on this DATA_DIR is ours.
            try:
                abandon_running_runs(self._poster.db)
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

    # --- start-up -----------------------------------------------------------------------

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
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        jobstores = {
            "default": SQLAlchemyJobStore(engine=self.poster.db.engine),
            "memory": MemoryJobStore(),
        }
        options = {
            "jobstores": jobstores,
            "timezone": self.settings.tz,
            "job_defaults": {"coalesce": True, "max_instances": 1},
        }
        if self._make_scheduler is not None:
            scheduler = self._make_scheduler(**options)
        else:
            from apscheduler.schedulers.blocking import BlockingScheduler

            scheduler = BlockingScheduler(**options)
        first_run = self.catch_up_time()
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
        scheduler.add_job(
            self.beat,
            "interval",
            seconds=self.heartbeat_seconds,
            id=HEARTBEAT_JOB_ID,
            jobstore="memory",
            next_run_time=now,
            misfire_grace_time=None,
        )
        if self.warm_up:
            scheduler.add_job(self.warm, "date", run_date=now, id=WARM_UP_JOB_ID, jobstore="memory")
        return scheduler

    def catch_up_time(self) -> datetime | None:
        """The scheduled time missed while down, if it is within the grace and still needed."""
        now = self.clock()
        missed = last_fire_time(self.trigger, now, now - LOOKBACK)
        if missed is None or missed >= now:
            return None
        day = self.poster.today(now)
        late = now - missed
        if late > timedelta(seconds=grace_seconds(self.settings)):
            # Only today's missed time is worth a word; an earlier day's was handled that day.
            if self.poster.today(missed) == day and not today_done(
                self.poster.db, day, dry_run=self.dry_run
            ):
                log.warning(
                    "today's %s, scheduled at %s, was missed by %s, more than "
                    "MISFIRE_GRACE_HOURS=%s: skipped; use --post-now to post by hand",
                    self.kind,
                    missed.isoformat(),
                    _duration(late),
                    self.settings.misfire_grace_hours,
                )
            return None
        done = today_done(self.poster.db, day, dry_run=self.dry_run)
        if done is not None:
            log.info("today's %s (%s) already went out: %s", self.kind, day, done)
            return None
        log.info(
            "the %s scheduled at %s was missed while the service was down: running it now",
            self.kind,
            missed.isoformat(),
        )
        return missed

    # --- jobs -----------------------------------------------------------------------------

    def warm(self) -> None:
        """Load the chain's engines (and so the models) once, before the first run needs them."""
        with self._work:
            if self._stopping.is_set():
                return
            # Inside the lock: `Kavi.chain` is built lazily, and a run may be building it too.
            chain = getattr(self.poster, "chain", None)
            if chain is None:
                return
            for stage in ("poem", "image", "mood"):
                try:
                    chain.engine(stage)
                except Exception as exc:  # noqa: BLE001 - the run will report it properly
                    log.error("could not load the %s engine ahead of the first run: %s", stage, exc)
                    return
        log.info("engines loaded and kept warm")

    def daily_post(self) -> None:
        """The scheduled job: make today's post (or preview) unless it already went out."""
        self._with_chain(self._post_once, f"scheduled {self.kind}")

    def _with_chain(self, action: Callable[[], None], what: str) -> None:
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

    def _post_once(self) -> None:
        day = self.poster.today(self.clock())
        done = today_done(self.poster.db, day, dry_run=self.dry_run)
        if done is not None:
            log.info(
                "scheduled %s skipped: today's (%s) already went out: %s", self.kind, day, done
            )
            return
        self._state = "running"
        self._safe_beat()
        log.info("scheduled %s starting for %s", self.kind, day)
        try:
            report = self.poster.post_now(dry_run=self.dry_run, trigger="scheduled")
        except KaviError as exc:
            log.error("scheduled %s failed: %s", self.kind, exc)
            self._retry_later_today(day)
            return
        except Exception:
            log.exception("scheduled %s failed unexpectedly", self.kind)
            self._retry_later_today(day)
            return
        ok = getattr(report, "ok", True)
        if not ok:
            self._retry_later_today(day)
        outcome = "succeeded" if ok else "failed"
        log.info(
            "scheduled %s %s: run=%s artwork=%s",
            self.kind,
            outcome,
            getattr(report, "run_id", "?"),
            getattr(getattr(getattr(report, "result", None), "artwork", None), "id", "?"),
        )

    def _retry_later_today(self, day: date) -> None:
        """After a failed run, try once more later today unless something already went out."""
        from storage.models import RunStatus
        from storage.repository import count_runs_on

        if self.scheduler is None or self._stopping.is_set():
            return
        if today_done(self.poster.db, day, dry_run=self.dry_run) is not None:
            # Part of it went out: a new artwork would double-post; resend only what never left.
            self._resend_later_today(day)
            return
        failures = count_runs_on(
            self.poster.db, day, dry_run=self.dry_run, trigger="scheduled", status=RunStatus.FAILED
        )
        retry_at = self.clock() + SAME_DAY_RETRY_AFTER
        if failures >= SAME_DAY_ATTEMPTS or self.poster.today(retry_at) != day:
            log.error(
                "today's %s failed %s time(s); no more tries today: see `python -m bot status`",
                self.kind,
                failures,
            )
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

    def _unsent_artworks(self, day: date) -> list[int]:
        """Today's artworks with a post that failed without reaching its platform."""
        from storage.models import PostState
        from storage.repository import posts_for_artwork

        return [
            artwork_id
            for _run_id, artwork_id in _runs_with_artwork_on(self.poster.db, day)
            if any(
                post.state == PostState.FAILED and post.retryable
                for post in posts_for_artwork(self.poster.db, artwork_id)
            )
        ]

    def _resend_later_today(self, day: date) -> None:
        """Schedule a resend of today's never-sent posts, a bounded number of times."""
        if self.scheduler is None or self._stopping.is_set() or not self._unsent_artworks(day):
            log.warning("scheduled %s partly failed: see `python -m bot status`", self.kind)
            return
        tries = self._resends.get(day, 0)
        retry_at = self.clock() + SAME_DAY_RETRY_AFTER
        if tries >= SAME_DAY_ATTEMPTS - 1 or self.poster.today(retry_at) != day:
            log.error(
                "today's %s could not reach every platform; no more tries today: "
                "see `python -m bot status`",
                self.kind,
            )
            return
        self._resends[day] = tries + 1
        self.scheduler.add_job(
            self.resend_unsent,
            "date",
            run_date=retry_at,
            args=[day],
            id=SAME_DAY_RESEND_JOB_ID,
            jobstore="memory",
            replace_existing=True,
            misfire_grace_time=grace_seconds(self.settings),
        )
        log.info("today's unsent posts will be sent again at %s", retry_at.isoformat())

    def resend_unsent(self, day: date) -> None:
        """The resend job: send again today's posts that never reached their platform."""

        def resend() -> None:
            for artwork_id in self._unsent_artworks(day):
                try:
                    outcomes = self.poster.resend_unsent(artwork_id)
                except Exception:  # noqa: BLE001 - logged; the service goes on
                    log.exception("resending artwork %s failed", artwork_id)
                    continue
                for outcome in outcomes:
                    log.info("resend of artwork %s: %s", artwork_id, outcome.message)
            if self._unsent_artworks(day):
                self._resend_later_today(day)

        self._with_chain(resend, "resend of today's unsent posts")

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

    def next_run(self) -> datetime | None:
        scheduler = self.scheduler
        if scheduler is not None and scheduler.running:
            job = scheduler.get_job(JOB_ID)
            if job is not None:
                next_time: datetime | None = job.next_run_time
                return next_time
        return self.trigger.get_next_fire_time(None, utcnow())


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


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def serve(settings: Settings, *, dry_run: bool, **options: Any) -> int:
    """Run the service until SIGTERM/SIGINT; 0 on a clean stop. Raises ConfigError/DataDirBusy."""
    return Service(settings, dry_run=dry_run, **options).run()
