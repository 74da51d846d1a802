"""Which repository key a document is stored under, and which product it describes.

A key must stay the same from one release of a product to the next and differ between products,
so it never comes from a file name or a document name ("istio release 1.13.1"). In order:
``--repo``; a GitHub export's repository; else the document's own source metadata about its
subject: a forge VCS URL (``owner/name``), the subject's purl without version
(``pkg:npm/juice-shop``; ``pkg:github/o/n`` is ``o/n``), or its name without version. Names that
identify nothing (``.``, empty, a path, an archive name, a bare version, a digest) are refused with a
message asking for ``--repo``.

The *product* is the same derivation, made whatever ``--repo`` says: the store replaces a key's
current document only with one describing the same product (:mod:`bot.store.inventory`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from bot.inventory.interface import InventoryError
from bot.inventory.purls import normalise_purl
from bot.records import DocumentSubject, ParsedDocument

_FORGE_URL = re.compile(
    r"(?:github\.com|gitlab\.com|bitbucket\.org)[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?(?:[/#?]|$)", re.I
)
_FORGE_PURL_TYPES = frozenset({"github", "gitlab", "bitbucket"})
_ARCHIVE = re.compile(
    r"\.(?:tar(?:\.(?:gz|bz2|xz|zst|lz))?|tgz|tbz2?|txz|zip|jar|war|ear|aar|whl|egg|gem|nupkg|crate|deb|rpm|apk"
    r"|7z|rar|gz|bz2|xz|zst|iso|img|exe|msi|dmg|pkg)$",
    re.I,
)
_BARE_VERSION = re.compile(r"v?\d+(?:[._-]\w+)*", re.I)
_DIGEST = re.compile(r"(?:sha(?:1|256|384|512)[:-])?[0-9a-f]{32,}", re.I)
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
_TRAILING_VERSION = re.compile(
    r"(?:[\s_@:]+|-)(?:release[\s_-]*)?v?\d+(?:\.\d+)+(?:[-+~.][0-9A-Za-z.+~-]*)?$",
    re.I,
)
_SAYS_NOTHING = frozenset({"noassertion", "none", "unknown", "null", "n/a", "-"})


class NoIdentity(InventoryError):
    """The document names no product a repository key could be derived from; ``--repo`` is needed."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Where a document is stored (``key``, and what decided it) and the product it describes (or ``None``)."""

    key: str
    key_from: str
    product: str | None


def forge_repository(url: str) -> str | None:
    """``owner/name`` of a GitHub, GitLab or Bitbucket URL (``git+https``, ``git@``, archive links), else ``None``."""
    match = _FORGE_URL.search(url)
    return f"{match.group(1)}/{match.group(2)}".lower() if match else None


def why_no_identity(name: str) -> str | None:
    """Why a name identifies nothing, or ``None`` when it may serve as a key."""
    text = name.strip()
    if not text or text in (".", ".."):
        return "is empty" if not text else "is a directory, not a product"
    if text.lower() in _SAYS_NOTHING:
        return "says nothing"
    if text.startswith(("/", "./", "../", "~")) or "\\" in text or _DRIVE.match(text):
        return "is a path"
    if _ARCHIVE.search(text):
        return "is an archive name"
    if _BARE_VERSION.fullmatch(text):
        return "is a bare version"
    if _DIGEST.fullmatch(text):
        return "is a digest"
    return None


def without_version(name: str, version: str | None) -> str:
    """The name with a trailing version taken off (``istio release 1.13.1`` → ``istio``, ``app@2.0`` → ``app``)."""
    text = name.strip()
    if version and version.strip() and text.lower().endswith(version.strip().lower()):
        shorter = text[: -len(version.strip())].rstrip(" -_@:/")
        shorter = re.sub(r"[\s_-]+(?:v|release|version)$", "", shorter, flags=re.I)
        if shorter.strip():
            text = shorter
    return _TRAILING_VERSION.sub("", text).strip()


def _from_purl(purl: str) -> str | None:
    info = normalise_purl(purl)
    if not info.valid or not info.ecosystem or why_no_identity(info.name):
        return None
    if info.ecosystem in _FORGE_PURL_TYPES and info.namespace:
        return f"{info.namespace}/{info.name}".lower()
    package = info.package_key.lower()
    return f"pkg:{package}"


def product_of(subject: DocumentSubject | None) -> tuple[str, str] | None:
    """The product a subject names and where that came from, or ``None`` when it names none."""
    if subject is None:
        return None
    for url in subject.vcs_urls:
        repository = forge_repository(unquote(url))
        if repository:
            return repository, f"{subject.where} vcs"
    if subject.purl:
        from_purl = _from_purl(subject.purl)
        if from_purl:
            return from_purl, f"{subject.where} purl"
    if subject.name and not why_no_identity(subject.name):
        name = without_version(subject.name, subject.version)
        if name and not why_no_identity(name):
            group = subject.group.strip() if subject.group and subject.group.strip() else ""
            return (f"{group}/{name}" if group else name).lower(), f"{subject.where} name"
    return None


def _refusal(parsed: ParsedDocument) -> str:
    subject = parsed.subject
    if subject is None:
        said = "the document describes no single product"
    elif subject.name is not None and why_no_identity(subject.name):
        said = f"its {subject.where} is named {subject.name!r}, which {why_no_identity(subject.name)}"
    elif subject.name is not None:
        said = f"its {subject.where} {subject.name!r} is only a version"
    else:
        said = f"its {subject.where} has no usable purl, VCS URL or name"
    return f"no repository identity: {said}; pass --repo OWNER/NAME to say which repository it belongs to"


def document_identity(parsed: ParsedDocument, *, repo: str | None, source: str) -> Identity:
    """The key and product of one document; raise :class:`NoIdentity` naming ``source`` when nothing identifies it."""
    product = product_of(parsed.subject)
    if parsed.repo_hint and parsed.repo_hint_source == "github export name":
        product = (parsed.repo_hint, parsed.repo_hint_source)
    if repo:
        return Identity(repo, "--repo", product[0] if product else None)
    if product is None:
        raise NoIdentity(source, _refusal(parsed))
    return Identity(product[0], product[1], product[0])
