"""The checks pydantic cannot make, and one line per problem naming the file, the key and the reason.

Secrets in the config file, non-secrets in the secrets file, unknown `ROBO_TUI_*` variables,
secrets-file list items merged into the config's by name, and validation errors described
with the source they came from (never repeating a secret's value).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from robo_tui.config.fields import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    RESERVED_ENV_VARS,
    SECRETS_FILE_ENV,
    SECRETS_FILE_NAME,
    dotted,
    env_name,
    env_names,
    holds_secret,
    is_secret_loc,
    locate,
    model_at,
    nested_model,
    secret_paths,
)
from robo_tui.config.models import Settings


class Origin:
    """Where some config values came from, for naming it in error messages."""

    __slots__ = ("data", "is_env", "is_secrets", "label")

    def __init__(self, label: str, data: dict[str, Any], *, is_env: bool = False,
                 is_secrets: bool = False) -> None:
        self.label = label
        self.data = data
        self.is_env = is_env
        self.is_secrets = is_secrets

    def depth(self, loc: Sequence[str | int]) -> int:
        """How much of `loc` this source provides (0: none of it)."""
        node: Any = self.data
        for n, part in enumerate(loc):
            in_list = isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node)
            in_table = isinstance(part, str) and isinstance(node, dict) and part in node
            if not (in_list or in_table):
                return n
            node = node[part]
        return len(loc)


def secrets_in_config(data: dict[str, Any], path: Path) -> list[str]:
    """One problem per secret written in the config file, saying where it belongs instead."""
    problems = []
    for pattern in secret_paths(Settings):
        for loc in locate(data, pattern):
            if any(isinstance(part, int) for part in loc):
                where = (
                    f"put it in the 0600 secrets file ({SECRETS_FILE_NAME} beside the config, or "
                    f"{SECRETS_FILE_ENV}) in a [[{dotted(_list_loc(loc))}]] table with the same "
                    "`name`"
                )
            else:
                where = (
                    f"set the environment variable {env_name(loc)} or put it in the 0600 "
                    f"secrets file ({SECRETS_FILE_NAME} beside the config, or {SECRETS_FILE_ENV})"
                )
            problems.append(
                f"{path}: {dotted(loc)}: secrets are not allowed in the config file; "
                f"remove it and {where}"
            )
    return problems


def _list_loc(loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """`loc` up to the list that holds its first list item (news.sources[0].x -> news.sources)."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            break
        out.append(part)
    return tuple(out)


def merge_named_items(
    secrets: dict[str, Any], config: dict[str, Any], at: tuple[str, ...], path: Path
) -> tuple[dict[str, Any], list[str]]:
    """The secrets data with each list of tables merged into the config's list, item by `name`.

    A list replaces a list wholesale when sources are layered, so a secrets-file item such as
    `[[news.sources]] name = "wire" api_key = "..."` is merged into the config item named "wire".
    """
    merged: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in secrets.items():
        here = config.get(key)
        if isinstance(value, dict) and isinstance(here, dict):
            merged[key], inner = merge_named_items(value, here, at + (key,), path)
            problems += inner
        elif (isinstance(value, list) and all(isinstance(v, dict) for v in value)
              and isinstance(here, list)):
            items = [dict(item) if isinstance(item, dict) else item for item in here]
            by_name = {item.get("name"): item for item in items if isinstance(item, dict)}
            for n, secret_item in enumerate(value):
                target = by_name.get(secret_item.get("name"))
                if target is None:
                    problems.append(
                        f"{path}: {dotted(at + (key, n))}: no item named "
                        f"{secret_item.get('name')!r} in the config file's [[{'.'.join(at + (key,))}]]"
                    )
                else:
                    target.update(secret_item)
            merged[key] = items
        else:
            merged[key] = value
    return merged, problems


def non_secrets_in_secrets_file(data: dict[str, Any], path: Path) -> list[str]:
    """One problem per non-secret value in the secrets file (those belong in the config file)."""
    problems: list[str] = []

    def leaves(value: Any, at: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                yield from leaves(inner, at + (key,))
        else:
            yield at

    def walk(node: dict[str, Any], model: type[BaseModel], at: tuple[str, ...]) -> None:
        for key, value in node.items():
            field = model.model_fields.get(key)
            if field is None:
                continue  # unknown keys are reported by validation, with a suggestion
            loc = at + (key,)
            if not holds_secret(field.annotation):
                problems.extend(
                    f"{path}: {dotted(leaf)}: not a secret; only secrets belong in the secrets "
                    "file, set it in the config file"
                    for leaf in leaves(value, loc)
                )
                continue
            sub, is_list = nested_model(field.annotation)
            if sub is not None and not is_list and isinstance(value, dict):
                walk(value, sub, loc)

    walk(data, Settings, ())
    return problems


def unknown_env_vars(env: Mapping[str, str]) -> list[str]:
    """One problem per `ROBO_TUI_*` variable naming no section, with the closest real name."""
    problems = []
    known: list[str] | None = None
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in RESERVED_ENV_VARS:
            continue
        section = upper[len(ENV_PREFIX):].split(ENV_NESTED_DELIMITER)[0].lower()
        if section in Settings.model_fields:
            continue  # deeper typos are reported by validation
        known = known if known is not None else list(env_names())
        problems.append(f"environment: {name}: unknown setting{_suggest(upper, known)}")
    return problems


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(error: Mapping[str, Any], origins: Sequence[Origin]) -> str:
    """One line for one validation error: where it came from, the dotted key, the reason."""
    loc: tuple[str | int, ...] = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
    best: Origin | None = None
    best_depth = 0
    for origin in origins:  # highest priority first; the deepest match names the source
        depth = origin.depth(loc)
        if depth > best_depth:
            best, best_depth = origin, depth
    key = dotted(loc) or "(top level)"

    kind = error["type"]
    if kind == "extra_forbidden":
        parent = model_at(loc[:-1])
        name = str(loc[-1]) if loc else ""
        if best is not None and best.is_env:
            candidates = [n for n in env_names() if n.startswith(env_name(loc[:-1]))]
            reason = "unknown setting" + _suggest(env_name(loc), candidates)
        else:
            candidates = list(parent.model_fields) if parent is not None else []
            reason = "unknown key" + _suggest(name, candidates)
    elif kind == "missing":
        reason = "required key is missing"
    else:
        reason = str(error["msg"]).removeprefix("Value error, ")
        shown = error.get("input")
        secret = is_secret_loc(loc) or (best is not None and best.is_secrets)
        if not secret and isinstance(shown, (str, int, float, bool, date, time)):
            text = repr(shown)
            reason += f" (got {text if len(text) <= 60 else text[:57] + '...'})"

    if best is None:
        return f"built-in defaults: {key}: {reason}"
    if best.is_env:
        return f"environment: {env_name(loc)} ({key}): {reason}"
    return f"{best.label}: {key}: {reason}"
