"""The command line: parse, wire, and turn errors into exit codes (0 done, 1 failed, 2 usage).

When the reader of its output goes away (`python -m bot history | head -3`), a command stops
quietly with 141, the status a shell reports for a Unix tool that SIGPIPE ended.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.publishers.registry import (
    RegisteredNames,
    enable_hint,
)
from bot.style_cli import add_style_parser
from core.errors import ConfigError, KaviError

if TYPE_CHECKING:
    from bot.service import Kavi, RunReport
    from bot.settings import Settings
    from storage.db import Database

# Everything but the parser's own needs (the publisher registry, for `retry --platform`) is
# imported inside the command that uses it: settings (pydantic), the archive (SQLAlchemy), the
# chain and the service (numpy, Pillow), and even the light modules (locks, logging, cron, the
# engine catalog), so that `--help` and a usage error answer at once.

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STATUS_LIMIT = 10
# 128 + SIGPIPE (13): what `seq 1 100000 | head -1` leaves in PIPESTATUS for `seq`.
EXIT_BROKEN_PIPE = 141

DESCRIPTION = """Kavi, an autonomous AI poet-painter: writes a haiku, paints it, recolours it in a
mood, archives it and posts it. Settings come from the environment and .env (see README)."""

EPILOG = """examples:
  python -m bot --post-now --dry-run          make an artwork and preview it; nothing is sent
  python -m bot --post-now --seed 7           reproduce seed 7 and post it
  python -m bot history                       the archive
  python -m bot show 3                        one artwork and its posts
  python -m bot status                        next run, last run, posts failed or unknown
  python -m bot retry 3 --platform twitter    re-publish artwork 3's failed post to X
  python -m bot web                           the gallery at http://127.0.0.1:8080
  python -m bot style prepare masks --from ~/curated/masks   teach Kavi a style (see style -h)
"""


class UsageError(ConfigError):
    """The command line itself is wrong."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kavi",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--post-now", action="store_true", help="run the chain once now and publish"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="preview instead of posting: write upload-ready files and a page",
    )
    parser.add_argument("--seed", type=_seed, help="seed for a reproducible artwork")
    parser.add_argument("--mood", help="mood to paint in (default: drawn at random from MOODS)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    history = commands.add_parser("history", help="list archived artworks, newest first")
    history.add_argument(
        "--limit", type=_positive_int, default=20, help="how many, newest first (default 20)"
    )
    show = commands.add_parser("show", help="show one artwork and its posts")
    show.add_argument("id", type=int, help="artwork id (see history)")
    status = commands.add_parser(
        "status", help="next run, last run, and posts that failed or are unknown"
    )
    status.add_argument(
        "--limit",
        type=_positive_int,
        default=STATUS_LIMIT,
        help=f"how many posts needing attention to list, newest first (default {STATUS_LIMIT})",
    )
    status.add_argument("--all", action="store_true", help="list every post needing attention")
    retry = commands.add_parser("retry", help="re-publish an artwork's failed posts")
    retry.add_argument("id", type=int, help="artwork id (see status or history)")
    retry.add_argument(
        "--platform",
        choices=RegisteredNames(),
        help="only this platform (default: every enabled one)",
    )
    retry.add_argument(
        "--force",
        action="store_true",
        help="send even if the post is already posted or its outcome is unknown",
    )
    commands.add_parser(
        "taste", help="which moods the audience liked, and how the mood draw leans for it"
    )
    stats = commands.add_parser(
        "stats", help="how the posts were received: best artworks, totals per platform and mood"
    )
    stats.add_argument(
        "--read", action="store_true", help="read the figures from the platforms first"
    )
    serve = commands.add_parser(
        "serve", help="the long-running service: post on POST_SCHEDULE in TZ"
    )
    serve.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS,
        help="make previews on the schedule instead of posting",
    )
    commands.add_parser(
        "health", help="exit 0 if the service is alive and its last run did not fail (HEALTHCHECK)"
    )
    web = commands.add_parser(
        "web", help="serve the gallery on WEB_HOST:WEB_PORT (the archive is only read)"
    )
    web_commands = web.add_subparsers(dest="web_command", metavar="ACTION")
    web_export = web_commands.add_parser(
        "export", help="write the gallery as a static site (pages, feed, images) to DIR"
    )
    web_export.add_argument("dir", type=Path, help="folder to write (created if missing)")
    inspect = commands.add_parser(
        "inspect",
        help="write a page on how an artwork was chosen (candidates, scores, nearest past work)",
    )
    inspect.add_argument("id", type=int, help="the artwork's id (see `history`)")
    models = commands.add_parser("models", help="list or fetch the neural models")
    models_commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    models_commands.add_parser("list", help="which engine each stage will use, and why")
    models_commands.add_parser("pull", help="download the configured models (needs network)")
    add_style_parser(commands)
    return parser


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**31 - 1}, got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.post_now and not args.command:
        if args.dry_run or args.seed is not None or args.mood:
            parser.error("--dry-run, --seed and --mood go with --post-now")
        parser.print_help()
        return EXIT_USAGE
    settings: Settings | None = None
    try:
        from bot.settings import load_settings

        settings = load_settings()
        code = _dispatch(args, settings)
        # Flush inside the edge: a reader gone away is then seen here, not at interpreter exit.
        sys.stdout.flush()
        return code
    except BrokenPipeError as exc:
        if not _stdout_reader_gone():
            _report_error(exc, settings, config=False, unexpected=True)
            return EXIT_FAILED
        return _stop_writing_stdout()
    except ConfigError as exc:
        _report_error(exc, settings, config=True)
        return EXIT_USAGE
    except KaviError as exc:
        _report_error(exc, settings, config=False)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the edge: every failure becomes a message
        _report_error(exc, settings, config=False, unexpected=True)
        return EXIT_FAILED


def _stdout_reader_gone() -> bool:
    """True when stdout is a pipe or socket whose reader has closed it (`| head`)."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, OSError, ValueError):
        # No poll (Windows) or no real stdout: a broken pipe at this edge is stdout's.
        return True
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)


def _stop_writing_stdout() -> int:
    """Stop quietly, as Unix tools do when their reader goes away."""
    # What is still buffered can never be delivered; point stdout at devnull so the
    # interpreter's own flush at exit does not fail with a second BrokenPipeError.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass  # no real stdout to redirect: nothing is left to flush at exit
    return EXIT_BROKEN_PIPE


def _report_error(
    exc: BaseException, settings: Settings | None, *, config: bool, unexpected: bool = False
) -> None:
    from bot.logs import RedactSecrets
    from bot.settings import env_flag

    redact = RedactSecrets(settings.secret_values() if settings else []).redact
    if env_flag("KAVI_DEBUG"):
        import traceback

        # The traceback is for debugging, but it still never shows a secret.
        print(redact("".join(traceback.format_exception(exc))), file=sys.stderr, end="")
    message = redact(str(exc) or type(exc).__name__)
    label = "configuration error" if config else "error"
    if unexpected:
        if not env_flag("KAVI_DEBUG"):
            message += " (set KAVI_DEBUG=1 for a traceback)"
        message = f"{type(exc).__name__}: {message}"
    print(f"kavi: {label}: {message}", file=sys.stderr)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot.lock import POST_NOW_WAIT_SECONDS, hold_chain
    from bot.logs import configure_logging
    from generators.mood.moods import get_mood

    configure_logging(settings.log_level, settings.secret_values())
    if args.mood:
        get_mood(args.mood)
    if args.command == "models":
        return _models(args, settings)
    if args.command == "style":
        from bot.style_cli import run_style

        return run_style(args, settings)
    if args.command == "serve":
        from bot.chain import check_runtime, resolve_engines
        from bot.scheduler import serve

        # Before the scheduler: a missing GPU is said at once, a refused setting stops the start.
        check_runtime(settings, resolve_engines(settings))
        return serve(settings, dry_run=args.dry_run)
    if args.command == "web":
        # Never through Kavi: that would open the archive for writing and migrate it.
        from bot.web import server

        if args.web_command == "export":
            return server.export(settings, args.dir)
        return server.serve(settings)
    if args.command == "health":
        from bot.health import main_health

        return main_health(settings)
    if args.post_now and not args.dry_run and not settings.publishers:
        raise ConfigError(
            f"no publisher is enabled: {enable_hint()}, or add --dry-run to preview without posting"
        )
    from bot.service import Kavi

    kavi = Kavi(settings)
    try:
        if args.post_now:
            with hold_chain(
                settings.data_dir, timeout=POST_NOW_WAIT_SECONDS, on_wait=_waiting_for_service
            ):
                report = kavi.post_now(dry_run=args.dry_run, seed=args.seed, mood=args.mood)
            _print_report(kavi, report, dry_run=args.dry_run)
            return EXIT_OK if report.ok else EXIT_FAILED
        if args.command == "history":
            return _history(kavi, args.limit)
        if args.command == "show":
            return _show(kavi, args.id)
        if args.command == "inspect":
            from bot.web.export import write_inspection

            print(write_inspection(kavi.db, settings.data_dir, args.id))
            return EXIT_OK
        if args.command == "status":
            return _status(kavi, limit=None if args.all else args.limit)
        if args.command == "stats":
            return _stats(kavi, read=args.read)
        if args.command == "taste":
            return _taste(kavi)
        if args.command == "retry":
            with hold_chain(
                settings.data_dir, timeout=POST_NOW_WAIT_SECONDS, on_wait=_waiting_for_service
            ):
                return _retry(kavi, args.id, args.platform, force=args.force)
    finally:
        kavi.close()
    raise UsageError(f"unknown command {args.command!r}")


def _waiting_for_service(pid: int | None) -> None:
    who = f" (pid {pid})" if pid else ""
    print(
        f"kavi: another Kavi process{who} is making a post; waiting for it to finish...",
        file=sys.stderr,
        flush=True,
    )


def _print_report(kavi: Kavi, report: RunReport, *, dry_run: bool) -> None:
    artwork = report.result.artwork
    data_dir = kavi.settings.data_dir
    print(f"Artwork {artwork.id} (seed {artwork.seed}, mood {artwork.mood})")
    for line in artwork.poem_lines:
        print(f"    {line}")
    print(
        f"  engines: poem {artwork.poem_engine} \u00b7 image {artwork.image_engine} "
        f"\u00b7 style {artwork.style_engine}"
    )
    if artwork.image_path:
        print(f"  image:   {data_dir / artwork.image_path}")
    if report.preview:
        print(f"  preview: {report.preview.page}")
        for platform, path in report.preview.files.items():
            print(f"    {platform}: {path}")
    for platform, outcome in report.outcomes.items():
        print(f"  {platform}: {outcome}")
    for platform, error in report.failed.items():
        print(f"  {platform}: FAILED \u2014 {error}")
    for platform, error in report.unknown.items():
        print(f"  {platform}: UNKNOWN \u2014 {error}")
    for earlier in report.reconciled:
        artwork_id = earlier.post.artwork_id if earlier.post else "?"
        print(f"  earlier artwork {artwork_id} on {earlier.platform}: {earlier.message}")
    if dry_run:
        print("Nothing was posted (dry run).")


def _history(kavi: Kavi, limit: int) -> int:
    from storage.repository import count_artworks, list_artworks

    artworks = list_artworks(kavi.db, limit=limit)
    if not artworks:
        print("No artworks yet: run `python -m bot --post-now --dry-run` to make one.")
        return EXIT_OK
    for artwork in artworks:
        when = artwork.created_at.strftime("%Y-%m-%d %H:%M") if artwork.created_at else "?"
        first_line = artwork.poem_lines[0] if artwork.poem_lines else ""
        print(f"{artwork.id:>5}  {when}  {artwork.mood:<16} seed {artwork.seed:<10}  {first_line}")
    # Only a full page can have more beyond it; a short one needs no count.
    more = count_artworks(kavi.db) - len(artworks) if len(artworks) == limit else 0
    if more > 0:
        print(f"\u2026 {more} more: use --limit {limit + more} to list them all")
    return EXIT_OK


def _taste(kavi: Kavi) -> int:
    from bot.taste import learn
    from storage.metrics import scores_by_mood

    settings = kavi.settings
    tastes = learn(scores_by_mood(kavi.db))
    measured = sum(t.measured for t in tastes.values())
    state = "on" if settings.taste and settings.mood_from_poem else "off (TASTE=false)"
    print(
        f"Taste: {state}; {measured} artworks have figures, it leans the draw from "
        f"{settings.taste_min_artworks}, and leaves it out on {settings.taste_explore:.0%} of days."
    )
    if not tastes:
        print("Nothing learnt yet: figures come from each real post in its first 30 days.")
        return EXIT_OK
    print("mood               measured  liked  chance liked")
    for taste in sorted(tastes.values(), key=lambda t: -t.mean):
        print(f"  {taste.mood:<18} {taste.measured:>6} {taste.liked:>6}  {taste.mean:>10.0%}")
    return EXIT_OK


def _stats(kavi: Kavi, *, read: bool) -> int:
    from bot.publishers.registry import publisher_label
    from storage.metrics import Figures, metrics_summary

    if read:
        done = kavi.read_metrics()
        print(f"Read {done.read} post(s) ({done.skipped} skipped, {done.failed} failed).")
    summary = metrics_summary(kavi.db)
    if not summary.posts_measured:
        print(
            "No figures yet: the service reads them daily; `python -m bot stats --read` "
            "reads them now."
        )
        return EXIT_OK

    def line(figures: Figures) -> str:
        views = f", {figures.views} views" if figures.views is not None else ""
        return f"{figures.likes} likes, {figures.reposts} reposts, {figures.replies} replies{views}"

    print("Best received:")
    for item in summary.best:
        print(f"  {item.artwork_id:>5}  {item.mood:<16} {line(item.figures)}  {item.first_line}")
    print("Per platform:")
    for platform, figures in summary.per_platform.items():
        print(f"  {publisher_label(platform):<22} {line(figures)}")
    print("Per mood:")
    for mood, figures in summary.per_mood.items():
        print(f"  {mood:<22} {line(figures)}")
    return EXIT_OK


def _show(kavi: Kavi, artwork_id: int) -> int:
    from storage.repository import get_artwork, posts_for_artwork

    artwork = get_artwork(kavi.db, artwork_id)
    print(
        f"Artwork {artwork.id} \u2014 {artwork.created_at:%Y-%m-%d %H:%M %Z}"
        if artwork.created_at
        else f"Artwork {artwork.id}"
    )
    print()
    for line in artwork.poem_lines:
        print(f"    {line}")
    print()
    rows = [
        ("seed", str(artwork.seed)),
        ("mood", artwork.mood),
        ("poem", f"{artwork.poem_engine} {artwork.poem_model or ''}".strip()),
        *(
            [("poem fallback", artwork.engine_notes.get("poem_fallback", "yes"))]
            if artwork.poem_fallback
            else []
        ),
        ("image", f"{artwork.image_engine} {artwork.image_model or ''}".strip()),
        *(
            [("image render", artwork.engine_notes["image_render"])]
            if "image_render" in artwork.engine_notes
            else []
        ),
        ("runtime", f"{artwork.device} {artwork.precision}" if artwork.device else "offline"),
        ("style", f"{artwork.style_engine} {artwork.style_model or ''}".strip()),
        ("style reference", artwork.style_reference or "(mood palette)"),
        ("file", str(kavi.settings.data_dir / artwork.image_path) if artwork.image_path else "-"),
        ("size", f"{artwork.width}x{artwork.height}"),
        ("prompt", artwork.prompt),
        ("alt text", artwork.alt_text),
        *_scene_rows(artwork.scene),
        *_curation_rows(artwork.curation),
    ]
    for name, value in rows:
        print(f"  {name + ':':<17}{value}")
    print("\n  caption:")
    for line in artwork.caption.splitlines():
        print(f"    {line}")
    posts = posts_for_artwork(kavi.db, artwork_id)
    print("\n  posts:" if posts else "\n  posts: none")
    for post in posts:
        where = post.remote_url or post.remote_id or ""
        error = f" \u2014 {post.last_error}" if post.last_error else ""
        print(f"    {post.platform:<10} {post.state.value:<8} {where}{error}")
    return EXIT_OK


def _scene_rows(scene: dict[str, Any]) -> list[tuple[str, str]]:
    """`show`'s lines for the painter's record: what it drew (and where), what it could not."""
    if not scene:
        return []
    drawn = ", ".join(
        f"{item['subject']} at {','.join(str(v) for v in item['box'])}"
        for item in scene.get("drawn", [])
    )
    return [
        ("framing", scene.get("framing") or "-"),
        ("drawn", drawn or "nothing"),
        ("not drawn", ", ".join(scene.get("not_drawn", [])) or "-"),
    ]


def _curation_rows(curation: dict[str, Any]) -> list[tuple[str, str]]:
    """`show`'s lines for how the mood was chosen: the poem's emotions and the top weights."""
    if not curation:
        return []
    rows = [("mood from", str(curation.get("mood_from", "-")))]
    emotions = curation.get("emotions")
    if emotions is not None:
        rows.append(("emotions", ", ".join(f"{k} {v}" for k, v in emotions.items()) or "none"))
    novelty = curation.get("novelty")
    if novelty:
        rows.append(
            (
                "nearest past",
                f"poem {novelty.get('nearest_poem') or '-'} "
                f"({novelty.get('poem_shared', 0):.0%} shared), "
                f"image {novelty.get('nearest_image') or '-'} "
                f"({novelty.get('image_bits', '-')} bits apart); "
                f"redraws {novelty.get('redraws', 0)}",
            )
        )
    candidates = curation.get("candidates") or []
    if candidates:
        rows.append(
            (
                "candidates",
                ", ".join(
                    f"seed {c['seed']} {c['scores'].get('total', 0):.2f}"
                    + (" (repeats)" if c.get("repeats") else "")
                    for c in candidates
                ),
            )
        )
    weights = curation.get("mood_weights") or {}
    top = sorted(weights.items(), key=lambda item: -item[1])[:3]
    if top:
        rows.append(("leaning to", ", ".join(f"{k} {v:.0%}" for k, v in top)))
    return rows


def _status(kavi: Kavi, *, limit: int | None) -> int:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.chain import runtime_problem
    from bot.status import status_picture
    from storage.models import PostState
    from storage.repository import poem_sources

    settings = kavi.settings
    zone = ZoneInfo(settings.tz)
    # Before anything is read, so what a dead process left is shown settled, not stuck.
    busy, settled = _settle_if_idle(kavi)
    picture = status_picture(settings, kavi.db, limit=limit)
    upcoming = picture.next_run
    when = f"{upcoming:%Y-%m-%d %H:%M %Z}" if upcoming else "never (the schedule has no next time)"
    print(f"Next run:  {when}  (POST_SCHEDULE {settings.post_schedule!r}, TZ {settings.tz})")
    run = picture.last_run
    if run is None:
        print("Last run:  none yet")
    else:
        kind = f"{run.trigger}{', dry run' if run.dry_run else ''}"
        artwork = f", artwork {run.artwork_id}" if run.artwork_id else ""
        error = f" \u2014 {run.error}" if run.error else ""
        print(
            f"Last run:  #{run.id} ({kind}) {run.started_at.astimezone(zone):%Y-%m-%d %H:%M %Z}: "
            f"{run.status.value}{artwork}{error}"
        )
    print(f"Publishers: {picture.publishers}")
    gpu = runtime_problem(settings)
    if gpu:
        print(f"GPU:       MISSING \u2014 {gpu}")
    poems = poem_sources(kavi.db, since=datetime.now(zone) - timedelta(days=7))
    if poems.fallback:
        print(
            f"Poems:     {poems.fallback} of {poems.total} in the last 7 days came from the "
            "grammar fallback (the language model wrote no valid 5-7-5); see `show ID`"
        )
    elif poems.llm:
        print(f"Poems:     all {poems.llm} from the language model in the last 7 days")
    if busy:
        print(f"Busy:      {busy}")
    for line in settled:
        print(f"Settled:   {line}")
    for line in _style_lines(settings, kavi.db):
        print(f"Style:     {line}")
    by_platform = picture.counts_by_platform()
    if by_platform:
        print("Posts:")
        for platform, counts in by_platform.items():
            by_state = [f"{n:,} {state.value}" for state, n in counts]
            print(f"  {platform:<10} {', '.join(by_state)}")
    total = picture.attention_total
    if not total:
        print("Posts:     none failed, unknown or waiting")
        return EXIT_OK
    posts = picture.attention
    shown = f"; the newest {len(posts)} shown" if len(posts) < total else ""
    print(f"Posts that need attention ({total:,}{shown}):")
    for post in posts:
        when = f"{post.updated_at.astimezone(zone):%Y-%m-%d %H:%M}" if post.updated_at else "?"
        print(
            f"  artwork {post.artwork_id:<5} {post.platform:<10} {post.state.value:<8} "
            f"{post.attempts} attempt(s), {when}"
        )
        if post.last_error:
            print(f"      {post.last_error}")
        if post.state in (PostState.FAILED, PostState.PENDING):
            print(f"      then: python -m bot retry {post.artwork_id} --platform {post.platform}")
        elif post.state == PostState.POSTING:
            print("      being sent by the process that holds the chain lock")
    if len(posts) < total:
        print(
            f"  ... {total - len(posts):,} more: `python -m bot status --all` lists every one "
            "(or --limit N)"
        )
    return EXIT_OK


def _style_lines(settings: Settings, db: Database | None = None) -> list[str]:
    """The styles Kavi was taught, one line each, from the archive (synced from the files)."""
    from zoneinfo import ZoneInfo

    from bot.style_records import style_lines
    from storage.db import Database

    archive = db or Database.open(settings.resolved_database_url)
    try:
        return style_lines(archive, settings.data_dir, ZoneInfo(settings.tz))
    finally:
        if db is None:
            archive.close()


def _settle_if_idle(kavi: Kavi) -> tuple[str | None, list[str]]:
    """Settle what a dead process left, if no other process holds the chain (never waits).

    Returns why it could not (another process is posting), and one line per settled post.
    """
    from bot.lock import chain_lock

    lock = chain_lock(kavi.settings.data_dir)
    if not lock.try_acquire():
        holder = lock.holder()
        who = f"process {holder}" if holder else "another Kavi process"
        return (
            f"{who} is making a post now; its runs and posts are shown as they stand",
            [],
        )
    try:
        try:
            recovery = kavi.recover()
            note = ""
        except ConfigError as exc:
            # Status still reports without credentials; a later run looks these posts up.
            recovery = kavi.recover(look_up=False)
            note = f" (not looked up: {exc})"
    finally:
        lock.release()
    lines = []
    if recovery.abandoned_runs:
        lines.append(
            f"{recovery.abandoned_runs} run(s) left running by a process that died: abandoned"
        )
    looked_up = {o.post.id: o for o in recovery.reconciled if o.post is not None}
    for post in recovery.interrupted:
        outcome = looked_up.get(post.id)
        result = outcome.message if outcome else f"outcome unknown{note}"
        lines.append(
            f"artwork {post.artwork_id} on {post.platform} was left mid-send by a process that "
            f"died: {result}"
        )
    return None, lines


def _retry(kavi: Kavi, artwork_id: int, platform: str | None, *, force: bool) -> int:
    report = kavi.retry(artwork_id, platform, force=force)
    for earlier in report.recovery.reconciled:
        other = earlier.post.artwork_id if earlier.post else None
        if other != artwork_id:
            print(f"earlier artwork {other} on {earlier.platform}: {earlier.message}")
    if report.nothing_to_retry:
        where = ", ".join(
            f"{name} ({o.post.remote_url or o.post.remote_id if o.post else '?'})"
            for name, o in report.outcomes.items()
        )
        print(f"artwork {artwork_id}: nothing to retry: already posted to {where}")
        return EXIT_OK
    for name, outcome in report.outcomes.items():
        if outcome.ok:
            print(f"{name}: {outcome.message}")
        else:
            state = outcome.state.value if outcome.state else "error"
            print(f"{name}: {state.upper()} \u2014 {outcome.message}")
    return EXIT_OK if report.ok else EXIT_FAILED


def _models(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chain import configured_model, resolve_engines
    from generators.image.diffusion import TINY_VAE_FOR_FAMILY, pipeline_family
    from generators.models import TINY_VAE_OFF, pull_models

    if args.models_command == "list":
        for choice in resolve_engines(settings).values():
            model = f" ({choice.model})" if choice.model else ""
            print(f"{choice.stage:<6} {choice.name}{model}: {choice.reason}")
        from bot.style_cli import descriptor_line

        for line in _style_lines(settings):
            print(f"style  {line}")
        print(f"novelty descriptor: {descriptor_line(settings.style_descriptor)}")
        return EXIT_OK
    # `auto`: the models picked for this host (its GPU and memory).
    image_model = configured_model("image", settings)[0]
    wanted = [configured_model("poem", settings)[0], image_model]
    tiny_vae = settings.tiny_vae.strip()
    if tiny_vae.lower() not in TINY_VAE_OFF | {"auto"}:
        wanted.append(tiny_vae)
    folders = pull_models(wanted)
    if tiny_vae.lower() == "auto":
        # The tiny decoder makes the image stage usable on CPU; it must decode the image
        # model's latents, whose family its model_index.json (now on disk) names.
        image_folder = folders[wanted.index(image_model)]
        family_vae = TINY_VAE_FOR_FAMILY.get(pipeline_family(image_folder) or "")
        if family_vae:
            folders += pull_models([family_vae])
    for path in folders:
        print(f"ready: {path}")
    return EXIT_OK
