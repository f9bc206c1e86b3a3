"""What every extension-point registry is made of: a frozen entry per extension and a table of them.

An entry names where its implementation lives as a `"module:attr"` string, imported only when
that extension is built, so the paper default never loads a broker SDK or an LLM client. Config
validation and command-line choices read the names from the same table the wiring builds from
(`ui/commands.py`'s `ACTIONS` is the model).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
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


DISTRIBUTION = "robo-tui"
"""Our own distribution, whose metadata lists what each optional extra installs."""


def install_hint(extra: str | None) -> str:
    """How to install an optional extra, as the sentence error messages end with."""
    return f"install it with: pip install '{DISTRIBUTION}[{extra}]'" if extra else ""


@cache
def extra_requirements(extra: str) -> tuple[str, ...]:
    """The distributions our package metadata lists for `extra` (none when not installed as a
    distribution, e.g. run from a source tree)."""
    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    marker = re.compile(r"""extra\s*==\s*['"]""" + re.escape(extra) + """['"]""")
    names: list[str] = []
    for requirement in requires:
        spec, _, markers = requirement.partition(";")
        name = re.match(r"\s*([A-Za-z0-9._-]+)", spec)
        if name and marker.search(markers):
            names.append(name[1])
    return tuple(names)


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _module_found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


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

    def missing(self, name: str) -> str | None:
        """Why `name` cannot be built here (its module or its extra's packages are not installed),
        or None when it can; nothing is imported beyond the module's parent packages."""
        entry = self.get(name)
        module = entry.target.partition(":")[0]
        absent = [] if _module_found(module) else [module]
        if entry.extra:
            absent += [d for d in extra_requirements(entry.extra) if not _installed(d)]
        if not absent:
            return None
        what = f"needs the optional extra '{entry.extra}'" if entry.extra else "cannot be imported"
        hint = f"; {install_hint(entry.extra)}" if entry.extra else ""
        return f"{self.kind} {name!r} {what} ({', '.join(absent)} not installed){hint}"

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
            hint = f" ({install_hint(entry.extra)})" if entry.extra else ""
            raise ExtensionUnavailableError(
                f"{self.kind} {name!r} is unavailable: {exc}{hint}"
            ) from exc
