"""Serving the gallery: uvicorn on WEB_HOST:WEB_PORT, and the static export's CLI report."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """Serve the gallery until stopped (SIGINT/SIGTERM); returns the exit code."""
    import uvicorn

    from bot.web.app import create_app

    app = create_app(settings)
    admin = "on" if settings.web_admin_token else "off (set WEB_ADMIN_TOKEN to turn it on)"
    log.info(
        "gallery on http://%s:%d (archive read-only; admin %s)",
        settings.web_host,
        settings.web_port,
        admin,
    )
    # log_config=None: uvicorn logs through Kavi's handlers, which redact secrets.
    config = uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
    uvicorn.Server(config).run()
    return 0


def export(settings: Settings, folder: Path) -> int:
    """Write the static site and say what was written."""
    from bot.web.export import export_site

    report = export_site(settings, folder)
    print(
        f"exported {report.artworks:,} artwork(s) on {report.pages:,} page(s) to {report.folder} "
        f"({report.files_copied:,} file(s) copied); the feed links to {settings.public_base_url}"
    )
    return 0
