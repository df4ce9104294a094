"""The service core: make an artwork, archive it, and preview or publish it, as one recorded run."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.chain import Chain, ChainResult
from bot.errors import KaviError
from bot.publishers.preview import Draft, Preview, write_preview
from bot.settings import Settings
from storage.db import Database
from storage.files import png_bytes
from storage.files import ImageStore
from storage.models import RunStatus
from storage.repository import finish_run, start_run, store_artwork

log = logging.getLogger(__name__)

MAX_SEED = 2**31 - 1


@dataclass
class RunReport:
    """The outcome of one run: the stored artwork, where its preview is, and each post's result."""

    run_id: int
    result: ChainResult
    preview: Preview | None = None
    outcomes: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


class Kavi:
    """One bot on one DATA_DIR: settings, archive and chain, wired once and kept warm."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database.open(settings.resolved_database_url)
        self.store = ImageStore(settings.data_dir)
        self._chain: Chain | None = None

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
        """Run the chain and archive the result (files first, then the row)."""
        if seed is None:
            seed = secrets.randbelow(MAX_SEED)
        result = self.chain.run(seed=seed, mood=mood)
        store_artwork(self.db, self.store, result.artwork, result.image, result.painting)
        log.info(
            "artwork %s stored: seed=%s mood=%s engines=%s/%s/%s timings=%s",
            result.artwork.id, seed, result.artwork.mood, result.artwork.poem_engine,
            result.artwork.image_engine, result.artwork.style_engine, result.artwork.timings,
        )
        return result

    def drafts(self, result: ChainResult) -> list[Draft]:
        """What would be sent: one draft per enabled platform, or a generic one when none is."""
        artwork = result.artwork
        return [
            Draft(
                platform="kavi",
                filename="artwork.png",
                media=png_bytes(result.image),
                caption=artwork.caption,
                alt_text=artwork.alt_text,
                notes=("no publisher enabled: set PUBLISHERS to see each platform's post",),
            )
        ]

    def post_now(
        self, *, dry_run: bool, seed: int | None = None, mood: str | None = None,
        trigger: str = "manual",
    ) -> RunReport:
        """Make one artwork and preview it (dry run) or publish it, recorded as a run."""
        run_id = start_run(
            self.db, trigger=trigger, dry_run=dry_run, local_date=self.today(), pid=os.getpid()
        )
        try:
            result = self.create_artwork(seed=seed, mood=mood)
            report = RunReport(run_id=run_id, result=result)
            if dry_run:
                report.preview = write_preview(
                    result.artwork, self.drafts(result), self.settings.data_dir
                )
                log.info("preview written: %s", report.preview.page)
            else:
                raise KaviError("publishing is not available yet: use --dry-run")
        except BaseException as exc:
            finish_run(self.db, run_id, status=RunStatus.FAILED, error=str(exc) or type(exc).__name__)
            raise
        finish_run(
            self.db, run_id,
            status=RunStatus.SUCCEEDED if report.ok else RunStatus.FAILED,
            error="; ".join(f"{p}: {e}" for p, e in report.failed.items()) or None,
            artwork_id=result.artwork.id,
        )
        return report

    def close(self) -> None:
        self.db.close()
