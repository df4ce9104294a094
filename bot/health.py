"""Is the service alive and well? The heartbeat file the scheduler keeps, and the health check.

`serve` rewrites DATA_DIR/heartbeat.json every few seconds (pid, host, time, next run);
`python -m bot health` (Docker's HEALTHCHECK) fails when that heartbeat is stale, its
process is gone, the service has stopped, a run has been running too long (hung), the last
run of the service's kind failed, or a post is left `pending` with no run to send it.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.schedule import parse_cron
from storage.db import Database
from storage.files import write_atomic
from storage.models import PostState, RunStatus
from storage.repository import last_run, posts_in_states, running_runs

if TYPE_CHECKING:
    from bot.settings import Settings

HEARTBEAT_FILE = "heartbeat.json"
HEARTBEAT_SECONDS = 15.0
# Generous: a busy CPU (a neural run without a GPU) can delay a beat or two.
STALE_AFTER = timedelta(seconds=HEARTBEAT_SECONDS * 8)
# A daily run takes minutes (a neural one on a CPU, under an hour); longer means it is hung.
HUNG_AFTER = timedelta(hours=3)
# A post waits `pending` between send attempts (a `retry` has no run row and may sit out a
# rate limit of up to 15 minutes); one left longer with no run to send it was stranded.
STRANDED_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Heartbeat:
    """The service's latest sign of life, as written to DATA_DIR/heartbeat.json."""

    pid: int
    host: str
    time: datetime
    started_at: datetime
    state: str  # "starting", "idle", "running" or "stopped"
    dry_run: bool
    schedule: str
    tz: str
    next_run: datetime | None

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        for key in ("time", "started_at", "next_run"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Heartbeat:
        data = json.loads(text)
        next_run = data.get("next_run")
        return cls(
            pid=int(data["pid"]),
            host=str(data["host"]),
            time=datetime.fromisoformat(data["time"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            state=str(data["state"]),
            dry_run=bool(data["dry_run"]),
            schedule=str(data["schedule"]),
            tz=str(data["tz"]),
            next_run=datetime.fromisoformat(next_run) if next_run else None,
        )


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / HEARTBEAT_FILE


def write_heartbeat(data_dir: Path, beat: Heartbeat) -> None:
    write_atomic(heartbeat_path(data_dir), beat.to_json().encode("utf-8"))


def read_heartbeat(data_dir: Path) -> Heartbeat | None:
    """The last heartbeat, or None when there is none or it cannot be read."""
    try:
        return Heartbeat.from_json(heartbeat_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def next_run_time(settings: Settings, now: datetime | None = None) -> datetime | None:
    """When POST_SCHEDULE fires next after `now`, in TZ (None if it never fires again)."""
    trigger = parse_cron(settings.post_schedule, settings.tz)
    return trigger.get_next_fire_time(None, now or datetime.now(UTC))


def service_alive(
    settings: Settings, now: datetime | None = None
) -> tuple[bool, str, Heartbeat | None]:
    """Whether a service is running on this DATA_DIR, with a one-line reason."""
    now = now or datetime.now(UTC)
    beat = read_heartbeat(settings.data_dir)
    if beat is None:
        return False, f"no heartbeat in {settings.data_dir}: the service is not running", None
    if beat.state == "stopped":
        return False, f"the service stopped at {beat.time:%Y-%m-%d %H:%M:%S %Z}", beat
    age = now - beat.time
    if age > STALE_AFTER:
        return (
            False,
            f"the heartbeat is {age.total_seconds():.0f} s old: the scheduler is stuck",
            beat,
        )
    # A pid means something only in the process namespace that wrote it.
    if beat.host == this_host() and not pid_alive(beat.pid):
        return False, f"the service process {beat.pid} is gone", beat
    return True, f"the service (pid {beat.pid}) is {beat.state}", beat


def health_check(
    settings: Settings, *, db: Database | None = None, now: datetime | None = None
) -> tuple[bool, str]:
    """Docker's HEALTHCHECK: healthy while the scheduler is alive and its last run did not fail."""
    alive, reason, beat = service_alive(settings, now)
    if not alive or beat is None:
        return False, reason
    from bot.chain import runtime_problem

    gpu = runtime_problem(settings)
    if gpu:
        return False, f"no GPU: {gpu}"
    own_db = db is None
    if db is None:
        db = Database(settings.resolved_database_url)
    try:
        # A dry-run service is judged by its previews, a posting one by its posts only.
        run = last_run(db, include_dry_runs=beat.dry_run)
        running = running_runs(db, include_dry_runs=beat.dry_run)
        pending = [] if beat.dry_run else posts_in_states(db, [PostState.PENDING])
    except Exception as exc:  # noqa: BLE001 - an unreadable archive is an unhealthy service
        return False, f"cannot read the runs table: {type(exc).__name__}: {exc}"
    finally:
        if own_db:
            db.close()
    now = now or datetime.now(UTC)
    for hung in running:
        age = now - hung.started_at
        if age > HUNG_AFTER:
            return False, (
                f"run #{hung.id} ({hung.local_date}) has been running for "
                f"{age.total_seconds() / 3600:.1f} h, since {hung.started_at:%Y-%m-%d %H:%M %Z}: "
                "it is hung; restart the service (the run is then marked abandoned) and see "
                "`python -m bot status`"
            )
    if run is not None and run.status == RunStatus.FAILED:
        return False, (
            f"the last run (#{run.id}, {run.local_date}) failed: {run.error or 'no message'}; "
            "see `python -m bot status`"
        )
    being_sent = {r.artwork_id for r in running}
    stranded = [
        post
        for post in pending
        if post.artwork_id not in being_sent
        and (post.updated_at is None or now - post.updated_at > STRANDED_AFTER)
    ]
    if stranded:
        return False, "; ".join(
            f"artwork {post.artwork_id}'s {post.platform} post is stuck `pending` with no run "
            f"sending it: run `python -m bot retry {post.artwork_id} --platform {post.platform}`"
            for post in stranded
        )
    next_text = f"; next run {beat.next_run:%Y-%m-%d %H:%M %Z}" if beat.next_run else ""
    last_text = f"; last run #{run.id} {run.status.value}" if run is not None else ""
    return True, f"{reason}{last_text}{next_text}"


def main_health(settings: Settings) -> int:
    """`python -m bot health`: print one line and return 0 when healthy, 1 otherwise."""
    healthy, message = health_check(settings)
    print(("healthy: " if healthy else "unhealthy: ") + message)
    return 0 if healthy else 1
