"""The store: migrations agree with the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from bot.store.engine import make_engine, session_scope, upgrade
from bot.store.tables import RepositoryRow, RunRow


def test_migrations_match_models(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    assert "repositories" in inspect(engine).get_table_names()
    engine.dispose()


def test_upgrade_is_idempotent_and_round_trips(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    with session_scope(engine) as session:
        session.add(RepositoryRow(full_name="acme/api", weight=2.0))
        session.add(RunRow(kind="test", stages={"ingest": {"documents": 3}}))
    with Session(engine) as session:
        repo = session.exec(select(RepositoryRow)).one()
        run = session.exec(select(RunRow)).one()
    assert (repo.full_name, repo.weight) == ("acme/api", 2.0)
    assert run.stages == {"ingest": {"documents": 3}}
    engine.dispose()


def test_session_scope_rolls_back_on_error(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        with session_scope(engine) as session:
            session.add(RepositoryRow(full_name="acme/lost"))
            session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with Session(engine) as session:
        assert session.exec(select(RepositoryRow)).all() == []
    engine.dispose()
