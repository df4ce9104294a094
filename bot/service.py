"""The service core: make an artwork, archive it, and preview or publish it, as one recorded run."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.chain import Chain, ChainResult
from bot.logs import RedactSecrets
from bot.metrics import MetricsRead, read_metrics
from bot.publishers.base import Publisher
from bot.publishers.factory import get_publisher, missing_credentials
from bot.publishers.preview import Draft, Preview, PreviewPublisher, write_preview
from bot.publishers.registry import enable_hint
from bot.publishing import Publishing, PublishOutcome, RetryRefused, settle_interrupted_posts
from bot.settings import Settings
from bot.taste import TasteDraw, learn, taste_lean
from core.errors import ConfigError
from generators.novelty import image_hash, poem_keys
from generators.scores import agreement, quality
from storage.db import Database
from storage.files import ImageStore, png_bytes
from storage.metrics import scores_by_mood
from storage.models import PostState, RunStatus
from storage.novelty import Nearest, nearest_work
from storage.repository import (
    PostInfo,
    abandon_running_runs,
    attach_artwork,
    finish_run,
    get_artwork,
    posts_for_artwork,
    remove_orphan_files,
    start_run,
    store_artwork,
)

log = logging.getLogger(__name__)

MAX_SEED = 2**31 - 1
# How far a redraw moves the seed: a large prime, so redraws never walk onto a neighbour.
REDRAW_STEP = 1_000_003


@dataclass
class RunReport:
    """The outcome of one run: the stored artwork, where its preview is, and each post's result."""

    run_id: int
    result: ChainResult
    preview: Preview | None = None
    outcomes: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    # Maybe sent: the platform may have the post; it is looked up, never blindly re-sent.
    unknown: dict[str, str] = field(default_factory=dict)
    reconciled: list[PublishOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unknown

    @property
    def artwork_id(self) -> int | None:
        return self.result.artwork.id


@dataclass
class Recovery:
    """What a dead process left open on this DATA_DIR, and where its posts stand now."""

    abandoned_runs: int = 0
    interrupted: list[PostInfo] = field(default_factory=list)
    reconciled: list[PublishOutcome] = field(default_factory=list)


def recover_dead_process(
    db: Database, publishing: Publishing | None, *, every_unknown: bool = False
) -> Recovery:
    """Close what a dead process left: `running` runs are abandoned, `posting` posts looked up.

    Only for a holder of the chain lock: holding it means no live process is mid-run on this
    DATA_DIR, so whatever is still `running` or `posting` belongs to a process that died. Posts
    become `unknown`, then (with `publishing`) are looked up on their platform, never sent
    again. `every_unknown` also looks up older unknown posts, as each run does; a `status` or a
    `retry` only settles what the dead process left, to spare the platforms' rate limits.
    """
    abandoned = abandon_running_runs(db)
    if abandoned:
        log.warning("marked %d run(s) left running by a stopped process abandoned", abandoned)
    interrupted = settle_interrupted_posts(db)
    reconciled: list[PublishOutcome] = []
    if publishing is not None:
        reconciled = publishing.reconcile() if every_unknown else publishing.look_up(interrupted)
    return Recovery(abandoned_runs=abandoned, interrupted=interrupted, reconciled=reconciled)


@dataclass
class RetryReport:
    """A retry's outcome per platform, and what a dead process had left that was settled first."""

    artwork_id: int
    outcomes: dict[str, PublishOutcome]
    recovery: Recovery = field(default_factory=Recovery)
    already_posted: set[str] = field(default_factory=set)  # left alone: nothing to retry

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes.values())

    @property
    def nothing_to_retry(self) -> bool:
        return bool(self.outcomes) and self.already_posted == set(self.outcomes)


class Kavi:
    """One bot on one DATA_DIR: settings, archive and chain, wired once and kept warm."""

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        *,
        publishers: Mapping[str, Publisher] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.db = db or Database.open(settings.resolved_database_url)
        self.store = ImageStore(settings.data_dir)
        self._chain: Chain | None = None
        self._publishers = dict(publishers) if publishers is not None else None
        self._publishing: Publishing | None = None
        self._sleep = sleep

    @property
    def chain(self) -> Chain:
        if self._chain is None:
            self._chain = Chain(self.settings)
        return self._chain

    def today(self, now: datetime | None = None) -> date:
        """The calendar day in TZ, which decides whether today's post already went out."""
        zone = ZoneInfo(self.settings.tz)
        return (now.astimezone(zone) if now else datetime.now(zone)).date()

    def create_artwork(self, *, seed: int | None = None, mood: str | None = None) -> ChainResult:
        """Run the chain and archive the result (files first, then the row).

        A seed Kavi draws itself is redrawn while the artwork repeats a past one (see
        `_novel`); a seed given on purpose (`--seed`) is made as asked, its distances noted.
        """
        redraw = seed is None
        if seed is None:
            seed = secrets.randbelow(MAX_SEED)
        result = self._novel(seed, mood, redraw=redraw)
        store_artwork(self.db, self.store, result.artwork, result.image, result.painting)
        log.info(
            "artwork %s stored: seed=%s mood=%s engines=%s/%s/%s timings=%s",
            result.artwork.id,
            result.artwork.seed,
            result.artwork.mood,
            result.artwork.poem_engine,
            result.artwork.image_engine,
            result.artwork.style_engine,
            result.artwork.timings,
        )
        return result

    def _novel(self, seed: int, mood: str | None, *, redraw: bool) -> ChainResult:
        """The best of CANDIDATES drafts that repeats no past artwork.

        Drafts come from `seed` and the seeds after it (REDRAW_STEP apart). A draft whose poem
        shares POEM_REPEAT of its lines and word triples with one past poem, or whose image is
        within IMAGE_REPEAT bits of a past image's perceptual hash, is refused; the others are
        scored (novelty, quality, agreement; see `_score`) and the best is kept. With none
        left, another round of drafts is made, up to NOVELTY_TRIES rounds; if every draft
        repeats, the least alike is kept and the log says so. The artwork's curation record
        keeps every draft's seed and scores and how near the nearest past work was.
        """
        settings = self.settings
        per_round = settings.candidates if redraw else 1
        rounds = settings.novelty_tries if redraw else 1
        drafts: list[tuple[ChainResult, Nearest, dict[str, float], list[str]]] = []
        winner = None
        taste = self._taste(seed) if mood is None else None
        for round_index in range(rounds):
            for k in range(per_round):
                draft_seed = (seed + (round_index * per_round + k) * REDRAW_STEP) % MAX_SEED
                result = self.chain.run(
                    seed=draft_seed, mood=mood, mood_lean=taste.lean if taste else None
                )
                artwork = result.artwork
                artwork.image_phash = image_hash(result.image)
                artwork.poem_keys = poem_keys(artwork.poem)
                near = nearest_work(
                    self.db, image_phash=artwork.image_phash, keys=artwork.poem_keys
                )
                repeats = [
                    what
                    for what, close in (
                        ("poem", near.poem_shared >= settings.poem_repeat),
                        (
                            "image",
                            near.image_bits is not None
                            and near.image_bits <= settings.image_repeat,
                        ),
                    )
                    if close
                ]
                drafts.append((result, near, self._score(result, near), repeats))
                if repeats and redraw:
                    log.info("draft seed %s repeats a past artwork (%s)", draft_seed, near)
            fresh = [d for d in drafts if not d[3]]
            if fresh:
                winner = max(fresh, key=lambda d: d[2]["total"])
                break
        if winner is None:
            # Every draft repeats: the least alike (the largest novelty score) is kept.
            winner = max(drafts, key=lambda d: d[2]["novelty"])
            if redraw:
                log.warning(
                    "all %d drafts repeat a past artwork; keeping the least alike (seed %s)",
                    len(drafts),
                    winner[0].artwork.seed,
                )
        result, near, scores, repeats = winner
        result.artwork.curation["novelty"] = {
            **near.record(),
            "redraws": sum(1 for d in drafts if d[3]),
            "repeats": repeats,
        }
        result.artwork.curation["scores"] = scores
        if taste is not None:
            result.artwork.curation["taste"] = taste.record()
        result.artwork.curation["candidates"] = [
            {"seed": d[0].artwork.seed, "scores": d[2], "repeats": d[3]} for d in drafts
        ]
        return result

    def _taste(self, seed: int) -> TasteDraw | None:
        """The day's lean from what the audience liked (None when TASTE is off)."""
        settings = self.settings
        if not settings.taste or not settings.mood_from_poem:
            return None
        return taste_lean(
            learn(scores_by_mood(self.db)),
            settings.enabled_moods,
            seed=seed,
            min_artworks=settings.taste_min_artworks,
            explore=settings.taste_explore,
        )

    def _score(self, result: ChainResult, near: Nearest) -> dict[str, float]:
        """A draft's scores, each 0..1, and their total weighted by the SCORE_* settings.

        novelty: how far the nearest past poem and image are (half each); quality: detail and
        balance of the final image; agreement: the share of the poem's subjects the painting
        shows (left out, with its weight, when the painter keeps no record).
        """
        settings = self.settings
        image_novelty = 1.0 if near.image_bits is None else min(1.0, near.image_bits / 24)
        looks = quality(result.image)
        drawn = [d["subject"] for d in result.artwork.scene.get("drawn", [])]
        agrees = agreement(drawn, result.artwork.scene.get("not_drawn", []))
        scores = {
            "novelty": round(0.5 * (1.0 - near.poem_shared) + 0.5 * image_novelty, 4),
            "quality": round((looks["detail"] + looks["balance"]) / 2, 4),
        }
        weights = {"novelty": settings.score_novelty, "quality": settings.score_quality}
        if agrees is not None:
            scores["agreement"] = agrees
            weights["agreement"] = settings.score_agreement
        weight = sum(weights.values()) or 1.0
        scores["total"] = round(sum(scores[k] * w for k, w in weights.items()) / weight, 4)
        return scores

    @property
    def publishers(self) -> dict[str, Publisher]:
        """The enabled publishers; ConfigError naming the variables to set if any lacks them."""
        if self._publishers is None:
            self._publishers = {
                name: get_publisher(name, self.settings) for name in self.settings.publishers
            }
        return self._publishers

    @property
    def publishing(self) -> Publishing:
        if self._publishing is None:
            self._publishing = Publishing(
                self.db,
                self.store,
                self.publishers,
                redact=RedactSecrets(self.settings.secret_values()).redact,
                sleep=self._sleep,
            )
        return self._publishing

    def drafts(self, result: ChainResult) -> list[Draft]:
        """What would be sent: one draft per enabled platform, or a generic one when none is."""
        artwork = result.artwork
        if self.settings.publishers:
            preview = PreviewPublisher(self._preview_publishers(), self.settings.data_dir)
            drafts = preview.drafts(artwork, self.store.absolute(artwork.image_path or ""))
            return [self._with_credential_note(d) for d in drafts]
        return [
            Draft(
                platform="kavi",
                filename="artwork.png",
                media=self._final_png(result),
                caption=artwork.caption,
                alt_text=artwork.alt_text,
                notes=("no publisher enabled: set PUBLISHERS to see each platform's post",),
            )
        ]

    def _final_png(self, result: ChainResult) -> bytes:
        """The final image's PNG: the archived file's bytes, so it is not encoded a second time."""
        if result.artwork.image_path is not None:
            return self.store.absolute(result.artwork.image_path).read_bytes()
        return png_bytes(result.image)

    def _preview_publishers(self) -> list[Publisher]:
        if self._publishers is not None:
            return list(self._publishers.values())
        # Fitting needs no credentials, so a preview works before they are set up.
        return [
            get_publisher(name, self.settings, check_credentials=False)
            for name in self.settings.publishers
        ]

    def _with_credential_note(self, draft: Draft) -> Draft:
        missing = missing_credentials(draft.platform, self.settings)
        if not missing:
            return draft
        note = f"not ready to post: set {', '.join(missing)} in .env"
        return replace(draft, notes=(*draft.notes, note))

    def recover(self, *, look_up: bool = True, every_unknown: bool = False) -> Recovery:
        """Close what a dead process left (see recover_dead_process); the caller holds the chain.

        `look_up` needs the publishers' credentials (ConfigError names any that are missing).
        """
        publishing = self.publishing if look_up and self.settings.publishers else None
        return recover_dead_process(self.db, publishing, every_unknown=every_unknown)

    def resend_unsent(self, artwork_id: int) -> list[PublishOutcome]:
        """Send again the artwork's posts that failed without reaching the platform."""
        return self.publishing.resend_unsent(artwork_id)

    def retry(
        self, artwork_id: int, platform: str | None = None, *, force: bool = False
    ) -> RetryReport:
        """Re-publish an artwork's failed posts (one platform, or every enabled one that failed).

        The caller holds the chain lock: what a dead process left is settled first, so a post
        it stranded mid-send is looked up rather than refused. Unknown posts are looked up
        first. With no platform named, posts that are posted (or unknown and not found) are
        reported and left alone; naming one refuses it unless `force`.
        """
        get_artwork(self.db, artwork_id)
        if not self.settings.publishers:
            raise ConfigError(
                f"no publisher is enabled, so artwork {artwork_id} has nothing to retry on: "
                f"{enable_hint()}"
            )
        recovery = self.recover()
        # A post the dead process left is already looked up; only --force goes further.
        settled = {
            o.platform: o
            for o in recovery.reconciled
            if o.post is not None and o.post.artwork_id == artwork_id and (o.ok or not force)
        }
        report = RetryReport(artwork_id, {}, recovery)
        if platform is not None:
            report.outcomes[platform] = settled.get(platform) or self.publishing.retry(
                artwork_id, platform, force=force
            )
            return report
        states = {p.platform: p for p in posts_for_artwork(self.db, artwork_id)}
        for name in self.publishers:
            post = states.get(name)
            if name in settled:
                report.outcomes[name] = settled[name]
                continue
            # --force applies to a platform named on purpose, never to a posted one by default.
            if post is not None and post.state == PostState.POSTED:
                where = post.remote_url or post.remote_id or ""
                report.outcomes[name] = PublishOutcome(name, post, f"already posted: {where}")
                report.already_posted.add(name)
                continue
            try:
                report.outcomes[name] = self.publishing.retry(artwork_id, name, force=force)
            except RetryRefused as exc:
                report.outcomes[name] = PublishOutcome(name, post, f"not retried: {exc}")
        return report

    def post_now(
        self,
        *,
        dry_run: bool,
        seed: int | None = None,
        mood: str | None = None,
        trigger: str = "manual",
    ) -> RunReport:
        """Make one artwork and preview it (dry run) or publish it, recorded as a run."""
        # Missing credentials stop the run before an artwork is made for nothing.
        publishing = None if dry_run else self.publishing
        redact = RedactSecrets(self.settings.secret_values()).redact
        # Callers hold the chain lock. Before this run starts, so it is not taken for a dead one;
        # posts a crash or an ambiguous error left behind are settled before a new one is sent.
        recovery = recover_dead_process(self.db, publishing, every_unknown=True)
        run_id = start_run(
            self.db, trigger=trigger, dry_run=dry_run, local_date=self.today(), pid=os.getpid()
        )
        # Callers hold the chain lock, so no other process is between writing files and
        # committing their row: what no row names now was left by a crash.
        for path in remove_orphan_files(self.db, self.store):
            log.warning("removed %s: an image file no artwork names (left by a crash)", path)
        try:
            result = self.create_artwork(seed=seed, mood=mood)
            assert result.artwork.id is not None
            # Before anything is sent: a crash from here on still ties the run to its artwork,
            # which is how a restart knows today's post may already be out.
            attach_artwork(self.db, run_id, result.artwork.id)
            report = RunReport(run_id=run_id, result=result, reconciled=recovery.reconciled)
            if dry_run:
                report.preview = write_preview(
                    result.artwork, self.drafts(result), self.settings.data_dir
                )
                log.info("preview written: %s", report.preview.page)
            elif publishing is not None:
                outcomes = publishing.publish_all(result.artwork)
                for platform, outcome in outcomes.items():
                    if outcome.ok:
                        report.outcomes[platform] = outcome.message
                    elif outcome.state == PostState.UNKNOWN:
                        report.unknown[platform] = outcome.message
                    else:
                        report.failed[platform] = outcome.message
        except BaseException as exc:
            finish_run(
                self.db,
                run_id,
                status=RunStatus.FAILED,
                error=redact(str(exc)) or type(exc).__name__,
            )
            raise
        finish_run(
            self.db,
            run_id,
            status=RunStatus.SUCCEEDED if report.ok else RunStatus.FAILED,
            error=redact(
                "; ".join(f"{p}: {e}" for p, e in {**report.failed, **report.unknown}.items())
            )
            or None,
            artwork_id=result.artwork.id,
        )
        return report

    def read_metrics(self) -> MetricsRead:
        """Read back the last 30 days' posts' likes, reposts and replies (the daily job)."""
        redact = RedactSecrets(self.settings.secret_values()).redact
        return read_metrics(
            self.db, self.publishers, redact=redact, paid_reads=self.settings.read_x_metrics
        )

    def close(self) -> None:
        self.db.close()
