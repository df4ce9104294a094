"""What each platform says back: a daily read of recent posts' likes, reposts and replies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from storage.metrics import Figures, posts_to_measure, save_metrics

if TYPE_CHECKING:
    from bot.publishers.base import Publisher
    from storage.db import Database

log = logging.getLogger(__name__)

# A post's figures settle within weeks; reading older ones only spends rate limit.
READ_FOR = timedelta(days=30)
# X bills each read under its pay-per-use pricing (READ_X_METRICS turns them on).
PAID_READS = frozenset({"twitter"})


@runtime_checkable
class MeasuredPublisher(Protocol):
    """A publisher that can read back a post's figures by its remote id."""

    def metrics(self, remote_id: str) -> Figures: ...


@dataclass(frozen=True)
class MetricsRead:
    """One daily read: how many posts were read, skipped (no reader) and failed."""

    read: int
    skipped: int
    failed: int


def read_metrics(
    db: Database,
    publishers: Mapping[str, Publisher],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    redact: Callable[[str], str] = lambda text: text,
    paid_reads: bool = False,
) -> MetricsRead:
    """Read the figures of every post from the last 30 days on the enabled platforms.

    One failing platform or post never stops the others: its error is logged and the next
    day's read tries again. A platform that bills reads (X) is read only with `paid_reads`.
    """
    read = skipped = failed = 0
    for post in posts_to_measure(db, since=clock() - READ_FOR):
        publisher = publishers.get(post.platform)
        if (
            publisher is None
            or not isinstance(publisher, MeasuredPublisher)
            or (post.platform in PAID_READS and not paid_reads)
        ):
            skipped += 1
            continue
        try:
            figures = publisher.metrics(post.remote_id or "")
        except Exception as exc:  # noqa: BLE001 - logged; tomorrow's read tries again
            log.warning(
                "could not read the figures of post %s on %s: %s",
                post.id,
                post.platform,
                redact(str(exc)),
            )
            failed += 1
            continue
        save_metrics(db, post.id, figures, read_at=clock())
        read += 1
    log.info("read the figures of %d post(s) (%d skipped, %d failed)", read, skipped, failed)
    return MetricsRead(read=read, skipped=skipped, failed=failed)
