"""Where a setting lives outside the models: its dotted key, its environment variable, whether it is secret.

Loading (to check and explain what was read) and rendering (to print it back) walk the same
models the same way; this module is that walk.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence
from inspect import isclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo

from robo_tui.config.models import Settings

ENV_PREFIX = "ROBO_TUI_"
ENV_NESTED_DELIMITER = "__"
SECRETS_FILE_ENV = "ROBO_TUI_SECRETS_FILE"
"""Environment variable naming the secrets file explicitly."""
SECRETS_FILE_NAME = "secrets.toml"
RESERVED_ENV_VARS = frozenset(
    {SECRETS_FILE_ENV, "ROBO_TUI_CONFIG", "ROBO_TUI_DATA_DIR", "ROBO_TUI_LOG_LEVEL"}
)
"""`ROBO_TUI_*` variables that are not settings; any other unknown `ROBO_TUI_*` is an error."""


def nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The config model inside a field's annotation, and whether it is a list of them."""
    if isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple, Sequence):
        for arg in args:
            model, _ = nested_model(arg)
            if model is not None:
                return model, True
    elif origin in (Union, types.UnionType):
        for arg in args:
            model, is_list = nested_model(arg)
            if model is not None:
                return model, is_list
    return None, False


def is_secret(annotation: Any) -> bool:
    """Whether a field's annotation is a secret type (SecretStr or SecretBytes, maybe optional)."""
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(is_secret(arg) for arg in get_args(annotation))


def holds_secret(annotation: Any) -> bool:
    """Whether the field is a secret or a section with a secret somewhere inside."""
    if is_secret(annotation):
        return True
    model, _ = nested_model(annotation)
    return model is not None and any(holds_secret(f.annotation) for f in model.model_fields.values())


def secret_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Dotted paths of every secret field; "*" stands for each item of a list."""
    for name, info in model.model_fields.items():
        path = prefix + (name,)
        if is_secret(info.annotation):
            yield path
            continue
        sub, is_list = nested_model(info.annotation)
        if sub is not None:
            yield from secret_paths(sub, path + ("*",) if is_list else path)


def locate(data: Any, pattern: tuple[str, ...], at: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where a field path (with "*" for list items) is present in raw TOML data."""
    if not pattern:
        yield at
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from locate(item, rest, at + (i,))
    elif isinstance(data, dict) and head in data:
        yield from locate(data[head], rest, at + (head,))


def model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The config model that holds the keys at `loc` (None when `loc` is not a section)."""
    model: type[BaseModel] | None = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model, _ = nested_model(model.model_fields[part].annotation)
    return model


def field_at(loc: Sequence[str | int]) -> FieldInfo | None:
    """The model field at `loc` (list indexes skipped); None when there is no such field."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return None
    model = model_at(names[:-1])
    return None if model is None else model.model_fields.get(names[-1])


def is_secret_loc(loc: Sequence[str | int]) -> bool:
    """Whether `loc` is a secret field or lies inside one."""
    names: list[str | int] = []
    for part in loc:
        names.append(part)
        if isinstance(part, str):
            field = field_at(names)
            if field is not None and is_secret(field.annotation):
                return True
    return False


def env_name(loc: Sequence[str | int]) -> str:
    """The `ROBO_TUI_A__B` environment variable of a key (up to its first list index)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        parts.append(part.upper())
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(parts)


def env_names(model: type[BaseModel] = Settings, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    """Every settable environment variable of `model` (a list of tables is one variable)."""
    for name, info in model.model_fields.items():
        path = prefix + (name,)
        sub, is_list = nested_model(info.annotation)
        if sub is not None and not is_list:
            yield from env_names(sub, path)
        else:
            yield env_name(path)


def dotted(loc: Sequence[str | int]) -> str:
    """`loc` as the dotted key error messages show, e.g. news.sources[0].url."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out
