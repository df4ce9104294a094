"""The publish state machine: one row per (artwork, platform), never sent twice, never silent.

pending -> posting -> posted | failed | unknown. `posting` is committed before the platform
is called, so a process that dies mid-call leaves a row that says so; at the next start it
becomes `unknown` and is reconciled by looking the post up on the platform, never by sending
it again. Only errors that prove nothing went out (`NotSent`) are retried, with exponential
backoff and jitter, or after the wait a rate limit names.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from bot.publishers.errors import DuplicatePost, MaybeSent, NotSent, PublishError, RateLimited
from bot.publishers.registry import publisher_label
from core.errors import ConfigError, KaviError
from storage.errors import NotFoundError
from storage.models import PostState
from storage.repository import (
    PostInfo,
    PostStateConflict,
    ensure_post,
    get_artwork,
    get_post,
    interrupted_posts_to_unknown,
    mark_failed,
    mark_not_sent,
    mark_posted,
    mark_posting,
    mark_unknown,
    posts_for_artwork,
    posts_in_states,
    save_post_checkpoint,
)

if TYPE_CHECKING:
    from bot.publishers.base import Draft, PostResult, Publisher
    from core.artwork import Artwork
    from storage.db import Database
    from storage.files import ImageStore

log = logging.getLogger(__name__)

# Not-sent errors are retried for about three minutes (5, 10, 20, 40, 80 s, plus jitter):
# long enough to ride out a network blip at posting time.
MAX_ATTEMPTS = 6
MAX_WAIT = 15 * 60.0  # a rate limit longer than this fails the post instead of sleeping
# An unknown post is looked up at each run for this long; after that it would have scrolled
# out of the recent posts a lookup reads, and asking again only risks rate limits.
RECONCILE_FOR = timedelta(days=3)
INTERRUPTED = "the process stopped while this post was being sent; it may have gone out"


class RetryRefused(KaviError):
    """A retry was asked for a post that is posted or whose outcome is unknown, without --force."""


def settle_interrupted_posts(db: Database) -> list[PostInfo]:
    """Posts a dead process left `posting` become `unknown`; only for a holder of the chain lock.

    Holding the chain lock means no live process is mid-send on this DATA_DIR, so a `posting`
    row can only be a dead one's. It may have gone out: it is looked up, never sent again.
    """
    posts = interrupted_posts_to_unknown(db, error=INTERRUPTED)
    for post in posts:
        log.warning(
            "post %s (artwork %s, %s) was interrupted mid-send; looking it up",
            post.id,
            post.artwork_id,
            post.platform,
        )
    return posts


def post_key(artwork: Artwork, post: PostInfo, *, resend: bool = False) -> str:
    """The idempotency key of one post row: the same for every attempt at sending it.

    The image's hash keeps two databases posting to one account apart; a forced re-send of a
    posted or unknown row gets a key of its own, since the user asked for a second post.
    """
    key = f"kavi-{(artwork.image_sha256 or 'artwork')[:16]}-{artwork.id}-{post.platform}-{post.id}"
    if resend and post.state in (PostState.POSTED, PostState.UNKNOWN):
        key += f"-resend-{post.attempts}"
    return key


@dataclass(frozen=True)
class PublishOutcome:
    """Where one post stands after an attempt or a reconciliation, with one line for a person."""

    platform: str
    post: PostInfo | None
    message: str
    # The platform could not be asked (its look-up failed): "not found" cannot be said.
    lookup_failed: bool = False

    @property
    def state(self) -> PostState | None:
        return self.post.state if self.post else None

    @property
    def ok(self) -> bool:
        return self.state == PostState.POSTED


class Publishing:
    """Publishes artworks through the enabled publishers and keeps each post row truthful."""

    def __init__(
        self,
        db: Database,
        store: ImageStore,
        publishers: Mapping[str, Publisher],
        *,
        redact: Callable[[str], str] = lambda text: text,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_attempts: int = MAX_ATTEMPTS,
        max_wait: float = MAX_WAIT,
        initial_backoff: float = 5.0,
        max_backoff: float = 300.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"`max_attempts` must be at least 1, got {max_attempts}")
        self.db = db
        self.store = store
        self.publishers = dict(publishers)
        self.redact = redact
        self.sleep = sleep
        self.clock = clock
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        # Exponential backoff with up to a second of jitter (wait_exponential_jitter, spelled
        # so it means the same on every tenacity release the project allows).
        self._backoff = wait_exponential(multiplier=initial_backoff, max=max_backoff) + wait_random(
            0, 1
        )

    # --- publishing ------------------------------------------------------------------------

    def publish_all(self, artwork: Artwork) -> dict[str, PublishOutcome]:
        """Publish to every enabled platform; one failing never stops the others."""
        outcomes = {}
        for platform in self.publishers:
            try:
                outcomes[platform] = self.publish(artwork, platform)
            except Exception as exc:  # noqa: BLE001 - reported, and the next platform goes on
                log.exception("publishing to %s failed unexpectedly", platform)
                post = get_post(self.db, artwork.id, platform) if artwork.id else None
                outcomes[platform] = PublishOutcome(
                    platform, post, self.redact(f"{type(exc).__name__}: {exc}")
                )
        return outcomes

    def publish(self, artwork: Artwork, platform: str, *, force: bool = False) -> PublishOutcome:
        """Send one artwork to one platform, unless its row says it is posted or may be.

        `force` sends again even when the row is `posted` or `unknown` (the user checked).
        """
        if artwork.id is None:
            raise ValueError("`artwork` must be stored (have an id) before it is published")
        publisher = self._publisher(platform)
        label = publisher_label(platform)
        post = ensure_post(self.db, artwork.id, platform)
        if post.state == PostState.POSTED and not force:
            return PublishOutcome(platform, post, f"already posted: {post.remote_url or ''}")
        if post.state in (PostState.UNKNOWN, PostState.POSTING) and not force:
            return PublishOutcome(platform, post, f"not sent again: {post.last_error or ''}")
        first_from: tuple[PostState, ...] = (PostState.PENDING, PostState.FAILED)
        if force:
            first_from += (PostState.POSTED, PostState.UNKNOWN)
        try:
            draft = publisher.fit(artwork, self.store.absolute(artwork.image_path or ""))
        except Exception as exc:  # noqa: BLE001 - a post that cannot be prepared has failed
            return self._fail(post, f"could not prepare the {label} post: {exc}")
        draft = replace(draft, post_key=post_key(artwork, post, resend=force))

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._worth_retrying),
            sleep=self.sleep,
            reraise=True,
            before_sleep=self._log_retry(platform),
        )
        allowed_from: tuple[PostState, ...] = first_from
        try:
            for attempt in retrying:
                with attempt:
                    post = mark_posting(self.db, post.id, allowed_from=allowed_from)
                    allowed_from = (PostState.PENDING,)
                    try:
                        result = publisher.publish(self._for_row(draft, post))
                    except NotSent as exc:
                        mark_not_sent(self.db, post.id, error=self.redact(str(exc)))
                        raise
        except PostStateConflict as exc:
            current = get_post(self.db, artwork.id, platform)
            return PublishOutcome(platform, current, f"left alone: {exc}")
        except RateLimited as exc:
            return self._fail(
                post, self._rate_limit_message(exc, artwork.id, platform), retryable=True
            )
        except NotSent as exc:
            return self._fail(
                post, f"{exc} (gave up after {self.max_attempts} attempts)", retryable=True
            )
        except MaybeSent as exc:
            return self._maybe_sent(post, draft, publisher, str(exc))
        except DuplicatePost as exc:
            return self._duplicate(post, draft, publisher, str(exc))
        except PublishError as exc:
            return self._fail(post, str(exc))
        except Exception as exc:  # noqa: BLE001 - we cannot tell whether it went out
            log.exception("unexpected error while posting to %s", label)
            return self._maybe_sent(
                post, draft, publisher, f"unexpected {type(exc).__name__}: {exc}"
            )
        post = mark_posted(self.db, post.id, remote_id=result.remote_id, url=result.url)
        log.info("artwork %s posted to %s: %s", artwork.id, label, result.url or result.remote_id)
        return PublishOutcome(platform, post, f"posted: {result.url or result.remote_id}")

    def retry(self, artwork_id: int, platform: str, *, force: bool = False) -> PublishOutcome:
        """Re-publish a failed post; a posted or unknown one only with `force`.

        An unknown post is looked up first, so a retry never duplicates one that went out.
        """
        self._publisher(platform)
        artwork = get_artwork(self.db, artwork_id)
        post = get_post(self.db, artwork_id, platform)
        if post is not None and post.state in (PostState.POSTING, PostState.UNKNOWN):
            if post.state == PostState.POSTING:
                raise RetryRefused(
                    f"artwork {artwork_id} is being posted to {platform} right now by another "
                    "process: run this again once it has finished (a command that holds the "
                    "chain lock settles a post whose process died)"
                )
            looked_up = self.reconcile_post(post)
            if looked_up.ok or (looked_up.lookup_failed and not force):
                return looked_up
            post = looked_up.post or post
        if post is not None and not force:
            if post.state == PostState.POSTED:
                raise RetryRefused(
                    f"artwork {artwork_id} is already posted to {platform} "
                    f"({post.remote_url or post.remote_id}); add --force to post it again"
                )
            if post.state == PostState.UNKNOWN:
                raise RetryRefused(
                    f"artwork {artwork_id} may already be on {platform} (outcome unknown, and not "
                    "found among the account's recent posts): check the account, then add "
                    "--force to send it again"
                )
        return self.publish(artwork, platform, force=force)

    # --- reconciliation --------------------------------------------------------------------

    def resend_unsent(self, artwork_id: int) -> list[PublishOutcome]:
        """Send again the artwork's failed posts that certainly never went out (outage, limit)."""
        artwork = get_artwork(self.db, artwork_id)
        return [
            self.publish(artwork, post.platform)
            for post in posts_for_artwork(self.db, artwork_id)
            if post.state == PostState.FAILED
            and post.retryable
            and post.platform in self.publishers
        ]

    def reconcile(self) -> list[PublishOutcome]:
        """At each run: `posting` rows become `unknown`, then each recent `unknown` is looked up."""
        settle_interrupted_posts(self.db)
        return self.look_up(posts_in_states(self.db, [PostState.UNKNOWN]))

    def look_up(self, posts: Iterable[PostInfo]) -> list[PublishOutcome]:
        """Look each `unknown` post up on its platform (not on a disabled one, nor an old post)."""
        outcomes = []
        for post in posts:
            if post.platform not in self.publishers:
                log.warning(
                    "post %s to %s has an unknown outcome, but %s is not enabled: not looked up",
                    post.id,
                    post.platform,
                    post.platform,
                )
                continue
            if post.created_at and self.clock() - post.created_at > RECONCILE_FOR:
                log.info(
                    "post %s to %s is still unknown after %s days: not looked up again; "
                    "check the account, then `python -m bot retry %s --platform %s [--force]`",
                    post.id,
                    post.platform,
                    RECONCILE_FOR.days,
                    post.artwork_id,
                    post.platform,
                )
                continue
            try:
                outcomes.append(self.reconcile_post(post))
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the run
                log.exception("could not reconcile post %s", post.id)
                outcomes.append(PublishOutcome(post.platform, post, self.redact(str(exc))))
        return outcomes

    def reconcile_post(self, post: PostInfo) -> PublishOutcome:
        """Look an `unknown` post up on its platform: posted if found, else still unknown."""
        publisher = self._publisher(post.platform)
        label = publisher_label(post.platform)
        try:
            artwork = get_artwork(self.db, post.artwork_id)
            draft = publisher.fit(artwork, self.store.absolute(artwork.image_path or ""))
        except (NotFoundError, OSError) as exc:
            return PublishOutcome(
                post.platform, post, f"could not rebuild the post: {exc}", lookup_failed=True
            )
        return self._look_up(post, draft, publisher, label)

    # --- internals -------------------------------------------------------------------------

    def _publisher(self, platform: str) -> Publisher:
        try:
            return self.publishers[platform]
        except KeyError:
            raise ConfigError(
                f"{platform} is not enabled: add it to PUBLISHERS (with its credentials) in .env"
            ) from None

    def _for_row(self, draft: Draft, post: PostInfo) -> Draft:
        """The draft with what an earlier attempt saved on the row, and a way to save more."""
        return replace(
            draft,
            checkpoint=post.checkpoint,
            save_checkpoint=functools.partial(save_post_checkpoint, self.db, post.id),
        )

    def _look_up(
        self, post: PostInfo, draft: Draft, publisher: Publisher, label: str
    ) -> PublishOutcome:
        try:
            found = publisher.find_existing(replace(draft, checkpoint=post.checkpoint))
        except Exception as exc:  # noqa: BLE001 - the row stays unknown and says so
            return self._look_up_failed(post, label, exc)
        if found is not None:
            return self._found(post, found, label)
        message = (
            f"outcome unknown: not found among the account's recent posts on {label}; it was "
            f"not sent again. Check the account; if it is not there, run `python -m bot retry "
            f"{post.artwork_id} --platform {post.platform} --force`"
        )
        return self._still_unknown(post, message)

    def _found(self, post: PostInfo, found: PostResult, label: str) -> PublishOutcome:
        updated = mark_posted(self.db, post.id, remote_id=found.remote_id, url=found.url)
        log.info("post %s found on %s: %s", post.id, label, found.url or found.remote_id)
        return PublishOutcome(
            post.platform, updated, f"posted (found on {label}): {found.url or found.remote_id}"
        )

    def _look_up_failed(self, post: PostInfo, label: str, exc: Exception) -> PublishOutcome:
        # The look-up failing says nothing about the post itself: it may well be up.
        message = (
            f"outcome still unknown: could not look the post up on {label} ({exc}); it was not "
            f"sent again. Kavi looks it up again at each run (for {RECONCILE_FOR.days} days), "
            f"or now with `python -m bot retry {post.artwork_id} --platform {post.platform}`"
        )
        log.warning("post %s: %s", post.id, self.redact(message))
        return replace(self._still_unknown(post, message), lookup_failed=True)

    def _still_unknown(self, post: PostInfo, message: str) -> PublishOutcome:
        # Keep what made it unknown in the first place beside the latest look-up.
        previous = (post.last_error or "").split(" | ")[0]
        updated = mark_unknown(
            self.db, post.id, error=self.redact(f"{previous} | {message}" if previous else message)
        )
        return PublishOutcome(post.platform, updated, self.redact(message))

    def _duplicate(
        self, post: PostInfo, draft: Draft, publisher: Publisher, error: str
    ) -> PublishOutcome:
        """The platform says this text is already there: find that post and record its link."""
        label = publisher_label(post.platform)
        try:
            found = publisher.find_existing(replace(draft, checkpoint=post.checkpoint))
        except Exception as exc:  # noqa: BLE001 - most likely up; the next run looks again
            post = mark_unknown(self.db, post.id, error=self.redact(error))
            return self._look_up_failed(post, label, exc)
        if found is not None:
            return self._found(post, found, label)
        # Older than the recent posts a look-up reads: sending again would be refused too.
        return self._fail(
            post, f"{error}; it is not among the account's recent posts, so its link is unknown"
        )

    def _maybe_sent(
        self, post: PostInfo, draft: Draft, publisher: Publisher, error: str
    ) -> PublishOutcome:
        label = publisher_label(post.platform)
        log.warning("post %s to %s may have gone out: %s", post.id, label, self.redact(error))
        post = mark_unknown(self.db, post.id, error=self.redact(error))
        # The post may already be visible; if not, the next start looks again.
        return self._look_up(post, draft, publisher, label)

    def _fail(self, post: PostInfo, error: str, *, retryable: bool = False) -> PublishOutcome:
        message = self.redact(error)
        label = publisher_label(post.platform)
        log.error("artwork %s could not be posted to %s: %s", post.artwork_id, label, message)
        # A forced re-send of a posted post that could not even start stays posted.
        with contextlib.suppress(PostStateConflict):
            post = mark_failed(self.db, post.id, error=message, retryable=retryable)
        return PublishOutcome(post.platform, post, message)

    def _worth_retrying(self, exc: BaseException) -> bool:
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after <= self.max_wait
        return isinstance(exc, NotSent)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after + 1.0  # the limit lifts at the reset second, not before
        return float(self._backoff(state))

    def _log_retry(self, platform: str) -> Callable[[RetryCallState], None]:
        label = publisher_label(platform)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s: not sent (%s); attempt %d of %d in %.0f s",
                label,
                self.redact(str(exc)),
                state.attempt_number + 1,
                self.max_attempts,
                wait,
            )

        return before_sleep

    def _rate_limit_message(self, exc: RateLimited, artwork_id: int, platform: str) -> str:
        if exc.retry_after is None or exc.retry_after <= self.max_wait:
            return f"{exc} (gave up after {self.max_attempts} attempts)"
        until = self.clock() + timedelta(seconds=exc.retry_after)
        return (
            f"{exc}, longer than Kavi waits ({self.max_wait / 60:.0f} min): run `python -m bot "
            f"retry {artwork_id} --platform {platform}` after {until:%Y-%m-%d %H:%M} UTC"
        )
