"""The durable store: SQLite (every decision, the crash-safe order journal) and the data-dir lock."""

from robo_tui.adapters.store.codec import CodecError
from robo_tui.adapters.store.lock import DataDirLock, DataDirLocked
from robo_tui.adapters.store.migrations import SchemaError, SchemaTooNewError
from robo_tui.adapters.store.sqlite import (
    DB_FILENAME,
    ProposalTransitionError,
    SqliteStore,
    StoreClosedError,
)

__all__ = [
    "DB_FILENAME",
    "CodecError",
    "DataDirLock",
    "DataDirLocked",
    "ProposalTransitionError",
    "SchemaError",
    "SchemaTooNewError",
    "SqliteStore",
    "StoreClosedError",
]
