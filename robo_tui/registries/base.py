"""What every extension-point registry is made of: a frozen entry per extension and a table of them.

An entry names where its implementation lives as a `"module:attr"` string, imported only when
that extension is built, so the paper default never loads a broker SDK or an LLM client. Config
validation and command-line choices read the names from the same table the wiring builds from
(`ui/commands.py`'s `ACTIONS` is the model).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Extension:
    """One registered extension: its name in config and on the command line, and how to build it."""

    name: str
    """The name a config file or `--option` uses (e.g. `ib`, `rss`, `ollama`)."""
    target: str
    """`"module:attr"` of the factory (or class) that builds it, imported on first use."""
    description: str
    """One line for help texts and docs."""
    section: str | None = None
    """The settings section it reads (e.g. `broker.ib`), if any."""
    extra: str | None = None
    """The optional dependency group it needs (`pip install 'robo-tui[ib]'`), if any."""


class UnknownExtensionError(ValueError):
    """A name that no entry of the registry has; the message lists the registered names."""


class ExtensionUnavailableError(ImportError):
    """The extension's module (or a package it needs) cannot be imported here."""


class Registry(Generic[T]):
    """The extensions of one kind (brokers, feeds, ...), in registration order.

    `names()` is what config validation and command-line choices accept; `load(name)` imports and
    returns the registered factory. `register` adds an entry (a plugin, or a test's throwaway one).
    """

    def __init__(self, kind: str, entries: tuple[Extension, ...]) -> None:
        self.kind = kind
        self._entries: dict[str, Extension] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: Extension) -> None:
        """Add `entry`; a name already registered is a ValueError (no silent replacement)."""
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is already registered")
        if ":" not in entry.target:
            raise ValueError(f"{self.kind} {entry.name!r}: target must be 'module:attr'")
        self._entries[entry.name] = entry

    def unregister(self, name: str) -> None:
        """Remove the entry called `name` (a test's throwaway extension, when it is done)."""
        self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        """Every registered name, in registration order (the default first)."""
        return tuple(self._entries)

    def __iter__(self) -> Iterator[Extension]:
        return iter(tuple(self._entries.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def choices(self, sep: str = ", ") -> str:
        """The registered names as one string for messages, e.g. "paper, ib, robinhood"."""
        return sep.join(self._entries)

    def get(self, name: str) -> Extension:
        """The entry called `name`; `UnknownExtensionError` listing the registered names."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownExtensionError(
                f"unknown {self.kind} {name!r}; choose one of {self.choices()}"
            ) from None

    def check(self, name: str) -> str:
        """`name` if it is registered (a pydantic validator); else `UnknownExtensionError`."""
        self.get(name)
        return name

    def load(self, name: str) -> T:
        """Import and return the factory registered as `name`.

        `ExtensionUnavailableError` says what is missing and, when the entry needs an optional
        dependency group, how to install it.
        """
        entry = self.get(name)
        module_name, _, attr = entry.target.partition(":")
        try:
            module = importlib.import_module(module_name)
            return cast("T", getattr(module, attr))
        except (ImportError, AttributeError) as exc:
            hint = f" (install it with: pip install 'robo-tui[{entry.extra}]')" if entry.extra else ""
            raise ExtensionUnavailableError(
                f"{self.kind} {name!r} is unavailable: {exc}{hint}"
            ) from exc
