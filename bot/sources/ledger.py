"""The ledger file: money paid outside GitHub Sponsors and Open Collective (Tidelift, thanks.dev, invoices...).

CSV with a header ``date,upstream,amount,currency,channel,note`` (``note`` optional). ``upstream`` is an
upstream key (``github.com/owner/name``) or free text naming the payee; a payee that is not an
upstream is kept as unattributed. Every line is checked on its own; a bad line becomes one
:class:`LedgerProblem` naming ``file:line`` and the column, and the good lines are still read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bot.records import current_key
from bot.sources.money import Payment

COLUMNS = ("date", "upstream", "amount", "currency", "channel")


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    where: str  # file:line
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: column {self.column}: {self.message}"


def parse_ledger(
    text: str, *, source: str, upstreams: Collection[str], renames: Mapping[str, str] | None = None
) -> tuple[list[Payment], list[LedgerProblem]]:
    """Payments from the ledger text, and one problem per line that could not be read.

    A line naming a repository by an old name (``renames``: old key → new) counts for the upstream
    as it is called now: ledgers are written once and renames come later.
    """
    reader = csv.DictReader(io.StringIO(text), restkey="_extra")
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [
            LedgerProblem(
                f"{source}:1", ",".join(missing), f"missing from the header (expected {','.join(COLUMNS)},note)"
            )
        ]
    reader.fieldnames = header
    payments: list[Payment] = []
    problems: list[LedgerProblem] = []
    known = {u.lower() for u in upstreams}
    for row in reader:
        where = f"{source}:{reader.line_num}"
        extra = row.pop("_extra", None)
        if extra:
            problems.append(LedgerProblem(where, "(after note)", f"{len(extra)} field(s) more than the header has"))
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        try:
            paid = date.fromisoformat(values.get("date", ""))
        except ValueError:
            problems.append(LedgerProblem(where, "date", f"{values.get('date')!r} is not a date (YYYY-MM-DD)"))
            continue
        payee = values.get("upstream", "")
        if not payee:
            problems.append(LedgerProblem(where, "upstream", "empty (an upstream key or the payee's name)"))
            continue
        try:
            amount = Decimal(values.get("amount", ""))
        except InvalidOperation:
            problems.append(LedgerProblem(where, "amount", f"{values.get('amount')!r} is not a number"))
            continue
        if not amount.is_finite() or amount <= 0:
            problems.append(LedgerProblem(where, "amount", f"{values.get('amount')!r} must be a positive amount"))
            continue
        currency = values.get("currency", "").upper()
        if len(currency) != 3 or not currency.isalpha():
            problems.append(LedgerProblem(where, "currency", f"{values.get('currency')!r} is not an ISO 4217 code"))
            continue
        channel = values.get("channel", "")
        if not channel:
            problems.append(LedgerProblem(where, "channel", "empty (tidelift, thanks.dev, invoice, grant, ...)"))
            continue
        key = current_key(payee.lower(), renames or {})
        attributed = key in known
        why = "ledger names the upstream" if key == payee.lower() else f"ledger names {payee}, now {key}"
        payments.append(
            Payment(
                channel="ledger",
                payee=payee,
                paid_on=datetime(paid.year, paid.month, paid.day, tzinfo=UTC),
                amount=amount,
                currency=currency,
                upstreams=(key,) if attributed else (),
                attribution=why if attributed else f"{payee}: not an upstream of the inventory",
                subchannel=channel,
                source=where,
            )
        )
    return payments, problems


def read_ledger(
    path: Path, *, upstreams: Collection[str], renames: Mapping[str, str] | None = None
) -> tuple[list[Payment], list[LedgerProblem]]:
    """:func:`parse_ledger` on a file; an unreadable file is one problem, not an exception."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        return [], [LedgerProblem(str(path), "-", f"cannot read: {exc.strerror or exc}")]
    return parse_ledger(text, source=str(path), upstreams=upstreams, renames=renames)
