"""Loading settings: TOML file < secrets file < environment, validated once, every problem reported.

File resolution (the per-user config and data folders), the TOML and secrets-file sources,
`ROBO_TUI_*` environment overrides with `__` nesting, and `ConfigError`. Secrets come only from
the environment or from a secrets file that must be mode 0600.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from robo_tui.config.availability import unavailable_extensions
from robo_tui.config.fields import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    SECRETS_FILE_ENV,
    SECRETS_FILE_NAME,
)
from robo_tui.config.models import Settings
from robo_tui.config.problems import (
    Origin,
    describe,
    merge_named_items,
    non_secrets_in_secrets_file,
    secrets_in_config,
    unknown_env_vars,
)

APP_NAME = "robo-tui"


class ConfigError(Exception):
    """A config problem, with the file, the key and the reason in the message.

    `problems` holds one line per problem; the message is those lines, one per line.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("\n".join(self.problems))


def default_config_path() -> Path:
    """The per-user config file (`~/.config/robo-tui/config.toml` on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    """The per-user data folder for the database and logs (`~/.local/share/robo-tui` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The config file to load: `explicit`, else the per-user file if it exists, else None."""
    if explicit is not None:
        return explicit
    default = default_config_path()
    return default if default.is_file() else None


def load_settings(path: Path | None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Load settings from `path` (TOML), then the secrets file, then `ROBO_TUI_*` environment.

    Priority, highest first: environment, secrets file, config file, built-in defaults.
    `path` None means built-in defaults (plus secrets and environment); `environ` defaults to
    `os.environ`. Raises `ConfigError` naming the file, the key and the reason of every problem.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    problems: list[str] = []

    file_source: TomlConfigSettingsSource | None = None
    file_data: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "not found"
            raise ConfigError(f"{path}: config file {what}")
        file_source = _toml_source(path)
        file_data = file_source.toml_data
        problems += secrets_in_config(file_data, path)

    secrets_path = _secrets_file_path(path, env)
    secrets_source: PydanticBaseSettingsSource | None = None
    secrets_data: dict[str, Any] = {}
    if secrets_path is not None:
        _check_secrets_file_mode(secrets_path)
        secrets_data = _toml_source(secrets_path).toml_data
        problems += non_secrets_in_secrets_file(secrets_data, secrets_path)
        # Secrets of list items (a news source's key) join the config's item of the same name.
        merged, merge_problems = merge_named_items(secrets_data, file_data, (), secrets_path)
        problems += merge_problems
        secrets_source = InitSettingsSource(_SettingsLoader, merged)

    problems += unknown_env_vars(env)
    env_source = _EnvironSource(_SettingsLoader, env)
    try:
        env_data = env_source()
    except SettingsError as exc:
        raise ConfigError(problems + [f"environment: {exc}"]) from None

    sources: list[PydanticBaseSettingsSource] = [env_source]
    origins: list[Origin] = [Origin("environment", env_data, is_env=True)]
    if secrets_source is not None and secrets_path is not None:
        sources.append(secrets_source)
        origins.append(Origin(str(secrets_path), secrets_data, is_secrets=True))
    if file_source is not None:
        sources.append(file_source)
        origins.append(Origin(str(path), file_data))

    token = _LOAD_SOURCES.set(tuple(sources))
    try:
        loaded = _SettingsLoader()
    except ValidationError as exc:
        problems += [describe(err, origins) for err in exc.errors(include_url=False)]
        raise ConfigError(problems) from None
    finally:
        _LOAD_SOURCES.reset(token)
    problems += [describe({"loc": loc, "type": "extension_unavailable", "msg": reason}, origins)
                 for loc, reason in unavailable_extensions(loaded)]
    if problems:
        raise ConfigError(problems)
    # The loader's field values are already validated Settings sections; re-wrap, no re-validation.
    return Settings.model_construct(
        _fields_set=set(loaded.model_fields_set),
        **{name: getattr(loaded, name) for name in Settings.model_fields},
    )


# --- pydantic-settings plumbing ------------------------------------------------------------

_LOAD_SOURCES: ContextVar[tuple[PydanticBaseSettingsSource, ...]] = ContextVar(
    "robo_tui_config_sources"
)


class _SettingsLoader(Settings, BaseSettings):  # type: ignore[misc]
    """`Settings` as a pydantic-settings class; only `load_settings` instantiates it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_default=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The sources of this load (environment, secrets file, config file), built and checked
        # by `load_settings`, highest priority first.
        return _LOAD_SOURCES.get()


class _EnvironSource(EnvSettingsSource):
    """`ROBO_TUI_*` variables from a given mapping instead of `os.environ` (testable, explicit)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars during super().__init__
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


MAX_NESTING = 32
"""Deepest nesting of tables and arrays a config file may have (the real config needs four)."""


def _toml_source(path: Path) -> TomlConfigSettingsSource:
    try:
        source = TomlConfigSettingsSource(_SettingsLoader, toml_file=path)
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested more than {MAX_NESTING} levels deep") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(_describe_toml_error(path, str(exc))) from None
    if _depth(source.toml_data) > MAX_NESTING:
        raise ConfigError(f"{path}: invalid TOML: nested more than {MAX_NESTING} levels deep")
    return source


def _depth(data: object) -> int:
    """How deeply tables and arrays nest in `data`, counted without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_NESTING:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _describe_toml_error(path: Path, message: str) -> str:
    where = re.search(r"\(at line (\d+), column (\d+)\)", message)
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    if where:
        return f"{path}: line {where[1]}, column {where[2]}: invalid TOML: {reason}"
    return f"{path}: invalid TOML: {reason}"


def _secrets_file_path(config_path: Path | None, env: Mapping[str, str]) -> Path | None:
    explicit = env.get(SECRETS_FILE_ENV, "")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{SECRETS_FILE_ENV}={explicit}: the secrets file does not exist")
        return path
    folder = config_path.parent if config_path is not None else default_config_path().parent
    beside = folder / SECRETS_FILE_NAME
    return beside if beside.is_file() else None


def _check_secrets_file_mode(path: Path) -> None:
    if os.name == "nt":  # no POSIX modes; the user profile's ACLs protect the file
        return
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path}: the secrets file is mode {mode:04o}, readable by others; it must be 0600 "
            f"(owner read/write only): run `chmod 600 {path}`"
        )
    if info.st_uid != os.getuid():
        raise ConfigError(
            f"{path}: the secrets file belongs to uid {info.st_uid}, not to you "
            f"(uid {os.getuid()}); it must be your own file with mode 0600"
        )
