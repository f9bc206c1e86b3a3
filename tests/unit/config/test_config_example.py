"""config.example.toml is the documentation: it loads, and it names every setting of every model."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr

from robo_tui.config import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.toml"


def nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return nested_model(args[0])[0], True
    if origin in (Union, types.UnionType):
        for arg in args:
            found = nested_model(arg)
            if found[0] is not None:
                return found
    return None, False


def leaf_fields(
    model: type[BaseModel], table: tuple[str, ...] = (), in_list: bool = False
) -> Iterator[tuple[tuple[str, ...], str, Any, bool]]:
    """(table, key, FieldInfo, inside a list of tables) for every non-table field, recursively."""
    for name, info in model.model_fields.items():
        sub, is_list = nested_model(info.annotation)
        if sub is None:
            yield table, name, info, in_list
        else:
            yield from leaf_fields(sub, table + (name,), in_list or is_list)


def documented_keys(text: str) -> set[tuple[tuple[str, ...], str]]:
    """(table, key) for every key line, including commented-out ones (`# key = ...`, `# key:`)."""
    header_re = re.compile(r"^(?:#\s*)?\[\[?([A-Za-z0-9_.]+)\]\]?")
    key_re = re.compile(r"^(?:#\s*)?([A-Za-z0-9_]+)\s*(?:=|:\s*secret)")
    table: tuple[str, ...] = ()
    keys: set[tuple[tuple[str, ...], str]] = set()
    for line in text.splitlines():
        if header := header_re.match(line):
            table = tuple(header[1].split("."))
        elif key := key_re.match(line):
            keys.add((table, key[1]))
    return keys


def test_example_when_loaded_then_equals_built_in_defaults(tmp_path: Path) -> None:
    empty_secrets = tmp_path / "secrets.toml"
    empty_secrets.write_text("")
    empty_secrets.chmod(0o600)
    settings = load_settings(EXAMPLE, environ={"ROBO_TUI_SECRETS_FILE": str(empty_secrets)})
    assert settings == Settings()


def test_example_when_walked_then_every_setting_of_every_model_appears() -> None:
    keys = documented_keys(EXAMPLE.read_text(encoding="utf-8"))
    missing = [
        ".".join(table + (name,))
        for table, name, _, _ in leaf_fields(Settings)
        if (table, name) not in keys
    ]
    assert missing == [], f"add these settings to config.example.toml: {missing}"


def test_example_when_walked_then_every_setting_carries_its_docstring() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    comments = " ".join(
        line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")
    )
    undocumented = [
        ".".join(table + (name,))
        for table, name, info, _ in leaf_fields(Settings)
        if not info.description
        or " ".join(info.description.split()) not in comments
    ]
    assert undocumented == [], (
        "config.example.toml: the comment above these settings must be their attribute "
        "docstring (render_toml(Settings(), comments=True) prints it): " + ", ".join(undocumented)
    )


def test_example_when_walked_then_secrets_are_only_comments_naming_their_variable() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    secrets = [
        (table, name, in_list)
        for table, name, info, in_list in leaf_fields(Settings)
        if SecretStr in (info.annotation, *get_args(info.annotation))
    ]
    assert len(secrets) >= 5
    for table, name, in_list in secrets:
        if in_list:  # list items take secrets from a same-named table in the secrets file
            where = re.escape(f"[[{'.'.join(table)}]] table with the same name")
        else:
            where = "ROBO_TUI_" + "__".join(p.upper() for p in (*table, name))
        assert re.search(rf"^# {name}: secret .*{where}", text, re.MULTILINE), (table, name)
        assert not re.search(rf"^{name}\s*=", text, re.MULTILINE)
