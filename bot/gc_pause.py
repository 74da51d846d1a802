"""One context manager for the places that build hundreds of thousands of small objects at once."""

from __future__ import annotations

import gc
from types import TracebackType


class cyclic_gc_paused:  # named as the function it replaced: ``with cyclic_gc_paused():``
    """Pause CPython's cyclic garbage collector for the block, then restore its previous state.

    Parsing a 50,000-component SBOM, scoring 6,000 upstreams or building GitHub's GraphQL schema
    allocates hundreds of thousands of containers that are not garbage yet; every allocation burst
    triggers a collection that walks them all again (measured: two to three times slower). Reference
    counting still frees everything. Nested or concurrent callers are safe: only the caller that
    paused it resumes it. A class, not ``@contextmanager``: parsing a 2 KB document pays for it once
    per document, and a generator-based manager costs more than the rest of the set-up.
    """

    __slots__ = ("_was_enabled",)

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._was_enabled:
            gc.enable()
