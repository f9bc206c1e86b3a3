"""What a SQLite or file-system error means for the store: one `StorageFault` per outcome.

SQLite reports a full disk, a held lock, a read-only file and a damaged file as result codes on
`sqlite3.Error`; the file system reports them as `OSError` numbers. Both are turned into the
port's `StorageFault`s, each with a sentence saying what to do and an exit code of its own, so a
run stops with that message instead of a traceback, a hang or "broker unreachable".
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from robo_tui.ports import (
    StorageCorrupt,
    StorageFault,
    StorageFull,
    StorageLocked,
    StorageReadOnly,
)

_SQLITE_FULL = 13
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_PERM = 3
_SQLITE_CANTOPEN = 14
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def storage_fault(exc: BaseException, path: Path) -> StorageFault | None:
    """The `StorageFault` that `exc` means for the database at `path`; None when it is not a
    storage fault (a constraint, a programming error, a cancellation)."""
    if isinstance(exc, StorageFault):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return None if code is None else _from_sqlite(int(code) & 0xFF, str(exc), path)
    if isinstance(exc, OSError):
        return _from_os(exc, path)
    return None


def _from_sqlite(code: int, text: str, path: Path) -> StorageFault | None:
    if code == _SQLITE_FULL:
        return full(path, text)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageLocked(
            f"{path}: another process holds a write lock on the database ({text}); close the "
            "other program using it (a sqlite3 shell, a backup, a second robo-tui) and start again"
        )
    if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN):
        return read_only(path, text)
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return corrupt(path, text)
    return None


def _from_os(exc: OSError, path: Path) -> StorageFault | None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return full(path, str(exc))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST,
                     errno.EISDIR):
        return read_only(path, str(exc))
    return None


def full(path: Path, detail: str) -> StorageFull:
    """The disk holding `path` is full."""
    return StorageFull(
        f"{path}: the disk is full ({detail}); nothing more can be recorded, so robo-tui stops. "
        "Free space on that disk and start again: the journal up to the last write is intact"
    )


def read_only(path: Path, detail: str) -> StorageReadOnly:
    """`path` or its folder cannot be written."""
    return StorageReadOnly(
        f"{path}: the database or its folder cannot be written ({detail}); check the "
        "permissions and the mount of the data dir (robo-tui needs to write the file, its -wal "
        "and -shm files and the folder)"
    )


def corrupt(path: Path, detail: str) -> StorageCorrupt:
    """`path` is damaged."""
    return StorageCorrupt(
        f"{path}: the database is damaged ({detail}); robo-tui will not trade on it. Keep the "
        "file for inspection, restore a backup (or move it away to start a new account) and "
        "start again"
    )
