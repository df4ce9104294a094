"""`kavi web export DIR`: the gallery as static files (pages, feed, images) to host anywhere.

The pages are the live gallery's templates with relative links, so the folder also opens
from disk. The feed's links are absolute under PUBLIC_BASE_URL, where the folder will be
served. Filters need a server and are left out. Running it again updates the folder: pages
are rewritten, images already copied are kept.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings
from bot.web.app import HERE, template_environment
from bot.web.inspect import inspection
from bot.web.views import FEED_SIZE, PAGE_SIZE, page_views
from core.errors import ConfigError
from storage.db import Database
from storage.files import ImageStore, write_atomic
from storage.gallery import gallery_page
from storage.repository import ARTWORK_DIR, get_artwork

STATIC = Path(__file__).resolve().parent / "static"


class StaticLinks:
    """Links between exported files, relative to a page `prefix` levels below the root."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def artwork(self, artwork_id: int) -> str:
        return f"{self.prefix}artworks/{artwork_id}.html"

    def image(self, artwork_id: int) -> str:
        return f"{self.prefix}images/{artwork_id}.png"

    def thumbnail(self, artwork_id: int) -> str:
        return f"{self.prefix}thumbnails/{artwork_id}.jpg"

    def home(self) -> str:
        return f"{self.prefix}index.html"

    def page(self, number: int) -> str:
        return self.home() if number == 1 else f"{self.prefix}pages/{number}.html"

    def feed(self) -> str:
        return f"{self.prefix}feed.xml"

    def static(self, name: str) -> str:
        return f"{self.prefix}static/{name}"


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    folder: Path
    pages: int
    artworks: int
    files_copied: int


def _copy(source: Path, target: Path) -> bool:
    """Copy unless an identical-looking copy is there; True when it copied."""
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return True


def export_site(settings: Settings, folder: Path, *, db: Database | None = None) -> ExportReport:
    """Write the static gallery into `folder`; ConfigError when PUBLIC_BASE_URL is not set."""
    base = settings.public_base_url
    if not base:
        raise ConfigError(
            "kavi web export needs PUBLIC_BASE_URL, the address the exported folder will be "
            "served at (the feed's links must be absolute), e.g. PUBLIC_BASE_URL=https://kavi.example.org"
        )
    from bot.web.app import render_feed_xml
    from storage.gallery import neighbours
    from storage.thumbnails import thumbnail_path

    own_db = db is None
    archive = db or Database.open_read_only(settings.resolved_database_url)
    store = ImageStore(settings.data_dir)
    templates = template_environment()
    root, below = StaticLinks(""), StaticLinks("../")
    folder.mkdir(parents=True, exist_ok=True)
    pages = artworks = copied = 0
    try:
        before: int | None = None
        number = 1
        while True:
            page = gallery_page(archive, size=PAGE_SIZE, before=before, with_posts=True)
            links = root if number == 1 else below
            views = page_views(page, settings.tz)
            html = templates.get_template("index.html").render(
                links=links,
                artworks=views,
                filters=False,
                filtered=False,
                newer_href=links.page(number - 1) if number > 1 else None,
                older_href=links.page(number + 1) if page.older_before else None,
            )
            target = folder / (root.page(number))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            pages += 1
            for view in views:
                newer, older = neighbours(archive, view.id)
                (folder / root.artwork(view.id)).parent.mkdir(parents=True, exist_ok=True)
                (folder / root.artwork(view.id)).write_text(
                    templates.get_template("artwork.html").render(
                        links=below,
                        view=view,
                        newer_href=below.artwork(newer) if newer else None,
                        older_href=below.artwork(older) if older else None,
                    ),
                    encoding="utf-8",
                )
                artworks += 1
                source = store.archived(view.artwork.image_path or "", under=ARTWORK_DIR)
                copied += _copy(source, folder / root.image(view.id))
                copied += _copy(
                    thumbnail_path(store, view.artwork), folder / root.thumbnail(view.id)
                )
            if page.older_before is None:
                break
            before, number = page.older_before, number + 1
        feed_page = gallery_page(archive, size=FEED_SIZE, with_posts=True)
        feed_views = page_views(feed_page, settings.tz)
        (folder / "feed.xml").write_text(
            render_feed_xml(templates, StaticLinks("/"), feed_views, base), encoding="utf-8"
        )
        for asset in STATIC.iterdir():
            copied += _copy(asset, folder / root.static(asset.name))
    finally:
        if own_db:
            archive.close()
    return ExportReport(folder, pages, artworks, copied)


INSPECT_DIR = "inspect"


def write_inspection(db: Database, data_dir: Path, artwork_id: int) -> Path:
    """Write the page for `kavi inspect ID` under DATA_DIR/inspect/, with its stylesheet;
    the picture is linked from the archive, not copied. Returns the page's path."""
    folder = data_dir / INSPECT_DIR
    artwork = get_artwork(db, artwork_id)
    image = f"../{artwork.image_path}" if artwork.image_path else ""
    values = inspection(db, artwork_id, image=image)
    page = (
        template_environment().get_template("inspect.html").render(links=StaticLinks(""), **values)
    )
    style = (HERE / "static" / "style.css").read_bytes()
    write_atomic(folder / "static" / "style.css", style)
    path = folder / f"artwork-{artwork_id:05d}.html"
    write_atomic(path, page.encode("utf-8"))
    return path
