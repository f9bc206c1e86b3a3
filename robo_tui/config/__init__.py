"""Settings: the models mirroring `config.example.toml`, loading them, and printing them back.

`models` holds the pydantic models (one per TOML section, an attribute docstring per field),
`loading` reads file < secrets file < environment into them, `rendering` prints them with
secrets redacted. Import from here: `from robo_tui.config import Settings, load_settings`.
"""

from __future__ import annotations

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
    BreakoutSettings,
    BrokerSettings,
    EngineSettings,
    EnsembleSettings,
    FeedSettings,
    IbSettings,
    InstrumentSettings,
    MeanReversionSettings,
    NewsSettings,
    NewsSourceSettings,
    PaperCostSettings,
    RiskSettings,
    RobinhoodCryptoSettings,
    RobinhoodSettings,
    Section,
    Settings,
    SizingSettings,
    SmaCrossSettings,
    StorageSettings,
    StrategiesSettings,
    StrategySettings,
    UiSettings,
    UniverseSettings,
)
from robo_tui.config.rendering import REDACTED, redacted_dict, render_toml

__all__ = [
    "APP_NAME",
    "ENV_NESTED_DELIMITER",
    "ENV_PREFIX",
    "REDACTED",
    "RESERVED_ENV_VARS",
    "SECRETS_FILE_ENV",
    "SECRETS_FILE_NAME",
    "AnalystSettings",
    "BreakoutSettings",
    "BrokerSettings",
    "ConfigError",
    "EngineSettings",
    "EnsembleSettings",
    "FeedSettings",
    "IbSettings",
    "InstrumentSettings",
    "MeanReversionSettings",
    "NewsSettings",
    "NewsSourceSettings",
    "PaperCostSettings",
    "RiskSettings",
    "RobinhoodCryptoSettings",
    "RobinhoodSettings",
    "Section",
    "Settings",
    "SizingSettings",
    "SmaCrossSettings",
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
