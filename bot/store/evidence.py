"""Store functions of the evidence stage (people, contributions, money).

Contributions are kept as GitHub reported them (account × repository × kind × instant) and
counted per window here, so one fetch serves the trailing window and every quarter. A segment
(one account, one calendar quarter) is written in one transaction with its checkpoint: a crash
leaves either the old segment or the new one. Payments of a channel are replaced as a whole, so a
rerun of a source never duplicates one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Literal

from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.records import current_key
from bot.sources.money import Payment
from bot.sources.people import Identity
from bot.store.renames import load_renames
from bot.store.tables import (
    ContributionCheckpointRow,
    ContributionRow,
    IdentityRow,
    PackageResolutionRow,
    PaymentRow,
    PersonRow,
    utcnow,
)

Bounds = Literal["(start, end]", "[start, end)"]


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


# --------------------------------------------------------------------------- people


def save_identities(session: Session, identities: Sequence[Identity], *, now: datetime, members_listed: bool) -> None:
    """Replace config and roster identities; keep member history (members not listed now end at their last sighting)."""
    by_key: dict[tuple[str, str], Identity] = {}
    details: dict[tuple[str, str], list[str]] = defaultdict(list)
    for identity in identities:
        by_key.setdefault((identity.account, identity.source), identity)
        details[(identity.account, identity.source)].append(identity.detail)
    existing = {(r.account, r.source): r for r in session.exec(select(IdentityRow)).all()}
    for key, row in existing.items():
        if key in by_key:
            continue
        if row.source == "member":
            if members_listed and row.valid_until is None:
                row.valid_until = _midnight(aware(row.seen_at).date())
                session.add(row)
        else:
            session.delete(row)
    for key, identity in by_key.items():
        row = existing.get(key) or IdentityRow(account=identity.account, person_login=identity.person, source=key[1])
        row.person_login = identity.person
        row.detail = ", ".join(sorted(set(details[key])))
        row.email = identity.email
        row.valid_from = _midnight(identity.valid_from)
        row.valid_until = _midnight(identity.valid_until)
        row.seen_at = now
        session.add(row)
    names = {i.person: i.name for i in identities if i.name and i.account == i.person}
    people = {r.login: r for r in session.exec(select(PersonRow)).all()}
    for person in sorted({i.person for i in identities}):
        person_row = people.get(person) or PersonRow(login=person)
        person_row.name = names.get(person, person_row.name)
        person_row.updated_at = now
        session.add(person_row)


def load_identities(session: Session) -> list[Identity]:
    """Every stored identity, member history included, sorted by person and account."""
    rows = session.exec(select(IdentityRow).order_by(col(IdentityRow.person_login), col(IdentityRow.account))).all()
    return [
        Identity(
            account=r.account,
            person=r.person_login,
            source=r.source,
            detail=r.detail,
            email=r.email,
            valid_from=aware(r.valid_from).date() if r.valid_from else None,
            valid_until=aware(r.valid_until).date() if r.valid_until else None,
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- contributions


@dataclass(frozen=True, slots=True)
class Checkpoint:
    account: str
    segment_start: datetime
    segment_end: datetime
    fetched_until: datetime
    status: str


def load_checkpoints(session: Session) -> dict[tuple[str, datetime], Checkpoint]:
    """Checkpoints by (account, segment start)."""
    out: dict[tuple[str, datetime], Checkpoint] = {}
    for r in session.exec(select(ContributionCheckpointRow)).all():
        start = aware(r.segment_start)
        out[(r.account, start)] = Checkpoint(r.account, start, aware(r.segment_end), aware(r.fetched_until), r.status)
    return out


def save_segment(
    session: Session,
    *,
    account: str,
    segment_start: datetime,
    segment_end: datetime,
    fetched_until: datetime,
    counts: dict[tuple[str, str, datetime], int],
    status: str = "ok",
    restricted: int = 0,
    now: datetime | None = None,
) -> None:
    """Replace the account's contributions in ``[segment_start, segment_end)`` and move its checkpoint."""
    table = ContributionRow.__table__  # type: ignore[attr-defined]
    session.connection().execute(
        delete(table).where(
            table.c.account == account, table.c.occurred_at >= segment_start, table.c.occurred_at < segment_end
        )
    )
    for (repository, kind, occurred_at), count in sorted(counts.items()):
        session.add(
            ContributionRow(account=account, repository=repository, kind=kind, occurred_at=occurred_at, count=count)
        )
    row = session.exec(
        select(ContributionCheckpointRow).where(
            ContributionCheckpointRow.account == account, ContributionCheckpointRow.segment_start == segment_start
        )
    ).first()
    row = row or ContributionCheckpointRow(
        account=account, segment_start=segment_start, segment_end=segment_end, fetched_until=fetched_until
    )
    row.segment_end, row.fetched_until, row.status, row.restricted = segment_end, fetched_until, status, restricted
    row.fetched_at = now or utcnow()
    session.add(row)


def _in(moment: datetime, start: datetime, end: datetime, bounds: Bounds) -> bool:
    return start < moment <= end if bounds == "(start, end]" else start <= moment < end


def _counts_on(identities: Sequence[Identity], moment: datetime) -> str | None:
    day = moment.date()
    for identity in identities:
        if identity.valid_from and day < identity.valid_from:
            continue
        if identity.valid_until and day > identity.valid_until:
            continue
        return identity.person
    return None


#: Rows fetched from the database at a time where a stage reads every row of a large table.
ROWS_PER_FETCH = 5_000


def load_contribution_counts(
    session: Session, *, start: datetime, end: datetime, bounds: Bounds
) -> dict[str, dict[str, dict[str, int]]]:
    """person → repository → kind → count in the window, each account counted only on its valid days."""
    by_account: dict[str, list[Identity]] = defaultdict(list)
    for identity in load_identities(session):
        by_account[identity.account].append(identity)
    renames = load_renames(session)  # rows keep the name GitHub reported then; count them under today's
    # the five columns counted, a few thousand rows at a time: no row objects for every contribution
    table = ContributionRow.__table__.c  # type: ignore[attr-defined]
    rows = (
        session.connection()
        .execution_options(yield_per=ROWS_PER_FETCH)
        .execute(
            sa_select(table.account, table.repository, table.kind, table.count, table.occurred_at).where(
                table.occurred_at >= start, table.occurred_at <= end
            )
        )
    )
    tree: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for account, repository, kind, count, occurred_at in rows:
        moment = aware(occurred_at)
        if not _in(moment, start, end, bounds):
            continue
        person = _counts_on(by_account.get(account, []), moment)
        if person is not None:
            tree[person][current_key(repository, renames)][kind] += count
    return {p: {r: dict(k) for r, k in repos.items()} for p, repos in tree.items()}


def load_upstream_keys(session: Session) -> set[str]:
    """Upstreams the inventory resolves to (the ones contributions and money count towards)."""
    rows = session.exec(
        select(PackageResolutionRow.upstream_key).distinct().where(col(PackageResolutionRow.upstream_key).is_not(None))
    )
    return {str(r) for r in rows if r}


# --------------------------------------------------------------------------- money


def replace_payments(session: Session, channel: str, payments: Iterable[Payment], *, now: datetime) -> int:
    """Make ``payments`` the channel's whole record; return how many there are."""
    table = PaymentRow.__table__  # type: ignore[attr-defined]
    session.connection().execute(delete(table).where(table.c.channel == channel))
    unique = {p.key: p for p in payments}
    for key, p in unique.items():
        session.add(
            PaymentRow(
                key=key,
                channel=p.channel,
                subchannel=p.subchannel,
                payee=p.payee,
                paid_on=p.paid_on,
                amount=str(p.amount),
                currency=p.currency,
                upstreams=list(p.upstreams),
                attribution=p.attribution,
                source=p.source,
                seen_at=now,
            )
        )
    return len(unique)


def load_payments(
    session: Session, *, start: datetime | None = None, end: datetime | None = None, bounds: Bounds = "(start, end]"
) -> list[Payment]:
    """Payments in the window (all when no window), oldest first; upstreams renamed since under their new names."""
    query = select(PaymentRow).order_by(col(PaymentRow.paid_on), col(PaymentRow.key))
    if start is not None and end is not None:  # the window's days only (its bounds are checked below)
        query = query.where(
            col(PaymentRow.paid_on) >= start.astimezone(UTC), col(PaymentRow.paid_on) <= end.astimezone(UTC)
        )
    rows = session.exec(query).all()
    renames = load_renames(session)
    out = []
    for r in rows:
        moment = aware(r.paid_on)
        if start is not None and end is not None and not _in(moment, start, end, bounds):
            continue
        out.append(
            Payment(
                channel=r.channel,
                payee=r.payee,
                paid_on=moment,
                amount=Decimal(r.amount),
                currency=r.currency,
                upstreams=tuple(dict.fromkeys(current_key(u, renames) for u in r.upstreams)),
                attribution=r.attribution,
                subchannel=r.subchannel,
                source=r.source,
            )
        )
    return out
