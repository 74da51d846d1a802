"""Outbox rules and the stage's retry, backoff, dead-letter and dry-run behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.config import Settings
from bot.deliver.interface import Channel, Delivery, DeliveryError
from bot.deliver.outbox import RetryPolicy, change_key, content_hash, digest_key
from bot.deliver.stage import deliver
from bot.sandbox.generate import generate_world
from bot.store.engine import make_engine
from bot.store.tables import OutboxRow
from tests.deliver_world import WorldInputs, world_inputs

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass
class FlakySink:
    """A sink that refuses its first ``failures`` calls, then accepts; records every call."""

    channel: Channel
    failures: int = 0
    permanent: bool = False
    calls: list[tuple[str, bool]] = field(default_factory=list)

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        self.calls.append((item.key, maybe_sent))
        if len(self.calls) <= self.failures:
            raise DeliveryError(f"{item.key}: refused", permanent=self.permanent)
        return f"remote-{len(self.calls)}"


@pytest.fixture(scope="module")
def inputs() -> WorldInputs:
    return world_inputs(generate_world(7, "small"))


def settings(**slack: object) -> Settings:
    return Settings(
        slack={"channel": "C0DIGEST", "max_attempts": 3, "retry_backoff_seconds": 60, **slack},
        issues={"repository": "acme/ospo"},
    )


def rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def test_keys_are_deterministic_and_chained() -> None:
    payload = {"b": 1, "a": [1, 2]}
    assert content_hash(payload) == content_hash({"a": [1, 2], "b": 1})
    assert digest_key("C1", "2026-W48") == "slack:C1:digest:2026-W48"
    first = change_key("github", "acme/ospo", "gap:x", "h", None)
    assert first == change_key("github", "acme/ospo", "gap:x", "h", None)
    assert change_key("github", "acme/ospo", "gap:x", "h", first) != first  # a reopen after a close is new


def test_backoff_doubles_up_to_the_cap_and_ends_dead() -> None:
    policy = RetryPolicy(max_attempts=4, base_seconds=60, max_seconds=150)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 150]
    assert policy.after_failure(1, NOW, permanent=False) == ("failed", NOW + timedelta(seconds=60))
    assert policy.after_failure(4, NOW, permanent=False) == ("dead", None)
    assert policy.after_failure(1, NOW, permanent=True) == ("dead", None)


@pytest.fixture
def any_engine(db_url: str) -> Iterator[Engine]:
    """A store on SQLite, then on PostgreSQL when one is configured (timestamps compare differently)."""
    eng = make_engine(db_url)
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


def test_failed_digest_waits_for_backoff_then_is_reported_dead(any_engine: Engine, inputs: WorldInputs) -> None:
    engine = any_engine
    sink = FlakySink("slack", failures=10)
    lines: list[str] = []
    config = settings()
    run = lambda at: deliver(engine, config, inputs.digest, None, sinks={"slack": sink}, now=at, echo=lines.append)  # noqa: E731

    first = run(NOW)
    assert (first.enqueued, first.failed, first.waiting) == (1, 1, 1)
    assert run(NOW + timedelta(seconds=59)).failed == 0  # still backing off: not tried
    assert len(sink.calls) == 1
    assert run(NOW + timedelta(seconds=60)).failed == 1  # second attempt after 60 s
    assert run(NOW + timedelta(seconds=60 + 119)).failed == 0  # then 120 s
    third = run(NOW + timedelta(seconds=180))
    assert (third.failed, third.dead, third.enqueued) == (1, 1, 0)
    assert [maybe for _, maybe in sink.calls] == [False, True, True]  # later attempts look for an earlier post
    (row,) = rows(engine)
    assert (row.state, row.attempts, row.remote_id) == ("dead", 3, None)
    assert any(line.startswith("dead after 3 attempts: slack:C0DIGEST:digest:2026-W47") for line in lines)
    assert run(NOW + timedelta(days=30)).dead == 1  # still reported, never retried or dropped
    assert len(sink.calls) == 3


def test_failure_then_success_records_the_remote_id(engine: Engine, inputs: WorldInputs) -> None:
    sink = FlakySink("slack", failures=1)
    config = settings()
    deliver(engine, config, inputs.digest, None, sinks={"slack": sink}, now=NOW, echo=lambda _: None)
    later = deliver(
        engine, config, inputs.digest, None, sinks={"slack": sink}, now=NOW + timedelta(hours=1), echo=lambda _: None
    )
    assert (later.enqueued, later.delivered) == (0, 1)
    (row,) = rows(engine)
    assert (row.state, row.remote_id, row.attempts, row.last_error) == ("delivered", "remote-2", 2, None)


def test_permanent_error_is_dead_at_once(engine: Engine, inputs: WorldInputs) -> None:
    sink = FlakySink("slack", failures=1, permanent=True)
    summary = deliver(engine, settings(), inputs.digest, None, sinks={"slack": sink}, now=NOW, echo=lambda _: None)
    assert summary.dead == 1 and rows(engine)[0].state == "dead"


def test_quiet_week_is_not_sent_unless_always_send(engine: Engine, inputs: WorldInputs) -> None:
    same = world_inputs(generate_world(7, "small"), previous=[g.upstream for g in inputs.digest.top_gaps]).digest
    quiet = replace(same, contributions_since_last=0, licence_drift=())
    assert not quiet.is_material()
    sink = FlakySink("slack")
    assert deliver(engine, settings(), quiet, None, sinks={"slack": sink}, now=NOW, echo=lambda _: None).enqueued == 0
    assert (
        deliver(
            engine, settings(always_send=True), quiet, None, sinks={"slack": sink}, now=NOW, echo=lambda _: None
        ).delivered
        == 1
    )


def test_dry_run_prints_everything_and_touches_nothing(engine: Engine, inputs: WorldInputs) -> None:
    sink = FlakySink("slack")
    issues = FlakySink("github")
    lines: list[str] = []
    summary = deliver(
        engine,
        settings(),
        inputs.digest,
        inputs.gap_issues,
        sinks={"slack": sink, "github": issues},
        now=NOW,
        dry_run=True,
        echo=lines.append,
    )
    assert rows(engine) == [] and sink.calls == [] and issues.calls == []
    output = "\n".join(lines)
    assert summary.enqueued > 2
    assert output.count("would post to Slack C0DIGEST") == 1
    assert output.count("would open or update the issue marked <!-- upkeep:gap:") == summary.enqueued - 2
    assert "<!-- upkeep:dashboard -->" in output
    assert inputs.digest.top_gaps[0].upstream in output


def test_rows_for_a_channel_without_credentials_wait(engine: Engine, inputs: WorldInputs) -> None:
    summary = deliver(engine, settings(), inputs.digest, None, sinks={}, now=NOW, echo=lambda _: None)
    assert (summary.enqueued, summary.skipped, summary.delivered) == (1, 1, 0)
    assert rows(engine)[0].state == "pending" and rows(engine)[0].attempts == 0
