"""Licence classes and drift events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.signals.licences import classify_licence, detect_drift, same_licence
from bot.signals.records import LicenceClass

WHEN = datetime(2026, 11, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spdx", "expected"),
    [
        ("MIT", LicenceClass.PERMISSIVE),
        ("apache-2.0", LicenceClass.PERMISSIVE),  # GitHub's lower-cased ``key``
        ("BSL-1.0", LicenceClass.PERMISSIVE),  # Boost, not Business Source
        ("GPL-3.0-or-later", LicenceClass.COPYLEFT),
        ("MPL-2.0", LicenceClass.COPYLEFT),
        ("AGPL-3.0-only", LicenceClass.COPYLEFT),
        ("BUSL-1.1", LicenceClass.SOURCE_AVAILABLE),
        ("SSPL-1.0", LicenceClass.SOURCE_AVAILABLE),
        ("Elastic-2.0", LicenceClass.SOURCE_AVAILABLE),
        ("FSL-1.1-Apache-2.0", LicenceClass.SOURCE_AVAILABLE),
        ("FSL-1.0-MIT", LicenceClass.SOURCE_AVAILABLE),
        ("PolyForm-Noncommercial-1.0.0", LicenceClass.SOURCE_AVAILABLE),
        ("Apache-2.0 WITH Commons-Clause", LicenceClass.SOURCE_AVAILABLE),
        ("LicenseRef-Commons-Clause", LicenceClass.SOURCE_AVAILABLE),
        ("UNLICENSED", LicenceClass.PROPRIETARY),
        ("LicenseRef-Proprietary", LicenceClass.PROPRIETARY),
        ("NOASSERTION", LicenceClass.UNKNOWN),
        ("other", LicenceClass.UNKNOWN),
        (None, LicenceClass.UNKNOWN),
        ("LicenseRef-scancode-something", LicenceClass.UNKNOWN),
        ("MIT OR Apache-2.0", LicenceClass.PERMISSIVE),
        ("GPL-2.0-only OR MIT", LicenceClass.PERMISSIVE),  # the licensee may take the open branch
        ("MIT AND SSPL-1.0", LicenceClass.SOURCE_AVAILABLE),  # both apply: the worst wins
        ("(MIT OR GPL-2.0-only) AND BUSL-1.1", LicenceClass.SOURCE_AVAILABLE),
        ("GPL-2.0-only WITH Classpath-exception-2.0", LicenceClass.COPYLEFT),
    ],
)
def test_classify(spdx: str | None, expected: LicenceClass) -> None:
    assert classify_licence(spdx) is expected


def test_relicensing_to_source_available_is_a_sovereignty_risk() -> None:
    drift = detect_drift("github.com/hashicorp/terraform", "MPL-2.0", "BUSL-1.1", first_seen_at=WHEN)
    assert drift is not None
    assert (drift.from_spdx, drift.to_spdx, drift.first_seen_at) == ("MPL-2.0", "BUSL-1.1", WHEN)
    assert (drift.from_class, drift.to_class, drift.sovereignty_risk) == (
        LicenceClass.COPYLEFT,
        LicenceClass.SOURCE_AVAILABLE,
        True,
    )


def test_reopening_and_open_to_open_changes_are_drift_without_risk() -> None:
    back = detect_drift("github.com/elastic/elasticsearch", "SSPL-1.0", "AGPL-3.0-only", first_seen_at=WHEN)
    assert back is not None and not back.sovereignty_risk
    swap = detect_drift("github.com/x/y", "MIT", "Apache-2.0", first_seen_at=WHEN)
    assert swap is not None and not swap.sovereignty_risk


def test_no_drift_when_only_spelling_differs() -> None:
    assert detect_drift("github.com/x/y", "MIT", "mit", first_seen_at=WHEN) is None
    assert detect_drift("github.com/x/y", None, "NOASSERTION", first_seen_at=WHEN) is None
    assert same_licence("spdx:MIT", "MIT")
