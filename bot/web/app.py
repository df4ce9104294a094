"""The gallery as an ASGI app: pages, their JSON twins, the feed, images, health and admin.

The archive is opened read-only and never migrated: the service owns the schema. The only
writes are thumbnails (made once, atomically, under DATA_DIR/thumbnails) and the admin's
retry, which goes through the same path as `kavi retry` (the chain lock, then the publish
state machine) on a connection of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.publishers.base import Publisher
from bot.settings import Settings
from bot.web.views import (
    FEED_SIZE,
    PAGE_SIZE,
    ArtworkView,
    Links,
    LiveLinks,
    artwork_view,
    gallery_filter,
    month_of,
    page_views,
)
from generators.mood.moods import MOOD_NAMES
from storage.db import ArchiveReadError, Database, archive_ready
from storage.errors import NotFoundError
from storage.files import ImageStore
from storage.gallery import MAX_PAGE_SIZE, archive_span, gallery_page, neighbours
from storage.repository import ARTWORK_DIR, get_artwork, posts_for_artwork
from storage.thumbnails import FULL_JPEG_QUALITY, FULL_JPEG_WIDTH, thumbnail_path

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# SQLite's integers are 64-bit: a larger id is refused as a bad request, not sent to the driver.
MAX_ID = 2**63 - 1
ArtworkId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
PageId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PAGE_CACHE = "public, max-age=60"
# An id's image never changes: its URL may be cached for good.
IMAGE_CACHE = "public, max-age=31536000, immutable"
ADMIN_COOKIE = "kavi_admin"
RETRY_LOCK_WAIT_S = 10.0

Retrier = Callable[[int, str | None], list["RetryLine"]]


@dataclass(frozen=True)
class RetryLine:
    """One platform's outcome of an admin retry, as the page shows it."""

    platform: str
    ok: bool
    state: str
    message: str


@dataclass
class Gallery:
    """What the routes share: settings, the read-only archive, the files, the templates."""

    settings: Settings
    db: Database
    store: ImageStore
    templates: Jinja2Templates
    retrier: Retrier
    links: LiveLinks = field(default_factory=LiveLinks)

    def base_url(self, request: Request) -> str:
        """The site's absolute root (feed, API): PUBLIC_BASE_URL, else the request's."""
        configured = self.settings.public_base_url
        return configured if configured else str(request.base_url).rstrip("/")


def template_environment() -> Jinja2Templates:
    """The templates, with autoescape on for every file (HTML and the Atom feed)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # Jinja2Templates turns autoescape on for .html only; the feed is XML and must be escaped.
    templates.env.autoescape = True
    return templates


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    publishers: Mapping[str, Publisher] | None = None,
) -> FastAPI:
    """Build the gallery; `publishers` (tests) go to the admin's retry like the CLI's Kavi."""
    gallery = Gallery(
        settings=settings,
        db=db or Database.open_read_only(settings.resolved_database_url),
        store=ImageStore(settings.data_dir),
        templates=template_environment(),
        retrier=_service_retrier(settings, publishers),
    )
    app = FastAPI(title="Kavi", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.gallery = gallery
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _add_security_headers(app)
    _add_error_pages(app, gallery)
    _add_public_routes(app, gallery)
    _add_admin_routes(app, gallery)
    return app


# Pages run no script at all: even a poem that escaped escaping could not run one.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _add_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def secure(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response


# --- public ---------------------------------------------------------------------------------


def _check_mood(mood: str | None) -> str | None:
    if mood and mood not in MOOD_NAMES:
        raise HTTPException(422, f"unknown mood {mood!r}; choose one of: {', '.join(MOOD_NAMES)}")
    return mood or None


def _page(
    gallery: Gallery,
    *,
    before: int | None,
    after: int | None,
    mood: str | None,
    month: str | None,
    size: int,
    with_posts: bool,
) -> tuple[list[ArtworkView], int | None, int | None]:
    if before is not None and after is not None:
        raise HTTPException(422, "give `before` or `after`, not both")
    try:
        where = gallery_filter(_check_mood(mood), month, gallery.settings.tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    page = gallery_page(
        gallery.db, size=size, before=before, after=after, where=where, with_posts=with_posts
    )
    return page_views(page, gallery.settings.tz), page.older_before, page.newer_after


def _artwork(gallery: Gallery, artwork_id: int) -> ArtworkView:
    try:
        artwork = get_artwork(gallery.db, artwork_id)
    except NotFoundError:
        raise HTTPException(404, f"no artwork {artwork_id}") from None
    return artwork_view(artwork, posts_for_artwork(gallery.db, artwork_id), gallery.settings.tz)


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match", "")
    return wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")]


def _file(request: Request, path: Path, etag: str, media_type: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": IMAGE_CACHE}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


def _add_public_routes(app: FastAPI, gallery: Gallery) -> None:
    links = gallery.links
    tz = gallery.settings.tz

    @app.get("/", response_class=HTMLResponse)
    def home(
        request: Request,
        before: PageId = None,
        after: PageId = None,
        mood: str | None = None,
        month: str | None = None,
    ) -> Response:
        views, older, newer = _page(
            gallery,
            before=before,
            after=after,
            mood=mood,
            month=month,
            size=PAGE_SIZE,
            with_posts=False,  # the grid shows no posts
        )
        span = archive_span(gallery.db)
        query = {"mood": mood, "month": month}
        return gallery.templates.TemplateResponse(
            request,
            "index.html",
            {
                "links": links,
                "artworks": views,
                "older_href": links.home(before=older, **query) if older else None,
                "newer_href": links.home(after=newer, **query) if newer else None,
                "moods": MOOD_NAMES,
                "first_month": month_of(span[0], tz) if span else None,
                "last_month": month_of(span[1], tz) if span else None,
                "mood": mood or "",
                "month": month or "",
                "filters": True,
                "filtered": bool(mood or month),
            },
            headers={"Cache-Control": PAGE_CACHE},
        )

    @app.get("/artworks/{artwork_id}", response_class=HTMLResponse)
    def artwork_page(request: Request, artwork_id: ArtworkId) -> Response:
        view = _artwork(gallery, artwork_id)
        newer, older = neighbours(gallery.db, artwork_id)
        return gallery.templates.TemplateResponse(
            request,
            "artwork.html",
            {
                "links": links,
                "view": view,
                "newer_href": links.artwork(newer) if newer else None,
                "older_href": links.artwork(older) if older else None,
            },
            headers={"Cache-Control": PAGE_CACHE},
        )

    @app.get("/api/artworks")
    def api_artworks(
        request: Request,
        before: PageId = None,
        after: PageId = None,
        mood: str | None = None,
        month: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    ) -> dict[str, Any]:
        views, older, newer = _page(
            gallery,
            before=before,
            after=after,
            mood=mood,
            month=month,
            size=limit,
            with_posts=True,
        )
        base = gallery.base_url(request)
        query = {"mood": mood, "month": month, "limit": limit if limit != PAGE_SIZE else None}

        def beside(**key: int) -> str:
            kept = {k: v for k, v in {**key, **query}.items() if v not in (None, "")}
            return f"{base}/api/artworks?{urlencode(kept)}"

        return {
            "artworks": [v.as_json(links, base) for v in views],
            "older": beside(before=older) if older else None,
            "newer": beside(after=newer) if newer else None,
        }

    @app.get("/api/artworks/{artwork_id}")
    def api_artwork(request: Request, artwork_id: ArtworkId) -> dict[str, Any]:
        view = _artwork(gallery, artwork_id)
        newer, older = neighbours(gallery.db, artwork_id)
        return {**view.as_json(links, gallery.base_url(request)), "newer": newer, "older": older}

    @app.get("/images/{artwork_id}.png")
    def image(request: Request, artwork_id: ArtworkId) -> Response:
        artwork = _artwork(gallery, artwork_id).artwork
        try:
            path = gallery.store.archived(artwork.image_path or "", under=ARTWORK_DIR)
        except FileNotFoundError:
            raise HTTPException(404, f"artwork {artwork_id} has no image file") from None
        return _file(request, path, f'"{artwork.image_sha256}"', "image/png")

    @app.get("/images/{artwork_id}.jpg")
    def full_jpeg(request: Request, artwork_id: ArtworkId) -> Response:
        # The painting as a JPEG: Instagram's content publishing API fetches only JPEG.
        artwork = _artwork(gallery, artwork_id).artwork
        try:
            path = thumbnail_path(
                gallery.store, artwork, width=FULL_JPEG_WIDTH, quality=FULL_JPEG_QUALITY
            )
        except FileNotFoundError:
            raise HTTPException(404, f"artwork {artwork_id} has no image file") from None
        return _file(request, path, f'"{path.stem}"', "image/jpeg")

    @app.get("/thumbnails/{artwork_id}.jpg")
    def thumbnail(request: Request, artwork_id: ArtworkId) -> Response:
        artwork = _artwork(gallery, artwork_id).artwork
        try:
            path = thumbnail_path(gallery.store, artwork)
        except FileNotFoundError:
            raise HTTPException(404, f"artwork {artwork_id} has no image file") from None
        return _file(request, path, f'"{path.stem}"', "image/jpeg")

    @app.get("/feed.xml")
    def feed(request: Request) -> Response:
        return render_feed(gallery, gallery.base_url(request))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        if not archive_ready(gallery.db.engine):
            # The service creates and migrates the archive at its start; the gallery never does.
            return JSONResponse(
                {"status": "waiting", "detail": "the archive is missing or not migrated yet"},
                status_code=503,
            )
        return JSONResponse({"status": "ok"})


def render_feed(gallery: Gallery, base: str) -> Response:
    """The Atom feed of the newest artworks, every link absolute under `base`."""
    page = gallery_page(gallery.db, size=FEED_SIZE, with_posts=True)
    views = page_views(page, gallery.settings.tz)
    return Response(
        render_feed_xml(gallery.templates, gallery.links, views, base),
        media_type="application/atom+xml",
        headers={"Cache-Control": "public, max-age=300"},
    )


def render_feed_xml(
    templates: Jinja2Templates, links: Links, views: list[ArtworkView], base: str
) -> str:
    return templates.get_template("feed.xml").render(links=links, artworks=views, base=base)


# --- admin ----------------------------------------------------------------------------------


def admin_cookie_value(token: str) -> str:
    """What the login cookie holds: derived from the token, never the token itself."""
    return hmac.new(token.encode(), b"kavi admin session v1", hashlib.sha256).hexdigest()


def _admin_token(gallery: Gallery) -> str:
    """The configured token; without one, every admin route does not exist (404)."""
    token = gallery.settings.web_admin_token
    value = token.get_secret_value() if token else ""
    if not value:
        raise HTTPException(404, "Not Found")
    return value


def _is_admin(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(ADMIN_COOKIE, "")
    return hmac.compare_digest(cookie.encode(), admin_cookie_value(token).encode())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin(request: Request, public_base_url: str | None) -> bool:
    """A form post from another site is refused (the cookie is SameSite=Strict too).

    The gallery's own origin is the request's, or PUBLIC_BASE_URL's behind a reverse proxy.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = {_origin(str(request.base_url))}
    if public_base_url:
        ours.add(_origin(public_base_url))
    return _origin(origin) in ours


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, max_num_fields=10).items()}


def _add_admin_routes(app: FastAPI, gallery: Gallery) -> None:
    public = gallery.settings.public_base_url

    def login_page(request: Request, message: str | None = None) -> Response:
        return gallery.templates.TemplateResponse(
            request,
            "login.html",
            {"links": gallery.links, "message": message},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="kavi admin"', "Cache-Control": "no-store"},
        )

    @app.get("/admin", response_class=HTMLResponse)
    def admin(request: Request) -> Response:
        token = _admin_token(gallery)
        if not _is_admin(request, token):
            return login_page(request)
        from bot.status import status_picture
        from storage.metrics import metrics_summary

        picture = status_picture(gallery.settings, gallery.db, limit=50)
        audience = metrics_summary(gallery.db)
        return gallery.templates.TemplateResponse(
            request,
            "admin.html",
            {
                "links": gallery.links,
                "picture": picture,
                "audience": audience,
                "tz": gallery.settings.tz,
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/admin/artworks/{artwork_id}/inspect", response_class=HTMLResponse)
    def inspect_page(request: Request, artwork_id: ArtworkId) -> Response:
        token = _admin_token(gallery)
        if not _is_admin(request, token):
            return login_page(request)
        from bot.web.inspect import inspection

        _artwork(gallery, artwork_id)  # 404 for an unknown id, as the public page
        values = inspection(gallery.db, artwork_id, image=gallery.links.image(artwork_id))
        return gallery.templates.TemplateResponse(
            request,
            "inspect.html",
            {"links": gallery.links, **values},
            headers={"Cache-Control": "no-store"},
        )

    @app.post("/admin/login")
    async def login(request: Request) -> Response:
        token = _admin_token(gallery)
        given = (await _form(request)).get("token", "")
        right = hmac.compare_digest(given.encode(), token.encode())
        if not right or not _same_origin(request, public):
            return login_page(request, "That is not the admin token.")
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            ADMIN_COOKIE,
            admin_cookie_value(token),
            httponly=True,
            samesite="strict",
            secure=(gallery.settings.public_base_url or "").startswith("https://"),
            path="/admin",
        )
        return response

    @app.post("/admin/retry")
    async def retry(request: Request) -> Response:
        token = _admin_token(gallery)
        if not _is_admin(request, token) or not _same_origin(request, public):
            return login_page(request)
        form = await _form(request)
        try:
            artwork_id = int(form.get("artwork_id", ""))
        except ValueError:
            raise HTTPException(422, "artwork_id must be a whole number") from None
        if not 1 <= artwork_id <= MAX_ID:
            raise HTTPException(422, "artwork_id must be a positive id")
        platform = form.get("platform") or None
        from starlette.concurrency import run_in_threadpool

        lines = await run_in_threadpool(gallery.retrier, artwork_id, platform)
        return gallery.templates.TemplateResponse(
            request,
            "retried.html",
            {"links": gallery.links, "artwork_id": artwork_id, "lines": lines},
            headers={"Cache-Control": "no-store"},
        )


def _service_retrier(settings: Settings, publishers: Mapping[str, Publisher] | None) -> Retrier:
    """`kavi retry` in this process: the chain lock, then Kavi.retry on a writable connection."""

    def retry(artwork_id: int, platform: str | None) -> list[RetryLine]:
        from bot.lock import hold_chain
        from bot.logs import RedactSecrets
        from bot.service import Kavi
        from core.errors import KaviError

        redact = RedactSecrets(settings.secret_values()).redact
        # Its own connection, not migrated here: the service keeps the schema current.
        kavi = Kavi(settings, db=Database(settings.resolved_database_url), publishers=publishers)
        try:
            with hold_chain(settings.data_dir, timeout=RETRY_LOCK_WAIT_S):
                report = kavi.retry(artwork_id, platform)
        except KaviError as exc:
            return [RetryLine(platform or "all", False, "error", redact(str(exc)))]
        finally:
            kavi.close()
        return [
            RetryLine(
                name,
                outcome.ok,
                outcome.state.value if outcome.state else "error",
                redact(outcome.message),
            )
            for name, outcome in report.outcomes.items()
        ]

    return retry


# --- errors ---------------------------------------------------------------------------------


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _add_error_pages(app: FastAPI, gallery: Gallery) -> None:
    def error(request: Request, status: int, message: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=status)
        return gallery.templates.TemplateResponse(
            request,
            "error.html",
            {"links": gallery.links, "status": status, "message": message},
            status_code=status,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/admin") and not gallery.settings.web_admin_token:
            # Without a token there is no admin at all, not even a route with other methods.
            return error(request, 404, "Not Found")
        return error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
            for e in exc.errors()
        )
        return error(request, 422, problems)

    @app.exception_handler(ArchiveReadError)
    async def archive_error(request: Request, exc: ArchiveReadError) -> Response:
        # The driver's message can name paths; it goes to the log, not to the visitor.
        log.error("the archive could not be read: %s", exc)
        return error(
            request, 503, "The archive cannot be read right now (is the service started?)."
        )
