"""The redacted printout of settings for `config check`: plain data or TOML with secrets hidden.

`render_toml` reads back to the same settings and, with comments, is how `config.example.toml`
is written.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo

from robo_tui.config.fields import SECRETS_FILE_NAME, env_name, is_secret, nested_model

REDACTED = "********"
"""How a secret that is set is shown by `redacted_dict` and `render_toml`."""


def redacted_dict(settings: BaseModel) -> dict[str, Any]:
    """Settings as plain data (JSON-ready) with every secret shown as "********", or None if unset."""
    plain = _plain(settings.model_dump(mode="python"))
    assert isinstance(plain, dict)
    return plain


def render_toml(settings: BaseModel, *, comments: bool = False) -> str:
    """Settings as TOML that `load_settings` reads back to the same values.

    Secrets never appear: each is a comment naming its environment variable and whether it is
    set. Unset optional values are commented out. With `comments`, every key and table is
    preceded by its attribute docstring (this is how `config.example.toml` is written).
    """
    lines: list[str] = []
    _render_table(settings, (), lines, comments=comments, doc="", array=False)
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, (SecretStr, SecretBytes)):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _toml_value(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _comment(doc: str | None) -> list[str]:
    if not doc:
        return []
    return ["# " + line.strip() if line.strip() else "#" for line in doc.strip().splitlines()]


def _render_table(model: BaseModel, header: tuple[str, ...], lines: list[str], *,
                  comments: bool, doc: str | None, array: bool) -> None:
    if header:
        lines.append("")
        if comments:
            lines += _comment(doc)
        name = ".".join(_toml_key(h) for h in header)
        lines.append(f"[[{name}]]" if array else f"[{name}]")
    tables: list[tuple[str, Any, FieldInfo, bool]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        sub, is_list = nested_model(info.annotation)
        if sub is not None and (is_list or isinstance(value, BaseModel)) and value is not None:
            tables.append((name, value, info, is_list))
            continue
        if comments:
            lines += _comment(info.description)
        key = _toml_key(name)
        if is_secret(info.annotation):
            state = "set" if value is not None else "not set"
            if array:
                lines.append(f"# {key}: secret ({state}); put it in {SECRETS_FILE_NAME} (mode "
                             f"0600) in a [[{'.'.join(header)}]] table with the same name")
            else:
                lines.append(f"# {key}: secret ({state}); set {env_name(header + (name,))} "
                             f"or put it in {SECRETS_FILE_NAME} (mode 0600)")
        elif value is None:
            lines.append(f"# {key} =   (not set)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, value, info, is_list in tables:
        if is_list:
            if not value:
                lines.append("")
                lines += _comment(info.description) if comments else []
                lines.append(f"# [[{'.'.join(header + (name,))}]]   (none)")
            for i, item in enumerate(value):  # the first item documents the keys for all
                _render_table(item, header + (name,), lines, comments=comments and i == 0,
                              doc=info.description, array=True)
        else:
            _render_table(value, header + (name,), lines, comments=comments,
                          doc=info.description, array=False)
