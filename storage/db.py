"""Engine and session setup, SQLite pragmas, and Alembic migrations applied at start."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def check_database_url(value: str) -> None:
    """Raise ValueError unless SQLAlchemy can open `value`, checked without connecting.

    The URL parses, its dialect and driver import, and a SQLite file's folder exists.
    Messages never echo the URL itself, which may hold a password.
    """
    example = "e.g. sqlite:////data/kavi.db, or leave it empty for kavi.db in DATA_DIR"
    try:
        url = make_url(value)
    except (ArgumentError, ValueError, TypeError):
        # Not the parser's own words: they can quote part of the URL (a bad port is what
        # follows an unescaped '@' in a password).
        raise ValueError(
            "not a valid SQLAlchemy database URL (a password holding @ : / or % must be "
            f"percent-encoded); {example}"
        ) from None
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise ValueError(
            f"SQLAlchemy has no database dialect {url.drivername!r}; {example}"
        ) from None
    except ImportError as exc:
        raise ValueError(
            f"the driver for {url.drivername!r} is not installed "
            f"({exc.name or exc}); pip install it, or use SQLite ({example})"
        ) from None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).expanduser().parent
        if not folder.is_dir():
            raise ValueError(f"the SQLite file's folder {str(folder)!r} does not exist")


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    is_sqlite = url.startswith("sqlite")
    connect_args: dict[str, Any] = {"timeout": 30} if is_sqlite else {}
    engine = create_engine(url, connect_args=connect_args)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite through a `mode=ro` URI, PostgreSQL read-only."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "").expanduser().resolve()
        # The driver's URI form: `mode=ro` refuses every write and never creates the file.
        ro_url = parsed.set(database=f"file:{path.as_posix()}", query={"mode": "ro", "uri": "true"})
        engine = create_engine(ro_url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_read_only_pragmas)
        return engine
    engine = create_engine(url)
    if backend == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine


def _sqlite_read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # No journal_mode here: switching it writes. The service already made the file WAL.
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `status` and `history` read while the service writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def script_head(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The newest revision among the migration scripts, read without importing Alembic.

    None when it cannot be told for sure (a script it cannot read, several heads): the
    caller then lets Alembic decide.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    # The files Alembic itself loads as revisions (it skips __init__ and editor locks).
    for script in versions.glob("*.py"):
        if script.name.startswith(("__init__", ".#")):
            continue
        try:
            values = _module_constants(script, ("revision", "down_revision"))
        except (OSError, SyntaxError, ValueError):
            return None
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
        elif down is not None:
            return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _module_constants(script: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """Literal values assigned at module level to `names` (`x = 1` or `x: T = 1`)."""
    found: dict[str, Any] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(value)
    return found


def at_head(engine: Engine) -> bool:
    """Whether the database already records the newest revision (one cheap query)."""
    head = script_head()
    if head is None or _sqlite_file_missing(engine):
        return False
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return False  # no version table yet: a new database
    return [row[0] for row in stored] == [head]


# What reading the archive may raise (no file yet, tables missing, a driver error): callers
# above storage/ name it through here, never through SQLAlchemy.
ArchiveReadError = SQLAlchemyError


def archive_ready(engine: Engine) -> bool:
    """Whether the archive exists and is at the newest revision (never creates or migrates)."""
    try:
        return at_head(engine)
    except SQLAlchemyError:
        return False


def _sqlite_file_missing(engine: Engine) -> bool:
    # Connecting would create an empty file, which other processes would see, tables and all
    # missing, for as long as Alembic takes to load: a new database goes straight to Alembic.
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    if engine.url.query.get("uri") == "true":
        database = database.removeprefix("file:")  # the read-only URI form
    return not Path(database).exists()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it already is)."""
    # Loading Alembic and its revision graph costs more than the rest of `history`, so a
    # database already at the newest revision is recognised without it.
    if at_head(engine):
        return
    from alembic import command

    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one clear message
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"could not migrate the database at {where}: {exc}") from exc


class Database:
    """An engine plus a session factory; `open()` migrates before first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Database:
        db = cls(url)
        migrate(db.engine)
        return db

    @classmethod
    def open_read_only(cls, url: str) -> Database:
        """Open for reading only and never migrate (the gallery beside a running service).

        SQLite is opened with `mode=ro` (a write fails, the file is never created) and
        `query_only`; PostgreSQL with read-only transactions. Other backends are opened as
        they are: the caller must only read.
        """
        db = cls.__new__(cls)
        db.url = url
        db.engine = make_read_only_engine(url)
        db.sessions = sessionmaker(db.engine, expire_on_commit=False)
        return db

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()
