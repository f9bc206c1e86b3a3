"""One registry per extension point: brokers, feeds, news sources, analysts and strategies.

Each is a table of `Extension` entries naming where the implementation lives ("module:attr"),
so this package imports no adapter and no engine module: config, the command line, the engine
and the wiring may all import it. Risk rules (`robo_tui.engine.risk_rules.RISK_RULES`) and panes
(`robo_tui.ui.panes`) keep their own tables next to what they hold.
"""

from __future__ import annotations

from robo_tui.registries.base import (
    Extension,
    ExtensionUnavailableError,
    Registry,
    UnknownExtensionError,
)

__all__ = ["Extension", "ExtensionUnavailableError", "Registry", "UnknownExtensionError"]
