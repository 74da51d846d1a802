"""Migration 0010 (weights and teams): the old column default 1.0 becomes "no weight", so
``usage.default_repo_weight`` takes effect; a weight set by hand survives; and it downgrades (SQLite, PostgreSQL)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from bot.store.engine import alembic_config, make_engine


def test_weights_of_the_old_default_become_none_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.upgrade(config, "0009")
    with engine.begin() as conn:
        for name, weight in (("acme/default", 1.0), ("acme/by-hand", 2.5)):
            conn.execute(
                text(
                    "INSERT INTO repositories (full_name, host, weight, source, private, fork, archived, created_at)"
                    " VALUES (:n, 'github.com', :w, 'github', false, false, false, CURRENT_TIMESTAMP)"
                ),
                {"n": name, "w": weight},
            )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT full_name, weight FROM repositories")).all())
        assert conn.execute(text("SELECT usage_by_team FROM gap_scores")).all() == []
    assert rows == {"acme/default": None, "acme/by-hand": 2.5}
    command.downgrade(config, "0009")
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT full_name, weight FROM repositories")).all()) == {
            "acme/default": 1.0,
            "acme/by-hand": 2.5,
        }
    engine.dispose()
