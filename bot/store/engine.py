"""Engines and sessions for SQLite files and PostgreSQL, and schema upgrades through Alembic."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from bot.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


#: URL schemes that mean PostgreSQL through psycopg 3 (Heroku and libpq write ``postgres://``).
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def normalise_url(url: str) -> str:
    """``url`` as SQLAlchemy should get it; :class:`ConfigError` naming the URL and what to write instead.

    A SQLite file's folder must exist: SQLite would only say "unable to open database file"."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from bot.errors import redact_url

    shown = redact_url(url)
    for scheme in POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    if not url.startswith("sqlite"):
        raise ConfigError(
            f"database.url {shown!r}: not a supported database; "
            "use sqlite:///PATH/upkeep.db or postgresql://USER:PASSWORD@HOST:5432/DB"
        )
    try:
        database = make_url(url).database
    except ArgumentError as exc:
        raise ConfigError(f"database.url {shown!r}: {exc}; write sqlite:///PATH/upkeep.db") from exc
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().resolve().parent
        if not folder.is_dir():
            raise ConfigError(
                f"database.url {shown!r}: the folder {folder} does not exist; create it "
                f"(mkdir -p {folder}) or point database.url / --database-url at an existing folder"
            )
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so workers can share a file."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url and url != "sqlite://":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


_REVISION = re.compile(r"""^revision\b[^=\n]*=\s*['"]([^'"]+)['"]""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.MULTILINE)


def script_heads() -> frozenset[str] | None:
    """The newest revisions of ``migrations/versions``, read from the files' ``revision`` and
    ``down_revision`` lines without importing Alembic (a third of a short command's start-up);
    None when a file does not state them plainly, so that Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        if path.name.startswith("__"):
            continue
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"""['"]([^'"]+)['"]""", down.group(1)))
    heads = revisions - parents
    return frozenset(heads) if heads else None


def stored_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database is stamped with; empty for a database Alembic never ran on."""
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError:  # no such table: a new database
        return frozenset()
    return frozenset(row[0] for row in rows)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``alembic upgrade head``).

    Every command calls this; when the database already stands at the migrations' head, one
    ``SELECT`` says so and Alembic is never imported."""
    if revision == "head":
        heads = script_heads()
        if heads is not None and stored_revisions(engine) == heads:
            return
    from alembic import command

    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
