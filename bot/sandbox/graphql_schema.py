"""A published GraphQL schema file, served by a sandbox fake exactly as its real service would validate."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_schema, parse, validate

from bot.gc_pause import cyclic_gc_paused


class PublishedSchema:
    """Built on first use and shared in the process; each query text is parsed and validated once
    (clients send the same text with new variables).

    ``assume_valid``: graphql-core 3.3 rejects deprecations declared only on implementation fields, and
    GitHub's IDL also defines two fields twice (``assume_valid_sdl``); both services serve them anyway.
    """

    def __init__(self, path: Path, *, assume_valid_sdl: bool = False) -> None:
        self.path = path
        self.assume_valid_sdl = assume_valid_sdl
        self._schema: GraphQLSchema | None = None
        self._lock = threading.Lock()
        self.check = lru_cache(maxsize=256)(self._check)

    def schema(self) -> GraphQLSchema:
        with self._lock:
            if self._schema is None:
                with cyclic_gc_paused():  # ~10^5 objects: collecting mid-build multiplies the time
                    self._schema = build_schema(
                        self.path.read_text(encoding="utf-8"), assume_valid_sdl=self.assume_valid_sdl, assume_valid=True
                    )
            return self._schema

    def _check(self, query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
        """The parsed document, or None, and every syntax or validation error."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return None, (exc,)
        return document, tuple(validate(self.schema(), document))
