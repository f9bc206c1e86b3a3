"""The kill switch as a file beside the database, for when the database cannot be written.

`robo-tui halt` writes `HALT` into the data dir before it journals the halt in the database; the
store reads it into every control-state load, so every start (and a running engine at its next
control sync) is HALTED while the file exists, whatever state the database holds. Only
`robo-tui resume` removes it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from robo_tui.domain.frozen import frozen

HALT_FILENAME = "HALT"
"""The halt file's name inside a data dir."""


@frozen
class HaltFile:
    """What a halt file says: why, who, when."""

    reason: str
    by: str
    ts: str


def halt_path(data_dir: Path) -> Path:
    """Where the halt file of `data_dir` lives."""
    return Path(data_dir) / HALT_FILENAME


def write_halt_file(data_dir: Path, reason: str, by: str) -> Path:
    """Write the halt file durably (written whole, renamed into place, fsynced); its path.

    Raises `OSError` when the data dir cannot be written either."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = halt_path(data_dir)
    text = json.dumps({"reason": reason, "by": by, "ts": datetime.now(UTC).isoformat()})
    tmp = target.with_name(f".{HALT_FILENAME}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    dir_fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


def read_halt_file(data_dir: Path) -> HaltFile | None:
    """The halt file of `data_dir`, None when there is none. A file that cannot be parsed still
    halts (its reason says so): a damaged kill switch must not read as "not halted"."""
    target = halt_path(data_dir)
    try:
        text = target.read_text(errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return HaltFile(f"halt file {target} unreadable: {exc}", "unknown", "")
    try:
        data = json.loads(text)
        return HaltFile(str(data["reason"]), str(data.get("by", "")), str(data.get("ts", "")))
    except (ValueError, KeyError, TypeError):
        return HaltFile(f"halt file {target} (unparsed)", "unknown", "")


def clear_halt_file(data_dir: Path) -> bool:
    """Remove the halt file (`robo-tui resume`); whether there was one."""
    try:
        halt_path(data_dir).unlink()
    except FileNotFoundError:
        return False
    return True
