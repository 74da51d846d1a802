"""Store functions for renamed and transferred upstreams (``upstream_renames``).

The signals stage learns a rename when GitHub answers an old ``owner/name`` with the repository
under its new name. From then on the new key is the upstream: resolutions are rewritten at once,
and readers map anything still naming the old key (contributions stored before the rename, ledger
lines, registry metadata on the next resolve) through :func:`load_renames`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from bot.records import UpstreamKey, current_key
from bot.store.tables import PackageResolutionRow, UpstreamRenameRow, UpstreamRow


def load_renames(session: Session) -> dict[str, str]:
    """Old key → the key it is called by now (chains followed to their end)."""
    direct = {row.old_key: row.new_key for row in session.exec(select(UpstreamRenameRow)).all()}
    followed = {old: current_key(old, direct) for old in direct}
    return {old: new for old, new in followed.items() if new != old}


def renamed_provenance(provenance: str, old: str) -> str:
    """A resolution's provenance, saying it now names the new repository instead of ``old``."""
    return f"{provenance}; renamed from {old}"


def save_renames(session: Session, renames: Mapping[str, str], *, source: str, now: datetime) -> int:
    """Record ``old → new`` renames and move every resolution naming an old key to its new one.

    Idempotent: a known rename is left as it is. A rename back (``b → a`` after ``a → b``) replaces
    the earlier row, so no key ever points at itself. Returns how many renames were new or changed.
    """
    changed = 0
    for old, new in sorted(renames.items()):
        old, new = old.lower(), new.lower()
        if old == new:
            continue
        row = session.exec(select(UpstreamRenameRow).where(UpstreamRenameRow.old_key == old)).first()
        if row is not None and row.new_key == new:
            continue
        renamed = UpstreamRenameRow.__table__  # type: ignore[attr-defined]
        session.connection().execute(delete(renamed).where(renamed.c.old_key == new))
        if row is None:
            session.add(UpstreamRenameRow(old_key=old, new_key=new, source=source, seen_at=now))
        else:
            row.new_key, row.source, row.seen_at = new, source, now
            session.add(row)
        changed += 1
    if changed:
        session.flush()
        _move_resolutions(session, load_renames(session), now=now)
    return changed


def _move_resolutions(session: Session, renames: Mapping[str, str], *, now: datetime) -> None:
    """Point resolutions at the current keys and make sure those upstreams exist."""
    table = PackageResolutionRow.__table__  # type: ignore[attr-defined]
    upstreams = UpstreamRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    for old, new in renames.items():
        moved = connection.execute(
            update(table)
            .where(table.c.upstream_key == old)
            .values(upstream_key=new, provenance=func.coalesce(table.c.provenance, "") + renamed_provenance("", old))
        ).rowcount
        exists = connection.execute(sa_select(upstreams.c.key).where(upstreams.c.key == new)).first()
        if moved and exists is None:
            key = UpstreamKey.parse(new)
            connection.execute(
                insert(upstreams).values(key=new, host=key.host, owner=key.owner, name=key.name, first_seen_at=now)
            )
