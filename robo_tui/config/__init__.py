"""Settings: the models mirroring `config.example.toml`, loading them, and printing them back.

`models` holds the pydantic models (one per TOML section, an attribute docstring per field),
`loading` reads file < secrets file < environment into them, `rendering` prints them with
secrets redacted. Import from here: `from robo_tui.config import Settings, load_settings`.

The names resolve on first use (PEP 562), so a strategy module may import
`robo_tui.config.sections` for its settings base while `models` is deriving the `[strategies]`
table from the strategy registry, without an import cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robo_tui.config.fields import (
        ENV_NESTED_DELIMITER,
        ENV_PREFIX,
        RESERVED_ENV_VARS,
        SECRETS_FILE_ENV,
        SECRETS_FILE_NAME,
    )
    from robo_tui.config.loading import (
        APP_NAME,
        ConfigError,
        default_config_path,
        default_data_dir,
        load_settings,
        resolve_config_path,
    )
    from robo_tui.config.models import (
        AnalystSettings,
        BrokerSettings,
        EngineSettings,
        EnsembleSettings,
        FeedSettings,
        IbSettings,
        InstrumentSettings,
        NewsSettings,
        NewsSourceSettings,
        PaperCostSettings,
        ReportSettings,
        RiskSettings,
        RobinhoodCryptoSettings,
        RobinhoodSettings,
        SessionSettings,
        Settings,
        SizingSettings,
        StorageSettings,
        StrategiesSettings,
        UiSettings,
        UniverseSettings,
    )
    from robo_tui.config.rendering import (
        REDACTED,
        redacted_dict,
        render_toml,
    )
    from robo_tui.config.sections import (
        Section,
        StrategySettings,
    )

_HOMES: dict[str, str] = {
    "ENV_NESTED_DELIMITER": "fields",
    "ENV_PREFIX": "fields",
    "RESERVED_ENV_VARS": "fields",
    "SECRETS_FILE_ENV": "fields",
    "SECRETS_FILE_NAME": "fields",
    "APP_NAME": "loading",
    "ConfigError": "loading",
    "default_config_path": "loading",
    "default_data_dir": "loading",
    "load_settings": "loading",
    "resolve_config_path": "loading",
    "AnalystSettings": "models",
    "BrokerSettings": "models",
    "EngineSettings": "models",
    "EnsembleSettings": "models",
    "FeedSettings": "models",
    "IbSettings": "models",
    "InstrumentSettings": "models",
    "NewsSettings": "models",
    "NewsSourceSettings": "models",
    "PaperCostSettings": "models",
    "RiskSettings": "models",
    "SessionSettings": "models",
    "RobinhoodCryptoSettings": "models",
    "RobinhoodSettings": "models",
    "Settings": "models",
    "SizingSettings": "models",
    "ReportSettings": "models",
    "StorageSettings": "models",
    "StrategiesSettings": "models",
    "UniverseSettings": "models",
    "UiSettings": "models",
    "Section": "sections",
    "StrategySettings": "sections",
    "REDACTED": "rendering",
    "redacted_dict": "rendering",
    "render_toml": "rendering",
}
"""Which submodule defines each exported name."""



def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "APP_NAME",
    "ENV_NESTED_DELIMITER",
    "ENV_PREFIX",
    "REDACTED",
    "RESERVED_ENV_VARS",
    "SECRETS_FILE_ENV",
    "SECRETS_FILE_NAME",
    "AnalystSettings",
    "BrokerSettings",
    "ConfigError",
    "EngineSettings",
    "EnsembleSettings",
    "FeedSettings",
    "IbSettings",
    "InstrumentSettings",
    "NewsSettings",
    "NewsSourceSettings",
    "PaperCostSettings",
    "ReportSettings",
    "RiskSettings",
    "RobinhoodCryptoSettings",
    "RobinhoodSettings",
    "Section",
    "SessionSettings",
    "Settings",
    "SizingSettings",
    "StorageSettings",
    "StrategiesSettings",
    "StrategySettings",
    "UiSettings",
    "UniverseSettings",
    "default_config_path",
    "default_data_dir",
    "load_settings",
    "redacted_dict",
    "render_toml",
    "resolve_config_path",
]
