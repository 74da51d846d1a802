"""Shared fixtures: stores on SQLite files and, when a server answers, PostgreSQL.

``UPKEEP_TEST_DATABASE_URL`` (set by ``.ci/run`` when PostgreSQL is reachable) turns on the
PostgreSQL half of every test that uses the ``db_url`` fixture; each such test gets a fresh
database created on that server and dropped afterwards.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401
from bot.store.engine import make_engine

TESTS = Path(__file__).parent
DATA = TESTS / "data"
PG_ENV = "UPKEEP_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def _fresh_token_buckets() -> None:
    """Each test starts with fresh per-credential buckets: the session's sandbox reuses its tokens, and
    a budget one test spent on purpose must not hold the next test's requests."""
    from bot.http import forget_buckets

    forget_buckets()


@pytest.fixture(autouse=True)
def _bot_logger_as_it_was() -> Iterator[None]:
    """Undo what a CLI run in a test does to the ``bot`` logger (its own handler, no propagation), so
    ``caplog`` in a later test sees upkeep's records whatever ran before it."""
    logger = logging.getLogger("bot")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    yield
    logger.level, logger.propagate, logger.handlers = saved[0], saved[1], saved[2]


def _postgres_database() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server for this run")
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"upkeep_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, then PostgreSQL when configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upkeep.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite-file engine with every table created (fast; migrations are tested on their own)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()
