from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.daily import last_fire_time, today_done
from bot.health import next_run_time, read_heartbeat
from bot.lifecycle import SIGNAL_REPEAT_SECONDS
from bot.lock import chain_lock, hold_service
from bot.publishing import PublishOutcome
from bot.schedule import parse_cron
from bot.scheduler import JOB_ID, WARM_UP_JOB_ID, Service
from bot.service import Recovery, recover_dead_process
from bot.settings import Settings, load_settings
from core.errors import ConfigError
from generators.errors import GenerationError
from storage.db import Database
from storage.models import ArtworkRow, PostRow, PostState, RunRow, RunStatus
from storage.repository import finish_run, last_run, start_run
from tests.processes import READY_TIMEOUT, WatchedProcess

REPO = Path(__file__).resolve().parents[2]


def at(text: str, tz: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


# --- next run across time zones and DST ----------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "tz", "now", "expected_utc"),
    [
        # New York springs forward on 2026-03-08: 09:00 local moves from 14:00 to 13:00 UTC.
        ("0 9 * * *", "America/New_York", "2026-03-07T12:00", "2026-03-07T14:00"),
        ("0 9 * * *", "America/New_York", "2026-03-07T15:00", "2026-03-08T13:00"),
        # ...and falls back on 2026-11-01.
        ("0 9 * * *", "America/New_York", "2026-10-31T14:00", "2026-11-01T14:00"),
        # Half-hour offset zone.
        ("15 7 * * *", "Asia/Kolkata", "2026-06-01T00:00", "2026-06-01T01:45"),
        # 0 is Sunday; Monday 09:00 in Auckland is Sunday evening in UTC.
        ("0 9 * * 1", "Pacific/Auckland", "2026-11-23T12:00", "2026-11-29T20:00"),
        ("0 9 * * 0", "UTC", "2026-11-23T10:00", "2026-11-29T09:00"),
        # Berlin skips 02:00-03:00 on 2026-03-29: a 02:30 post still goes out that day, once.
        ("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00", "2026-03-29T01:30"),
        ("30 2 * * *", "Europe/Berlin", "2026-03-29T02:00", "2026-03-30T00:30"),
    ],
)
def test_next_run_across_time_zones_and_dst(
    schedule: str, tz: str, now: str, expected_utc: str, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path, post_schedule=schedule, tz=tz)
    fire = next_run_time(settings, at(now))
    assert fire is not None
    assert fire.astimezone(UTC) == at(expected_utc)
    # Reported in TZ, as `status` shows it.
    assert fire.utcoffset() == fire.astimezone(ZoneInfo(tz)).utcoffset()


def test_last_fire_time_steps_through_a_dst_fold() -> None:
    # Berlin repeats 02:00-03:00 on 2026-10-25; stepping in local time would loop there.
    trigger = parse_cron("30 2 * * *", "Europe/Berlin")
    now = at("2026-10-25T03:00")
    latest = last_fire_time(trigger, now, now - timedelta(days=1))
    assert latest is not None
    assert latest.astimezone(UTC) == at("2026-10-25T01:30")


def test_last_fire_time_is_none_when_nothing_fired() -> None:
    trigger = parse_cron("0 9 * * *", "UTC")
    assert last_fire_time(trigger, at("2026-11-23T08:00"), at("2026-11-23T07:00")) is None


# --- a fake Kavi with the same shape, recording real runs -----------------------------------


class FakeChain:
    """The chain as the warm-up sees it, with no engines to load."""

    def engine(self, stage: str) -> object:
        return None


class FakeKavi:
    """Records runs in a real database like Kavi.post_now, without the art engines."""

    def __init__(self, settings: Settings, *, delay: float = 0.0, fail: bool = False) -> None:
        self.settings = settings
        self.db = Database.open(settings.resolved_database_url)
        self.delay = delay
        self.fail = fail
        self.calls: list[tuple[bool, str]] = []
        self.closed = False
        self.chain = FakeChain()

    def today(self, now: datetime | None = None) -> date:
        zone = ZoneInfo(self.settings.tz)
        return (now.astimezone(zone) if now else datetime.now(zone)).date()

    def post_now(
        self,
        *,
        dry_run: bool,
        seed: int | None = None,
        mood: str | None = None,
        trigger: str = "manual",
    ) -> RunReport:
        self.calls.append((dry_run, trigger))
        run_id = start_run(
            self.db, trigger=trigger, dry_run=dry_run, local_date=self.today(), pid=os.getpid()
        )
        time.sleep(self.delay)
        if self.fail:
            finish_run(self.db, run_id, status=RunStatus.FAILED, error="the painter fell over")
            raise GenerationError("the painter fell over")
        finish_run(self.db, run_id, status=RunStatus.SUCCEEDED)
        return RunReport(run_id=run_id)

    def recover(self, *, look_up: bool = True, every_unknown: bool = False) -> Recovery:
        # No publishers: only the database is settled, nothing is looked up.
        return recover_dead_process(self.db, None, every_unknown=every_unknown)

    def resend_unsent(self, artwork_id: int) -> list[PublishOutcome]:
        return []

    def close(self) -> None:
        self.closed = True
        self.db.close()


@dataclass
class RunReport:
    run_id: int
    ok: bool = True
    artwork_id: int | None = None


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "post_schedule": "0 9 * * *",
        "tz": "UTC",
        "misfire_grace_hours": 6,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def kavi(settings: Settings) -> Iterator[FakeKavi]:
    fake = FakeKavi(settings)
    yield fake
    fake.db.close()


def service_at(
    settings: Settings, kavi: FakeKavi, now: str, *, dry_run: bool = True, **options: Any
) -> Service:
    clock: Callable[[], datetime] = lambda: at(now)  # noqa: E731
    return Service(settings, dry_run=dry_run, poster=kavi, clock=clock, warm_up=False, **options)


# --- missed runs ---------------------------------------------------------------------------


def test_run_missed_while_down_is_caught_up_within_the_grace(
    settings: Settings, kavi: FakeKavi
) -> None:
    service = service_at(settings, kavi, "2026-11-23T14:59")
    assert service.catch_up_time() == at("2026-11-23T09:00")


def test_run_missed_by_more_than_the_grace_is_skipped(
    settings: Settings, kavi: FakeKavi, caplog: pytest.LogCaptureFixture
) -> None:
    service = service_at(settings, kavi, "2026-11-23T15:01")
    assert service.catch_up_time() is None
    assert "MISFIRE_GRACE_HOURS=6" in caplog.text


def test_no_catch_up_before_today_s_time(settings: Settings, kavi: FakeKavi) -> None:
    # Yesterday's 09:00 is 23 hours back, far beyond the grace; today's has not come yet.
    assert service_at(settings, kavi, "2026-11-23T08:00").catch_up_time() is None


def test_no_catch_up_when_today_s_post_already_went_out(settings: Settings, kavi: FakeKavi) -> None:
    run_id = start_run(
        kavi.db, trigger="manual", dry_run=True, local_date=date(2026, 11, 23), pid=1
    )
    finish_run(kavi.db, run_id, status=RunStatus.SUCCEEDED)
    assert service_at(settings, kavi, "2026-11-23T10:00").catch_up_time() is None
    # A preview does not count as the day's post for a posting service.
    posting = make_settings(settings.data_dir.parent, publishers="twitter")
    assert service_at(posting, kavi, "2026-11-23T10:00", dry_run=False).catch_up_time() == at(
        "2026-11-23T09:00"
    )


def test_the_grace_follows_the_setting(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, misfire_grace_hours=0.5)
    kavi = FakeKavi(settings)
    try:
        assert service_at(settings, kavi, "2026-11-23T09:29").catch_up_time() is not None
        assert service_at(settings, kavi, "2026-11-23T09:31").catch_up_time() is None
    finally:
        kavi.close()


def test_the_catch_up_day_is_the_day_in_tz(tmp_path: Path) -> None:
    # 07:00 in Tokyo on the 24th is still the 23rd in UTC; the run belongs to the 24th.
    settings = make_settings(tmp_path, tz="Asia/Tokyo", post_schedule="0 7 * * *")
    kavi = FakeKavi(settings)
    try:
        run_id = start_run(
            kavi.db, trigger="scheduled", dry_run=True, local_date=date(2026, 11, 23), pid=1
        )
        finish_run(kavi.db, run_id, status=RunStatus.SUCCEEDED)
        service = service_at(settings, kavi, "2026-11-23T23:00")
        missed = service.catch_up_time()
        assert missed is not None
        assert missed.astimezone(UTC) == at("2026-11-23T22:00")
    finally:
        kavi.close()


# --- the scheduled job ---------------------------------------------------------------------


def test_daily_post_runs_once_a_day(settings: Settings, kavi: FakeKavi) -> None:
    service = service_at(settings, kavi, datetime.now(UTC).isoformat()[:16])
    service.daily_post()
    # A second firing the same day (a DST fold, a catch-up racing the cron) posts nothing.
    service.daily_post()
    assert kavi.calls == [(True, "scheduled")]
    run = last_run(kavi.db)
    assert run is not None and run.status == RunStatus.SUCCEEDED and run.trigger == "scheduled"


def test_daily_post_waits_for_a_post_now_and_then_skips(settings: Settings, kavi: FakeKavi) -> None:
    manual = chain_lock(settings.data_dir)
    assert manual.try_acquire()
    # Meanwhile the "--post-now" makes today's post and releases the chain.
    run_id = start_run(
        kavi.db, trigger="manual", dry_run=True, local_date=kavi.today(), pid=os.getpid()
    )

    def finish_manual_post() -> None:
        finish_run(kavi.db, run_id, status=RunStatus.SUCCEEDED)
        manual.release()

    threading.Timer(0.4, finish_manual_post).start()
    service = service_at(settings, kavi, datetime.now(UTC).isoformat()[:16], chain_wait=10)
    service.daily_post()
    assert kavi.calls == []


def test_daily_post_gives_up_when_the_chain_stays_busy(
    settings: Settings, kavi: FakeKavi, caplog: pytest.LogCaptureFixture
) -> None:
    manual = chain_lock(settings.data_dir)
    assert manual.try_acquire()
    try:
        service = service_at(settings, kavi, datetime.now(UTC).isoformat()[:16], chain_wait=0.3)
        service.daily_post()
    finally:
        manual.release()
    assert kavi.calls == []
    assert "scheduled preview skipped" in caplog.text


def test_a_failed_run_is_logged_and_the_service_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    kavi = FakeKavi(settings, fail=True)
    try:
        service = service_at(settings, kavi, datetime.now(UTC).isoformat()[:16])
        service.daily_post()
        assert "scheduled preview failed: the painter fell over" in caplog.text
        run = last_run(kavi.db)
        assert run is not None and run.status == RunStatus.FAILED
        assert not chain_lock(settings.data_dir).held
        lock = chain_lock(settings.data_dir)
        assert lock.try_acquire()
        lock.release()
    finally:
        kavi.close()


def artwork_row() -> ArtworkRow:
    """An archived artwork, as far as the scheduler cares (no files are read)."""
    return ArtworkRow(
        seed=1,
        poem="a\nb\nc",
        poem_engine="grammar",
        prompt="p",
        image_engine="procedural",
        mood="love",
        style_engine="classic",
        caption="c",
        alt_text="a",
        image_path="x.png",
        image_sha256="0" * 64,
        width=1,
        height=1,
    )


def test_a_failed_run_that_reached_a_platform_counts_as_posted(
    settings: Settings, kavi: FakeKavi
) -> None:
    day = date(2026, 11, 23)
    with kavi.db.session() as session, session.begin():
        artwork = artwork_row()
        session.add(artwork)
        session.flush()
        session.add(PostRow(artwork_id=artwork.id, platform="twitter", state=PostState.POSTED))
        session.add(PostRow(artwork_id=artwork.id, platform="instagram", state=PostState.FAILED))
        session.add(
            RunRow(
                trigger="scheduled",
                dry_run=False,
                local_date=day,
                status=RunStatus.FAILED,
                artwork_id=artwork.id,
            )
        )
    reason = today_done(kavi.db, day, dry_run=False)
    assert reason is not None and "reached a platform" in reason
    # A run that failed before anything was sent does not count: the catch-up may retry it.
    assert today_done(kavi.db, day + timedelta(days=1), dry_run=False) is None


def test_serve_without_a_publisher_needs_dry_run(settings: Settings, kavi: FakeKavi) -> None:
    service = service_at(settings, kavi, "2026-11-23T10:00", dry_run=False)
    with pytest.raises(ConfigError, match="PUBLISHERS=.*--dry-run"):
        service.run(install_signals=False)


def test_serve_refuses_a_data_dir_held_by_another_service(
    settings: Settings, kavi: FakeKavi
) -> None:
    held = hold_service(settings.data_dir)
    try:
        with pytest.raises(ConfigError, match="another Kavi service"):
            service_at(settings, kavi, "2026-11-23T10:00").run(install_signals=False)
    finally:
        held.release()


# --- the whole service in-process, on the real scheduler ------------------------------------


def run_in_thread(service: Service) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    # A daemon, so a service that hangs fails its test instead of hanging the whole run.
    thread = threading.Thread(
        target=lambda: result.append(service.run(install_signals=False)), daemon=True
    )
    thread.start()
    return thread, result


def wait_for(condition: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
    """Poll an in-process condition; the bound only catches a hang (a loaded CI is slow)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def minutes_ago_schedule(minutes: int) -> str:
    fire = datetime.now(UTC) - timedelta(minutes=minutes)
    return f"{fire.minute} {fire.hour} * * *"


def test_service_catches_up_once_and_survives_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, post_schedule=minutes_ago_schedule(2))
    kavi = FakeKavi(settings)
    service = Service(settings, dry_run=True, poster=kavi, heartbeat_seconds=0.2)
    thread, result = run_in_thread(service)
    try:
        wait_for(lambda: runs(settings.data_dir) == [RunStatus.SUCCEEDED])
        wait_for(lambda: getattr(read_heartbeat(settings.data_dir), "state", None) == "idle")
        beat = read_heartbeat(settings.data_dir)
        assert beat is not None and beat.pid == os.getpid() and beat.dry_run
        # The next run is tomorrow at the scheduled minute.
        assert beat.next_run is not None and beat.next_run > datetime.now(UTC)
    finally:
        service.stop()
        thread.join(timeout=READY_TIMEOUT)
    assert result == [0]
    assert kavi.calls == [(True, "scheduled")]
    assert kavi.closed
    stopped = read_heartbeat(settings.data_dir)
    assert stopped is not None and stopped.state == "stopped"

    # Restart: the job store still holds the job (replaced, not duplicated), nothing reposts.
    again = FakeKavi(settings)
    second = Service(settings, dry_run=True, poster=again, heartbeat_seconds=0.2)
    thread, result = run_in_thread(second)
    try:
        wait_for(lambda: second.scheduler is not None and second.scheduler.running)
        assert second.scheduler is not None
        jobs = [job for job in second.scheduler.get_jobs() if job.id == JOB_ID]
        assert [job.id for job in jobs] == [JOB_ID]
        # No catch-up was fed back: the job's next run is tomorrow's, not the missed one.
        assert jobs[0].next_run_time > datetime.now(UTC)
    finally:
        second.stop()
        thread.join(timeout=READY_TIMEOUT)
    assert result == [0]
    assert again.calls == []
    with Database(settings.resolved_database_url).session() as session:
        assert session.query(RunRow).count() == 1


def test_a_stop_while_a_one_shot_job_is_submitted_is_a_clean_stop(tmp_path: Path) -> None:
    # APScheduler's shutdown() marks the scheduler stopped before it takes the job-store lock;
    # a one-shot job (the warm-up) submitted just then could not be removed and the main loop
    # died with JobLookupError. Stop exactly in that window: inside the submission.
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.base import STATE_RUNNING
    from apscheduler.schedulers.blocking import BlockingScheduler

    settings = make_settings(tmp_path)
    service: Service | None = None

    class StopOnWarmUp(ThreadPoolExecutor):
        def submit_job(self, job: Any, run_times: list[datetime]) -> None:
            super().submit_job(job, run_times)
            if job.id == WARM_UP_JOB_ID and service is not None and service.scheduler is not None:
                service.stop()
                scheduler = service.scheduler
                wait_for(lambda: scheduler.state != STATE_RUNNING)

    def make_scheduler(**options: Any) -> BlockingScheduler:
        return BlockingScheduler(executors={"default": StopOnWarmUp()}, **options)

    service = Service(
        settings, dry_run=True, poster=FakeKavi(settings), make_scheduler=make_scheduler
    )
    thread, result = run_in_thread(service)
    thread.join(timeout=READY_TIMEOUT)
    assert result == [0]


def test_a_stop_landing_inside_a_round_of_job_processing_is_a_clean_stop(tmp_path: Path) -> None:
    # The other window of the same race: the scheduler's main loop is between "not paused"
    # and taking its job-store lock when the whole stop (pause, drain, "stopped") happens,
    # then it processes the warm-up job as a stopped scheduler and cannot remove it. Hold the
    # executors' lock so the shutdown stops right after marking itself stopped.
    from apscheduler.schedulers.base import STATE_STOPPED
    from apscheduler.schedulers.blocking import BlockingScheduler

    settings = make_settings(tmp_path)
    service: Service | None = None

    class StopMidRound(BlockingScheduler):
        rounds = 0

        def _process_jobs(self) -> float | None:
            self.rounds += 1
            if self.rounds > 1 or service is None:
                return super()._process_jobs()  # type: ignore[no-any-return]
            with self._executors_lock:  # type: ignore[attr-defined]
                service.stop()
                wait_for(lambda: self.state == STATE_STOPPED)
                return super()._process_jobs()  # type: ignore[no-any-return]

    service = Service(
        settings, dry_run=True, poster=FakeKavi(settings), make_scheduler=StopMidRound
    )
    thread, result = run_in_thread(service)
    thread.join(timeout=READY_TIMEOUT)
    assert result == [0]


def test_a_stop_while_the_heartbeat_reads_the_scheduler_is_a_clean_stop(tmp_path: Path) -> None:
    # The heartbeat job reads the next run from the scheduler. A shutdown that held the
    # scheduler's job-store lock while waiting for running jobs left it waiting forever.
    # Stop while a heartbeat is running, and read the scheduler once the shutdown is under way.
    settings = make_settings(tmp_path)
    stopped = threading.Event()

    class StopOnSecondBeat(Service):
        beats = 0

        def beat(self) -> None:
            self.beats += 1
            scheduler = self.scheduler
            if self.beats == 2 and scheduler is not None:  # the first job-run beat
                self.stop()
                stopper = self._stopper
                assert stopper is not None
                lock = scheduler._jobstores_lock  # type: ignore[attr-defined]

                def shutdown_holds_the_lock_or_is_done() -> bool:
                    if not stopper.is_alive():
                        return True
                    if lock.acquire(blocking=False):
                        lock.release()
                        return False
                    return True

                wait_for(shutdown_holds_the_lock_or_is_done)
                stopped.set()
            super().beat()

    service = StopOnSecondBeat(
        settings, dry_run=True, poster=FakeKavi(settings), heartbeat_seconds=3600
    )
    thread, result = run_in_thread(service)
    thread.join(timeout=READY_TIMEOUT)
    # The stop does not wait for the heartbeat job, so it may still be finishing.
    assert stopped.wait(READY_TIMEOUT)
    assert result == [0]


# --- real processes: signals and a second instance ------------------------------------------

DRIVER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from bot.logs import configure_logging
    from bot.scheduler import Service
    from bot.settings import load_settings
    from storage.db import Database
    from storage.models import RunStatus
    from storage.repository import finish_run, start_run
    from bot.service import recover_dead_process

    data_dir = Path(sys.argv[1])
    fire = datetime.now(UTC) - timedelta(minutes=1)

    class NoEngines:
        def engine(self, stage):
            return None

    class Report:
        def __init__(self, run_id):
            self.run_id, self.ok, self.artwork_id = run_id, True, None

    class SlowKavi:
        def __init__(self, settings):
            self.settings = settings
            self.db = Database.open(settings.resolved_database_url)
            self.chain = NoEngines()

        def today(self, now=None):
            return (now or datetime.now(UTC)).date()

        def post_now(self, *, dry_run, seed=None, mood=None, trigger="manual"):
            run_id = start_run(self.db, trigger=trigger, dry_run=dry_run,
                               local_date=self.today(), pid=os.getpid())
            print("RUN STARTED", flush=True)
            time.sleep(float(sys.argv[2]))
            finish_run(self.db, run_id, status=RunStatus.SUCCEEDED)
            return Report(run_id)

        def recover(self, *, look_up=True, every_unknown=False):
            return recover_dead_process(self.db, None, every_unknown=every_unknown)

        def resend_unsent(self, artwork_id):
            return []

        def close(self):
            self.db.close()

    settings = load_settings(data_dir=data_dir, post_schedule=f"{fire.minute} {fire.hour} * * *")
    configure_logging("INFO")
    sys.exit(Service(settings, dry_run=True, poster=SlowKavi(settings)).run())
    """
)


def start_driver(tmp_path: Path, run_seconds: float) -> tuple[WatchedProcess, Path]:
    """A service in a child process whose run takes `run_seconds`; returned once it is running."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    process = WatchedProcess(
        [sys.executable, "-c", DRIVER, str(data_dir), str(run_seconds)], env=env, cwd=tmp_path
    )
    try:
        process.wait_for_line("RUN STARTED")
    except AssertionError:
        process.stop()
        raise
    return process, data_dir


def runs(data_dir: Path) -> list[RunStatus]:
    """The runs table; call it only once the service said it is up (it creates the tables)."""
    db = Database(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        with db.session() as session:
            return [RunStatus(row.status) for row in session.query(RunRow).order_by(RunRow.id)]
    finally:
        db.close()


def test_sigterm_mid_run_lets_the_run_finish(tmp_path: Path) -> None:
    process, data_dir = start_driver(tmp_path, run_seconds=2.0)
    process.send_signal(signal.SIGTERM)
    output = process.wait()
    assert process.returncode == 0, output
    assert "stopping after the run in progress" in output
    assert runs(data_dir) == [RunStatus.SUCCEEDED]
    beat = json.loads((data_dir / "heartbeat.json").read_text())
    assert beat["state"] == "stopped"
    hold_service(data_dir).release()
    lock = chain_lock(data_dir)
    assert lock.try_acquire()
    lock.release()


def test_second_sigterm_abandons_the_run_cleanly(tmp_path: Path) -> None:
    process, data_dir = start_driver(tmp_path, run_seconds=30.0)
    process.send_signal(signal.SIGTERM)
    # The same request delivered twice at once (as `timeout` does) is not a second one.
    process.send_signal(signal.SIGTERM)
    process.wait_for_line("send it again to abandon")
    # A repeat counts only SIGNAL_REPEAT_SECONDS after the first: this wait is the semantics
    # under test, not a guess at how long something takes.
    time.sleep(SIGNAL_REPEAT_SECONDS + 0.5)
    assert process.poll() is None, process.output
    process.send_signal(signal.SIGTERM)
    output = process.wait()
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "abandoning the run in progress" in output
    assert runs(data_dir) == [RunStatus.ABANDONED]
    assert not [p for p in data_dir.rglob("*.tmp")]
    # Both locks died with the process: a new service can start at once.
    hold_service(data_dir).release()
    lock = chain_lock(data_dir)
    assert lock.try_acquire()
    lock.release()


# --- `python -m bot serve` / `health`, as a user runs them ----------------------------------


def bot_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "DATA_DIR": str(data_dir),
        "PUBLISHERS": "",
        "IMAGE_SIZE": "256",
        "POEM_ENGINE": "grammar",
        "IMAGE_ENGINE": "procedural",
        "STYLE_ENGINE": "classic",
        "TZ": "UTC",
    }
    env.update(extra)
    return env


def bot(*args: str, env: dict[str, str], cwd: Path) -> WatchedProcess:
    return WatchedProcess([sys.executable, "-m", "bot", *args], env=env, cwd=cwd)


def test_serve_dry_run_makes_the_missed_preview_once_even_across_a_restart(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = bot_env(data_dir, POST_SCHEDULE=minutes_ago_schedule(1))
    first = bot("serve", "--dry-run", env=env, cwd=tmp_path)
    try:
        first.wait_for_line("was missed while the service was down: running it now")
        first.wait_for_line("scheduled preview succeeded")
        assert first.poll() is None, "the service keeps running after the run"
    except Exception:
        print(first.stop())
        raise
    output = first.stop()
    assert first.returncode == 0, output
    assert "service stopped" in output
    assert runs(data_dir) == [RunStatus.SUCCEEDED], output
    assert list((data_dir / "previews").rglob("index.html")), output

    second = bot("serve", "--dry-run", env=env, cwd=tmp_path)
    try:
        second.wait_for_line("already went out")
        second.wait_for_line("scheduler started")
    finally:
        output = second.stop()
    assert second.returncode == 0, output
    assert "running it now" not in output
    assert runs(data_dir) == [RunStatus.SUCCEEDED]


def test_second_serve_exits_2_and_health_follows_the_service(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    # Far from now, so nothing runs during the test.
    later = datetime.now(UTC) + timedelta(hours=12)
    env = bot_env(data_dir, POST_SCHEDULE=f"{later.minute} {later.hour} * * *")
    first = bot("serve", "--dry-run", env=env, cwd=tmp_path)
    try:
        first.wait_for_line("scheduler started")
        # The heartbeat says idle once the scheduler runs; health reads it.
        wait_for(
            lambda: (
                getattr(read_heartbeat(data_dir), "state", None) == "idle"
                or first.poll() is not None
            )
        )
        second = bot("serve", "--dry-run", env=env, cwd=tmp_path)
        output = second.wait()
        assert second.returncode == 2, output
        assert f"another Kavi service (pid {first.pid})" in output

        health = subprocess.run(
            [sys.executable, "-m", "bot", "health"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=READY_TIMEOUT,
        )
        assert health.returncode == 0, health.stdout + health.stderr
        assert "healthy" in health.stdout
    finally:
        output = first.stop()
    assert first.returncode == 0, output
    health = subprocess.run(
        [sys.executable, "-m", "bot", "health"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=READY_TIMEOUT,
    )
    assert health.returncode == 1
    assert "unhealthy: the service stopped" in health.stdout


def test_serve_without_a_publisher_or_dry_run_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        capture_output=True,
        text=True,
        env=bot_env(tmp_path / "data"),
        cwd=tmp_path,
        timeout=READY_TIMEOUT,
    )
    assert result.returncode == 2
    assert "PUBLISHERS=" in result.stderr and "serve --dry-run" in result.stderr


class RecordingScheduler:
    """Stands in for the running scheduler: records the jobs the service adds."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []

    def add_job(self, func: Any, trigger: str, **kwargs: Any) -> None:
        self.jobs.append({"func": func, "trigger": trigger, **kwargs})


def test_a_failed_run_is_tried_again_later_the_same_day_a_bounded_number_of_times(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.daily import SAME_DAY_ATTEMPTS, SAME_DAY_RETRY_AFTER
    from bot.scheduler import SAME_DAY_RETRY_JOB_ID

    settings = make_settings(tmp_path)
    kavi = FakeKavi(settings, fail=True)
    try:
        nine = at(f"{datetime.now(UTC).date().isoformat()}T09:00")
        service = Service(settings, dry_run=True, poster=kavi, clock=lambda: nine, warm_up=False)
        recorder = RecordingScheduler()
        service.scheduler = recorder  # type: ignore[assignment]
        for _ in range(SAME_DAY_ATTEMPTS):
            service.daily_post()
        assert len(kavi.calls) == SAME_DAY_ATTEMPTS
        retries = recorder.jobs
        assert len(retries) == SAME_DAY_ATTEMPTS - 1
        assert all(job["id"] == SAME_DAY_RETRY_JOB_ID for job in retries)
        assert retries[0]["run_date"] == nine + SAME_DAY_RETRY_AFTER
        assert "no more tries today" in caplog.text
    finally:
        kavi.close()


class PartlyPostingKavi(FakeKavi):
    """Posts to X but not Instagram (an outage that outlasts the backoff); resends on demand."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.resent: list[int] = []

    def post_now(self, *, dry_run: bool, trigger: str = "manual", **_: Any) -> RunReport:
        self.calls.append((dry_run, trigger))
        run_id = start_run(
            self.db, trigger=trigger, dry_run=dry_run, local_date=self.today(), pid=os.getpid()
        )
        with self.db.session() as session, session.begin():
            artwork = artwork_row()
            session.add(artwork)
            session.flush()
            self.artwork_id = artwork.id
            session.add(PostRow(artwork_id=artwork.id, platform="twitter", state=PostState.POSTED))
            session.add(
                PostRow(
                    artwork_id=artwork.id,
                    platform="instagram",
                    state=PostState.FAILED,
                    retryable=True,
                )
            )
        finish_run(self.db, run_id, status=RunStatus.FAILED, artwork_id=self.artwork_id)
        return RunReport(run_id=run_id, ok=False)

    def resend_unsent(self, artwork_id: int) -> list[Any]:
        self.resent.append(artwork_id)
        with self.db.session() as session, session.begin():
            post = session.query(PostRow).filter_by(platform="instagram").one()
            post.state = PostState.POSTED
            post.retryable = False
        return []


def test_a_partly_failed_run_resends_only_the_unsent_post_later_that_day(tmp_path: Path) -> None:
    from bot.daily import SAME_DAY_RETRY_AFTER
    from bot.scheduler import SAME_DAY_RESEND_JOB_ID

    settings = make_settings(tmp_path)
    kavi = PartlyPostingKavi(settings)
    try:
        nine = at(f"{datetime.now(UTC).date().isoformat()}T09:00")
        service = Service(settings, dry_run=False, poster=kavi, clock=lambda: nine, warm_up=False)
        recorder = RecordingScheduler()
        service.scheduler = recorder  # type: ignore[assignment]
        service.daily_post()
        # No second artwork (X already has one): only the unsent Instagram post is resent.
        [job] = recorder.jobs
        assert job["id"] == SAME_DAY_RESEND_JOB_ID
        assert job["run_date"] == nine + SAME_DAY_RETRY_AFTER
        job["func"](*job["args"])
        assert kavi.resent == [kavi.artwork_id]
        assert len(kavi.calls) == 1 and len(recorder.jobs) == 1
    finally:
        kavi.close()
