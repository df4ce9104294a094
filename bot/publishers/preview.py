"""The preview: upload-ready files and an HTML page mocking each post; nothing is sent."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.publishers.base import Draft, Publisher
from bot.publishers.registry import publisher_label
from core.artwork import Artwork
from storage.files import write_atomic

__all__ = ["Draft", "Preview", "PreviewPublisher", "write_preview"]

PREVIEW_DIR = "previews"


@dataclass(frozen=True)
class Preview:
    folder: Path
    page: Path
    files: dict[str, Path]


class PreviewPublisher:
    """What --dry-run uses for every enabled platform: each exact draft, written, none sent."""

    name = "preview"

    def __init__(self, publishers: Sequence[Publisher], data_dir: Path) -> None:
        self.publishers = list(publishers)
        self.data_dir = data_dir

    def drafts(self, artwork: Artwork, image_path: Path) -> list[Draft]:
        return [publisher.fit(artwork, image_path) for publisher in self.publishers]

    def preview(self, artwork: Artwork, image_path: Path) -> Preview:
        return write_preview(artwork, self.drafts(artwork, image_path), self.data_dir)


def write_preview(artwork: Artwork, drafts: list[Draft], data_dir: Path) -> Preview:
    """Write each draft's files and one HTML page under DATA_DIR/previews/<artwork id>/."""
    if artwork.id is None:
        raise ValueError("`artwork` must be stored (have an id) before it is previewed")
    folder = data_dir / PREVIEW_DIR / f"artwork-{artwork.id:05d}"
    files: dict[str, Path] = {}
    for draft in drafts:
        media_path = folder / draft.platform / draft.filename
        write_atomic(media_path, draft.media)
        write_atomic(folder / draft.platform / "caption.txt", draft.caption.encode())
        write_atomic(folder / draft.platform / "alt-text.txt", draft.alt_text.encode())
        files[draft.platform] = media_path
    page = folder / "index.html"
    write_atomic(page, _render(artwork, drafts).encode())
    return Preview(folder=folder, page=page, files=files)


def _render(artwork: Artwork, drafts: list[Draft]) -> str:
    cards = "\n".join(_card(d) for d in drafts)
    poem = "<br>".join(html.escape(line) for line in artwork.poem_lines)
    meta = [
        ("seed", str(artwork.seed)),
        ("mood", artwork.mood),
        ("poem", f"{artwork.poem_engine} {artwork.poem_model or ''}".strip()),
        ("painting", f"{artwork.image_engine} {artwork.image_model or ''}".strip()),
        ("style", f"{artwork.style_engine} {artwork.style_reference or '(mood palette)'}"),
    ]
    meta_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in meta
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Kavi preview — artwork {artwork.id}</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f4f1ea;color:#222;
margin:2rem auto;max-width:1100px}}
h1{{font-weight:400}} .poem{{font-family:Georgia,serif;font-size:1.4rem;line-height:1.6}}
.cards{{display:flex;flex-wrap:wrap;gap:2rem}} .card{{background:#fff;border-radius:12px;
box-shadow:0 2px 8px #0002;width:500px;overflow:hidden}} .card header{{padding:.8rem 1rem;
font-weight:600}} .card img{{width:100%;display:block}} .caption{{white-space:pre-wrap;
padding:1rem}} .alt{{color:#555;font-size:.9rem;padding:0 1rem 1rem}} .notes{{color:#8a5a00;
font-size:.85rem;padding:0 1rem 1rem}} table{{border-collapse:collapse;margin:1rem 0}}
th{{text-align:left;padding-right:1rem;color:#666;font-weight:400}}
</style></head><body>
<h1>Preview — nothing was posted</h1>
<p class="poem">{poem}</p>
<table>{meta_rows}</table>
<div class="cards">
{cards}
</div>
</body></html>
"""


def _card(draft: Draft) -> str:
    notes = "".join(f"<div>{html.escape(n)}</div>" for n in draft.notes)
    return f"""<article class="card" data-platform="{html.escape(draft.platform)}">
<header>{html.escape(publisher_label(draft.platform))}</header>
<img src="{html.escape(draft.platform)}/{html.escape(draft.filename)}"
 alt="{html.escape(draft.alt_text)}">
<div class="caption">{html.escape(draft.caption)}</div>
<div class="alt"><strong>Alt text:</strong> {html.escape(draft.alt_text)}</div>
<div class="notes">{notes}</div>
</article>"""
