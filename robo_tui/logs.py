"""Logging to `<data dir>/robo-tui.log` (mode 0600) with every configured secret redacted."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, SecretStr

LOG_NAME = "robo-tui.log"
_MASK = "********"


def secret_values(model: BaseModel) -> list[str]:
    """Every non-empty secret value in a settings tree."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            raw = value.get_secret_value()
            if raw:
                found.append(raw)
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    found.extend(secret_values(item))
    return found


class RedactingFilter(logging.Filter):
    """Replaces any known secret in a log record's final message with a mask."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, _MASK)
        if redacted != message or record.exc_info:
            if record.exc_info:
                text = logging.Formatter().formatException(record.exc_info)
                for secret in self._secrets:
                    text = text.replace(secret, _MASK)
                redacted = f"{redacted}\n{text}"
                record.exc_info = None
                record.exc_text = None
            record.msg, record.args = redacted, None
        return True


def setup_logging(data_dir: Path, secrets: Iterable[str], *, level: int = logging.INFO,
                  stderr: bool = False) -> Path:
    """Log to the data dir's file (created 0600), redacting secrets; returns the log path."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / LOG_NAME
    fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    redactor = RedactingFilter(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_robo_tui", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(redactor)
        handler._robo_tui = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    return path
