"""Logging to `<data dir>/robo-tui.log` (mode 0600, rotated) with every configured secret redacted.

The file holds a session's decisions, orders, fills, state changes and health at INFO (written by
the engine's event log, `robo_tui.engine.eventlog`) besides warnings and errors, as text lines or
JSON lines (`[logging] format`). A data folder that cannot be written is a `RunError` with the
storage exit code (docs/reliability.md), never a traceback.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import logging.handlers
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, SecretStr

from robo_tui.config.outbound import LoggingSettings

LOG_NAME = "robo-tui.log"
_MASK = "********"
_MIN_SECRET = 4
_URL_PIECE = 8
"""A piece of a secret URL (host of a non-web scheme, path segment, query value) this long with
a digit in it, or twice as long, is masked on its own too, since a library may log the URL cut up
or rebuilt; plain words (`/alerts/robo-tui`) are not, so the log stays readable."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def url_secret_pieces(url: str) -> list[str]:
    """The parts of a URL that may be tokens: user, password, and token-like pieces (see
    `_URL_PIECE`) of the host of a non-web scheme (Apprise's `tgram://<token>/...`), the path
    and the query."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    pieces: list[str] = []
    if parts.scheme not in ("http", "https", "json", "jsons", "form", "forms", "xml", "xmls"):
        pieces.append(parts.netloc.rpartition("@")[2])
    pieces += [unquote(p) for p in parts.path.split("/")]
    pieces += [value for _, value in parse_qsl(parts.query)]
    tokens = [p for p in pieces if len(p) >= 2 * _URL_PIECE
              or (len(p) >= _URL_PIECE and any(c.isdigit() for c in p))]
    return [p for p in (parts.username or "", parts.password or "") if p] + tokens


def _secret_text(value: SecretStr) -> list[str]:
    raw = value.get_secret_value()
    if not raw:
        return []
    return [raw, *url_secret_pieces(raw)] if "://" in raw else [raw]


def secret_values(model: BaseModel) -> list[str]:
    """Every non-empty secret value in a settings tree (a secret URL with its token parts)."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            found.extend(_secret_text(value))
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    found.extend(secret_values(item))
                elif isinstance(item, SecretStr):
                    found.extend(_secret_text(item))
    return found


def redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function that masks every secret in a text (longest first)."""
    ordered = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in ordered:
            text = text.replace(secret, _MASK)
        return text

    return redact


class RedactingFilter(logging.Filter):
    """Replaces any known secret in a log record's final message with a mask."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
        self._redact = redactor(self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message or record.exc_info:
            if record.exc_info:
                text = self._redact(logging.Formatter().formatException(record.exc_info))
                redacted = f"{redacted}\n{text}"
                record.exc_info = None
                record.exc_text = None
            record.msg, record.args = redacted, None
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            record.event = json.loads(self._redact(json.dumps(event, default=str)))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, and the event's data when the
    record carries one (`extra={"event": {...}}`, as the engine's event log writes)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if event is not None:
            line["event"] = event
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose files (the current one and each new one) are mode 0600."""

    def _open(self) -> io.TextIOWrapper:  # type: ignore[override]
        fd = os.open(self.baseFilename, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        os.chmod(self.baseFilename, 0o600)
        stream = os.fdopen(fd, "a", encoding=self.encoding or "utf-8")
        assert isinstance(stream, io.TextIOWrapper)
        return stream


def _storage_error(data_dir: Path, exc: OSError) -> Exception:
    """A clear `RunError` (storage exit code) for a data folder the log cannot be written in."""
    from robo_tui.runtime import ExitCode, RunError

    if exc.errno == errno.ENOSPC:
        return RunError(f"{data_dir}: the disk is full, robo-tui.log cannot be written; free space",
                        ExitCode.STORAGE_FULL)
    what = exc.strerror or str(exc)
    return RunError(f"{data_dir}: the data folder cannot be written ({what}); fix its "
                    "permissions or mount, or choose another with --data-dir",
                    ExitCode.STORAGE_READ_ONLY)


def setup_logging(data_dir: Path, secrets: Iterable[str], *, level: int | None = None,
                  stderr: bool = False, options: LoggingSettings | None = None) -> Path:
    """Log to the data dir's rotated file (created 0600) as text or JSON lines, redacting
    secrets; returns the log path. A folder that cannot be written raises `RunError`."""
    options = options or LoggingSettings()
    path = data_dir / LOG_NAME
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        file_handler = PrivateRotatingFileHandler(path, maxBytes=options.max_bytes,
                                                  backupCount=options.backups, encoding="utf-8")
    except OSError as exc:
        raise _storage_error(data_dir, exc) from None
    redactor_filter = RedactingFilter(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_robo_tui", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [file_handler]
    if stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(JsonFormatter() if options.format == "json" and handler is file_handler
                             else logging.Formatter(TEXT_FORMAT))
        handler.addFilter(redactor_filter)
        handler._robo_tui = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level if level is not None else logging.getLevelName(options.level))
    for chatty in ("httpx", "httpcore", "apprise", "telegram", "aiosqlite", "asyncio"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))  # URLs name tokens
    return path
