"""What an upstream asks its contributors to agree to: a CLA, a DCO sign-off, or nothing.

A contributor licence agreement grants the project's owner rights over every contribution; a
company that holds them for all of its project's code can relicense it alone, which is how
Elasticsearch, Terraform and Redis left open source. A Developer Certificate of Origin only has
contributors certify they may submit the code: it grants no rights, so it is no such lever.
Read from the contribution guide (``CONTRIBUTING.md``, also under ``.github/``) and a ``CLA.md``
of its own; pure, so the rules are testable without a forge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

_CLA = re.compile(
    r"contributor\s+licen[cs]e\s+agreement|\bCLA\b|copyright\s+assignment|assigns?\s+(?:the\s+)?copyright",
    re.IGNORECASE,
)
_DCO = re.compile(r"developer\s+certificate\s+of\s+origin|\bDCO\b|signed-off-by", re.IGNORECASE)


class Agreement(StrEnum):
    CLA = "cla"
    DCO = "dco"


@dataclass(frozen=True, slots=True)
class AgreementFound:
    kind: Agreement
    evidence: str  # where it was read, e.g. "CONTRIBUTING.md: 'Contributor License Agreement'"


def detect_agreement(files: Mapping[str, str | None]) -> AgreementFound | None:
    """The strongest agreement the files ask for (a CLA over a DCO); None when they ask for none.

    ``files`` maps a path at HEAD to its text, ``None`` for a file that is absent. A file named
    ``CLA.md`` is a CLA whatever it says.
    """
    found: AgreementFound | None = None
    for path, text in files.items():
        if text is None:
            continue
        if path.rsplit("/", 1)[-1].upper() in ("CLA.MD", "CLA"):
            return AgreementFound(Agreement.CLA, f"{path} exists")
        cla = _CLA.search(text)
        if cla:
            return AgreementFound(Agreement.CLA, f"{path}: {cla.group(0)!r}")
        dco = _DCO.search(text)
        if dco and found is None:
            found = AgreementFound(Agreement.DCO, f"{path}: {dco.group(0)!r}")
    return found
