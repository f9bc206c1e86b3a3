"""Settings: pydantic models mirroring `config.example.toml` section by section.

Unknown keys and out-of-range values are errors. Secrets come only from the environment
(`ROBO_TUI_...`, `__` nesting) or from a secrets file that must be mode 0600.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import stat
import types
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import date, datetime, time
from enum import Enum
from inspect import isclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from robo_tui.domain.market import AssetClass, Instrument
from robo_tui.domain.risk import Mode


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, docstrings document fields."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, validate_default=True)


class EngineSettings(Section):
    mode: Mode = Mode.PAPER
    """Trading mode: paper, semi-auto, auto or live. Live also needs `live_enabled` and --confirm-live."""
    live_enabled: bool = False
    """Must be true (and the command line must carry --confirm-live) before live mode starts."""
    cycle_seconds: float = Field(5.0, gt=0, le=86400)
    """Seconds between engine cycles when running continuously."""
    warmup_bars: int = Field(300, ge=50, le=100_000)
    """Bars of history loaded per symbol before the first cycle."""
    proposal_ttl_seconds: float = Field(300.0, gt=0, le=86400)
    """In semi-auto mode, a pending proposal expires after this many seconds."""
    review_time: str = Field("21:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """UTC time of day (HH:MM) at which the daily review of past ideas runs."""


class InstrumentSettings(Section):
    symbol: str = Field(min_length=1, max_length=20, pattern=r"^[A-Z0-9.\-]+$")
    """Ticker as the broker knows it (upper-case ASCII), e.g. AAPL or BTC-USD."""
    asset_class: AssetClass = AssetClass.STOCK
    """stock or crypto (crypto trades 24/7 in fractional quantities)."""
    sector: str = "unknown"
    """Sector used by the sector-exposure limit."""
    name: str = ""
    """Company or coin name, used to map news to the symbol."""
    aliases: list[str] = Field(default_factory=list)
    """Other names the news may use (brands, coin names)."""

    def to_instrument(self) -> Instrument:
        """The domain value for this symbol."""
        return Instrument(self.symbol, self.asset_class, self.sector, self.name, tuple(self.aliases))


def _default_universe() -> list[InstrumentSettings]:
    rows = [
        ("AAPL", AssetClass.STOCK, "Technology", "Apple", ["Apple Inc", "iPhone"]),
        ("MSFT", AssetClass.STOCK, "Technology", "Microsoft", ["Microsoft Corp", "Azure"]),
        ("NVDA", AssetClass.STOCK, "Technology", "Nvidia", ["NVIDIA Corp"]),
        ("AMZN", AssetClass.STOCK, "Consumer", "Amazon", ["Amazon.com", "AWS"]),
        ("JPM", AssetClass.STOCK, "Financials", "JPMorgan", ["JPMorgan Chase"]),
        ("XOM", AssetClass.STOCK, "Energy", "Exxon Mobil", ["ExxonMobil", "Exxon"]),
        ("BTC-USD", AssetClass.CRYPTO, "Crypto", "Bitcoin", ["BTC", "XBT"]),
        ("ETH-USD", AssetClass.CRYPTO, "Crypto", "Ethereum", ["ETH", "Ether"]),
    ]
    return [InstrumentSettings(symbol=s, asset_class=a, sector=sec, name=n, aliases=al)
            for s, a, sec, n, al in rows]


class UniverseSettings(Section):
    instruments: list[InstrumentSettings] = Field(default_factory=_default_universe, min_length=1)
    """The symbols the engine may trade: the risk gate's allow-list."""

    @model_validator(mode="after")
    def _unique(self) -> UniverseSettings:
        seen: set[str] = set()
        for inst in self.instruments:
            if inst.symbol in seen:
                raise ValueError(f"symbol {inst.symbol} is listed twice")
            seen.add(inst.symbol)
        return self

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.instruments]


class FeedSettings(Section):
    kind: Literal["sim", "replay"] = "sim"
    """sim: the seeded simulated market (labelled SIMULATED); replay: OHLCV files."""
    seed: int = 42
    """Seed of the simulated market (same seed, same prices)."""
    bar_seconds: int = Field(60, ge=1, le=86400)
    """Length of one bar in seconds."""
    quote_seconds: float = Field(1.0, gt=0, le=3600)
    """Seconds between streaming quotes in the console."""
    replay_path: Path | None = None
    """replay: a CSV/Parquet file (long table with a symbol column) or a folder of per-symbol files."""


class SmaCrossSettings(Section):
    enabled: bool = True
    """Whether this strategy votes."""
    weight: float = Field(1.0, ge=0, le=10)
    """Its weight in the ensemble."""
    fast: int = Field(10, ge=2, le=1000)
    """Fast moving-average window (bars)."""
    slow: int = Field(20, ge=3, le=5000)
    """Slow moving-average window (bars)."""

    @model_validator(mode="after")
    def _ordered(self) -> SmaCrossSettings:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class MeanReversionSettings(Section):
    enabled: bool = True
    """Whether this strategy votes."""
    weight: float = Field(1.0, ge=0, le=10)
    """Its weight in the ensemble."""
    rsi_window: int = Field(14, ge=2, le=500)
    """RSI window (bars)."""
    rsi_oversold: float = Field(30.0, ge=1, le=50)
    """RSI at or below which the market is oversold (long setup)."""
    rsi_overbought: float = Field(70.0, ge=50, le=99)
    """RSI at or above which the market is overbought (short setup)."""
    bb_window: int = Field(20, ge=2, le=500)
    """Bollinger band window (bars)."""
    bb_dev: float = Field(2.0, gt=0, le=5)
    """Bollinger band width in standard deviations."""
    adx_window: int = Field(14, ge=2, le=500)
    """ADX window for the regime filter."""
    adx_max: float = Field(25.0, gt=0, le=100)
    """Only trade reversion while ADX is below this (a ranging, not trending, market)."""


class BreakoutSettings(Section):
    enabled: bool = True
    """Whether this strategy votes."""
    weight: float = Field(1.0, ge=0, le=10)
    """Its weight in the ensemble."""
    lookback: int = Field(55, ge=2, le=5000)
    """Channel length for the breakout (bars)."""
    exit_lookback: int = Field(20, ge=2, le=5000)
    """Shorter channel whose opposite side ends the move (bars)."""


class StrategiesSettings(Section):
    sma_cross: SmaCrossSettings = Field(default_factory=SmaCrossSettings)
    """SMA crossover: long after the fast average crosses above the slow one, short below."""
    mean_reversion: MeanReversionSettings = Field(default_factory=MeanReversionSettings)
    """RSI/Bollinger mean reversion, only in ranging regimes (ADX filter)."""
    breakout: BreakoutSettings = Field(default_factory=BreakoutSettings)
    """Donchian momentum/breakout."""


class EnsembleSettings(Section):
    threshold: float = Field(0.3, ge=0, le=1)
    """|weighted score| needed to want a position; below it the ensemble wants flat."""
    analyst_weight: float = Field(1.0, ge=0, le=10)
    """Weight of analyst ideas as a voter beside the strategies."""
    idea_ttl_seconds: float = Field(3600.0, gt=0)
    """How long an analyst idea keeps voting after it was made."""


class RiskSettings(Section):
    max_position_pct: float = Field(0.10, gt=0, le=5)
    """Largest position as a fraction of equity."""
    max_sector_pct: float = Field(0.30, gt=0, le=10)
    """Largest gross exposure in one sector as a fraction of equity."""
    max_gross_exposure_pct: float = Field(1.0, gt=0, le=10)
    """Largest gross exposure (sum of absolute position values) as a fraction of equity."""
    daily_loss_reduce_pct: float = Field(0.02, gt=0, le=1)
    """Day loss (fraction of start-of-day equity) at which the gate goes REDUCING."""
    daily_loss_halt_pct: float = Field(0.03, gt=0, le=1)
    """Day loss at which the gate goes HALTED (latched)."""
    max_risk_per_trade_pct: float = Field(0.01, gt=0, le=1)
    """Largest loss to the stop on one entry, as a fraction of equity."""
    max_positions: int = Field(3, ge=1, le=1000)
    """Most positions held at once."""
    max_correlation: float = Field(0.7, gt=0, le=1)
    """Largest return correlation between a new position and any held one."""
    correlation_window: int = Field(60, ge=10, le=5000)
    """Bars of returns used for the correlation check."""
    min_confidence: float = Field(0.2, ge=0, le=1)
    """Entries with lower confidence are denied."""
    cooldown_after_exit_seconds: float = Field(300.0, ge=0)
    """No new entry in a symbol for this long after leaving it."""
    cooldown_after_loss_seconds: float = Field(1800.0, ge=0)
    """No new entry in a symbol for this long after a losing exit."""
    max_drawdown_pct: float = Field(0.10, gt=0, le=1)
    """Drawdown from the equity peak at which the gate goes HALTED (latched)."""
    max_order_notional: float = Field(25_000.0, gt=0)
    """Largest notional of one order (paper and auto)."""
    max_live_order_notional: float = Field(5_000.0, gt=0)
    """Largest notional of one order in live mode (the smaller cap applies)."""
    max_orders_per_minute: int = Field(10, ge=1, le=10_000)
    """Order rate limit."""
    circuit_breaker_failures: int = Field(5, ge=1, le=1000)
    """Consecutive data/model/broker failures that halt trading."""
    require_stops: bool = True
    """Every entry must carry a stop-loss and a take-profit."""
    allow_short: bool = True
    """Allow short entries (only where the broker supports them)."""

    @model_validator(mode="after")
    def _ordered(self) -> RiskSettings:
        if self.daily_loss_halt_pct < self.daily_loss_reduce_pct:
            raise ValueError("daily_loss_halt_pct must be at least daily_loss_reduce_pct")
        return self


class SizingSettings(Section):
    method: Literal["fixed_fractional", "kelly", "all_in"] = "fixed_fractional"
    """fixed_fractional: risk a fraction of equity to the stop; kelly: fractional Kelly from the
    measured win rate and payoff; all_in: all available cash in whole units (backtest comparison)."""
    risk_per_trade_pct: float = Field(0.01, gt=0, le=1)
    """Fraction of equity risked to the stop on one entry."""
    stop_atr_multiple: float = Field(2.0, gt=0, le=50)
    """Stop distance in ATRs."""
    atr_window: int = Field(14, ge=2, le=500)
    """ATR window (bars)."""
    reward_risk: float = Field(2.0, gt=0, le=50)
    """Take-profit distance as a multiple of the stop distance."""
    kelly_fraction: float = Field(0.25, gt=0, le=1)
    """Fraction of the full Kelly bet."""
    kelly_cap_pct: float = Field(0.02, gt=0, le=1)
    """Kelly risk is never more than this fraction of equity."""
    kelly_min_trades: int = Field(20, ge=1)
    """Closed trades needed before Kelly is trusted (fixed-fractional until then)."""
    conviction_scaling: bool = True
    """Scale size by the signal's confidence."""
    attach_stops: bool = True
    """Attach the sized stop-loss and take-profit to every entry (needs risk.require_stops off
    to disable; backtest verification runs disable it, as backtesting.py has no stops)."""


class IbSettings(Section):
    host: str = "127.0.0.1"
    """TWS / IB Gateway host."""
    port: int = Field(7497, ge=1, le=65535)
    """7497 paper TWS, 7496 live TWS, 4002/4001 IB Gateway."""
    client_id: int = Field(17, ge=0)
    """API client id."""
    account: str = ""
    """Account id (empty: the only account)."""
    timeout_seconds: float = Field(10.0, gt=0)
    """Connect and request timeout."""


class RobinhoodSettings(Section):
    username: SecretStr | None = None
    """Login (secret: environment or secrets file only)."""
    password: SecretStr | None = None
    """Password (secret: environment or secrets file only)."""
    mfa_totp_secret: SecretStr | None = None
    """TOTP seed for two-factor login (secret)."""
    timeout_seconds: float = Field(15.0, gt=0)
    """Request timeout."""


class BrokerSettings(Section):
    kind: Literal["paper", "ib", "robinhood"] = "paper"
    """paper (default, simulated fills), ib (Interactive Brokers) or robinhood."""
    starting_cash: float = Field(100_000.0, gt=0)
    """Paper account's starting cash."""
    ib: IbSettings = Field(default_factory=IbSettings)
    """Interactive Brokers connection."""
    robinhood: RobinhoodSettings = Field(default_factory=RobinhoodSettings)
    """Robinhood login."""


class PaperCostSettings(Section):
    slippage_bps: float = Field(2.0, ge=0, le=1000)
    """Slippage against the trader, in basis points of the fill price."""
    fee_per_share: float = Field(0.0, ge=0)
    """Fee per unit traded."""
    fee_pct: float = Field(0.0, ge=0, le=0.1)
    """Fee as a fraction of traded value."""
    fee_min: float = Field(0.0, ge=0)
    """Minimum fee per fill."""
    fill: Literal["quote", "next_open"] = "quote"
    """quote: fill at the current quote (streaming); next_open: at the next bar's open."""


class AnalystSettings(Section):
    provider: Literal["rules", "ollama", "openai", "anthropic", "auto"] = "rules"
    """Which analyst proposes ideas. rules is offline and deterministic."""
    model: str = ""
    """Model name for the chosen provider (empty: the provider's default or policy)."""
    ollama_host: str = ""
    """Ollama server URL (empty: OLLAMA_HOST, else http://127.0.0.1:11434)."""
    openai_api_key: SecretStr | None = None
    """OpenAI key (secret: environment or secrets file only)."""
    anthropic_api_key: SecretStr | None = None
    """Anthropic key (secret: environment or secrets file only)."""
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    """Per-call timeout."""
    max_concurrency: int = Field(2, ge=1, le=64)
    """Analyst calls in flight at once."""
    max_output_tokens: int = Field(4096, ge=256, le=65_536)
    """Most tokens a model may write per call (reasoning models count their thinking here)."""
    transport_retries: int = Field(1, ge=0, le=5)
    """SDK retries of a failed HTTP request (429/5xx/connection), within the call timeout."""
    ollama_priority: list[str] = Field(
        default_factory=lambda: ["deepseek-r1", "qwen2.5", "llama3.3:70b", "llama3.1:8b", "*"]
    )
    """Ollama model preference, best first: a name prefix ("qwen2.5"), a name with a tag
    ("llama3.3:70b") or "*" for any. Within one entry the largest model that fits wins."""
    ollama_memory_budget_gb: float = Field(0.0, ge=0)
    """Memory the Ollama model may use (GB); larger models are skipped (0: no limit)."""
    ollama_keep_alive: str = "10m"
    """How long Ollama keeps the model loaded after a call (e.g. "10m", "1h", "0")."""
    ollama_num_ctx: int = Field(8192, ge=512, le=262_144)
    """Context window (tokens) requested from Ollama; prompts are built to fit it."""
    ollama_screen_model: str = ""
    """Two-stage mode: the fast model that screens (empty: the smallest installed model)."""
    two_stage: bool = False
    """Ollama: a fast model screens each request; only the short list reaches the best model."""
    downgrade_latency_ms: float = Field(20_000.0, gt=0)
    """Ollama: median latency above which the policy moves to a smaller model."""
    downgrade_error_rate: float = Field(0.5, gt=0, le=1)
    """Ollama: share of failed recent calls above which the policy moves to a smaller model."""
    openai_model: str = "gpt-5"
    """OpenAI model used when `model` is empty."""
    openai_base_url: str = ""
    """OpenAI-compatible API base URL (empty: the SDK default, https://api.openai.com/v1)."""
    anthropic_model: str = "claude-sonnet-4-6"
    """Anthropic model used when `model` is empty."""
    anthropic_base_url: str = ""
    """Anthropic API base URL (empty: the SDK default, https://api.anthropic.com)."""
    cloud_allowed: bool = False
    """auto: may news and market context be sent to a cloud provider whose key is configured."""
    auto_order: list[Literal["openai", "anthropic", "ollama", "rules"]] = Field(
        default_factory=lambda: ["openai", "anthropic", "ollama", "rules"]  # type: ignore[arg-type]
    )
    """auto: the providers to try, best first; rules should stay last as the offline floor."""
    circuit_breaker_failures: int = Field(3, ge=1, le=100)
    """auto: consecutive failures after which a provider is not called for a cool-down."""
    circuit_breaker_cooldown_seconds: float = Field(300.0, gt=0)
    """auto: seconds a tripped provider rests before one trial call."""
    rules_min_score: float = Field(0.15, ge=0, le=1)
    """rules: the rules analyst abstains when its |score| is below this."""


class NewsSourceSettings(Section):
    name: str
    """Label of the source."""
    kind: Literal["rss", "json"] = "rss"
    """rss: RSS/Atom URL or file; json: a JSON news API."""
    url: str
    """URL or local path."""
    enabled: bool = True
    """Whether it is polled."""
    credibility: float = Field(0.5, ge=0, le=1)
    """How much its news moves the impact score."""
    api_key: SecretStr | None = None
    """json: API key sent in the X-Api-Key header (secret: environment or secrets file only)."""
    api_key_env: str = ""
    """json: name of an environment variable that holds the API key (e.g. NEWSAPI_KEY)."""


class NewsSettings(Section):
    sample: bool = True
    """Use the bundled sample feed (plainly marked sample data) when no other source is enabled."""
    poll_seconds: float = Field(60.0, gt=0)
    """Seconds between polls of each source."""
    sources: list[NewsSourceSettings] = Field(default_factory=list)
    """Extra sources."""
    urgent_impact: float = Field(0.7, ge=0, le=1)
    """Events at or above this impact are analysed at once instead of at the next cycle."""
    analyze_min_impact: float = Field(0.25, ge=0, le=1)
    """Events below this impact are stored and shown but not sent to an analyst."""
    freshness_half_life_hours: float = Field(6.0, gt=0, le=720)
    """A story's freshness (and so its impact) halves every this many hours."""
    dedup_similarity: float = Field(0.6, gt=0, le=1)
    """Headlines at least this similar (shared words) are one story told twice."""
    dedup_window_hours: float = Field(48.0, gt=0, le=720)
    """Only stories published within this many hours of each other can be duplicates."""
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    """HTTP timeout of one fetch."""
    max_backoff_seconds: float = Field(900.0, gt=0, le=86400)
    """Longest wait before a failing source is tried again (the wait doubles per failure)."""


class StorageSettings(Section):
    data_dir: Path | None = None
    """Folder for the database and logs (default: the user data dir)."""


class UiSettings(Section):
    theme: str = "robo-dark"
    """Console theme (a file in themes/)."""


class Settings(Section):
    """The whole configuration."""

    engine: EngineSettings = Field(default_factory=EngineSettings)
    """Trading mode and cycle timing."""
    universe: UniverseSettings = Field(default_factory=UniverseSettings)
    """The symbols the engine watches and may trade."""
    feeds: FeedSettings = Field(default_factory=FeedSettings)
    """Where market data comes from: the simulated market or OHLCV replay."""
    strategies: StrategiesSettings = Field(default_factory=StrategiesSettings)
    """The rule-based strategies that vote in the ensemble."""
    ensemble: EnsembleSettings = Field(default_factory=EnsembleSettings)
    """How strategy and analyst votes combine into a wanted position."""
    risk: RiskSettings = Field(default_factory=RiskSettings)
    """Limits of the one risk gate every order passes."""
    sizing: SizingSettings = Field(default_factory=SizingSettings)
    """How big an allowed entry is."""
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    """Where allowed orders go."""
    paper: PaperCostSettings = Field(default_factory=PaperCostSettings)
    """Costs and fill rules of the paper broker."""
    analysts: AnalystSettings = Field(default_factory=AnalystSettings)
    """The analyst that turns news into trade ideas."""
    news: NewsSettings = Field(default_factory=NewsSettings)
    """News sources."""
    storage: StorageSettings = Field(default_factory=StorageSettings)
    """Where the database and logs live."""
    ui: UiSettings = Field(default_factory=UiSettings)
    """The console."""


# --------------------------------------------------------------------------------------------
# Loading: TOML file < secrets file < environment, validated once, every problem reported.
# --------------------------------------------------------------------------------------------

APP_NAME = "robo-tui"
ENV_PREFIX = "ROBO_TUI_"
ENV_NESTED_DELIMITER = "__"
SECRETS_FILE_ENV = "ROBO_TUI_SECRETS_FILE"
"""Environment variable naming the secrets file explicitly."""
SECRETS_FILE_NAME = "secrets.toml"
RESERVED_ENV_VARS = frozenset(
    {SECRETS_FILE_ENV, "ROBO_TUI_CONFIG", "ROBO_TUI_DATA_DIR", "ROBO_TUI_LOG_LEVEL"}
)
"""`ROBO_TUI_*` variables that are not settings; any other unknown `ROBO_TUI_*` is an error."""
REDACTED = "********"
"""How a secret that is set is shown by `redacted_dict` and `render_toml`."""


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
        problems += _secrets_in_config(file_data, path)

    secrets_path = _secrets_file_path(path, env)
    secrets_source: PydanticBaseSettingsSource | None = None
    secrets_data: dict[str, Any] = {}
    if secrets_path is not None:
        _check_secrets_file_mode(secrets_path)
        secrets_data = _toml_source(secrets_path).toml_data
        problems += _non_secrets_in_secrets_file(secrets_data, secrets_path)
        # Secrets of list items (a news source's key) join the config's item of the same name.
        merged, merge_problems = _merge_named_items(secrets_data, file_data, (), secrets_path)
        problems += merge_problems
        secrets_source = InitSettingsSource(_SettingsLoader, merged)

    problems += _unknown_env_vars(env)
    env_source = _EnvironSource(_SettingsLoader, env)
    try:
        env_data = env_source()
    except SettingsError as exc:
        raise ConfigError(problems + [f"environment: {exc}"]) from None

    sources: list[PydanticBaseSettingsSource] = [env_source]
    origins: list[_Origin] = [_Origin("environment", env_data, is_env=True)]
    if secrets_source is not None and secrets_path is not None:
        sources.append(secrets_source)
        origins.append(_Origin(str(secrets_path), secrets_data, is_secrets=True))
    if file_source is not None:
        sources.append(file_source)
        origins.append(_Origin(str(path), file_data))

    token = _LOAD_SOURCES.set(tuple(sources))
    try:
        loaded = _SettingsLoader()
    except ValidationError as exc:
        problems += [_describe(err, origins) for err in exc.errors(include_url=False)]
        raise ConfigError(problems) from None
    finally:
        _LOAD_SOURCES.reset(token)
    if problems:
        raise ConfigError(problems)
    # The loader's field values are already validated Settings sections; re-wrap, no re-validation.
    return Settings.model_construct(
        _fields_set=set(loaded.model_fields_set),
        **{name: getattr(loaded, name) for name in Settings.model_fields},
    )


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


def _toml_source(path: Path) -> TomlConfigSettingsSource:
    try:
        return TomlConfigSettingsSource(_SettingsLoader, toml_file=path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(_describe_toml_error(path, str(exc))) from None


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


# --- walking the models ----------------------------------------------------------------------


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The config model inside a field's annotation, and whether it is a list of them."""
    if isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple, Sequence):
        for arg in args:
            model, _ = _nested_model(arg)
            if model is not None:
                return model, True
    elif origin in (Union, types.UnionType):
        for arg in args:
            model, is_list = _nested_model(arg)
            if model is not None:
                return model, is_list
    return None, False


def _is_secret(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret(arg) for arg in get_args(annotation))


def _holds_secret(annotation: Any) -> bool:
    """Whether the field is a secret or a section with a secret somewhere inside."""
    if _is_secret(annotation):
        return True
    model, _ = _nested_model(annotation)
    return model is not None and any(_holds_secret(f.annotation) for f in model.model_fields.values())


def _secret_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Dotted paths of every secret field; "*" stands for each item of a list."""
    for name, info in model.model_fields.items():
        path = prefix + (name,)
        if _is_secret(info.annotation):
            yield path
            continue
        sub, is_list = _nested_model(info.annotation)
        if sub is not None:
            yield from _secret_paths(sub, path + ("*",) if is_list else path)


def _locate(data: Any, pattern: tuple[str, ...], at: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where a field path (with "*" for list items) is present in raw TOML data."""
    if not pattern:
        yield at
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from _locate(item, rest, at + (i,))
    elif isinstance(data, dict) and head in data:
        yield from _locate(data[head], rest, at + (head,))


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The config model that holds the keys at `loc` (None when `loc` is not a section)."""
    model: type[BaseModel] | None = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model, _ = _nested_model(model.model_fields[part].annotation)
    return model


def _field_at(loc: Sequence[str | int]) -> FieldInfo | None:
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return None
    model = _model_at(names[:-1])
    return None if model is None else model.model_fields.get(names[-1])


def _is_secret_loc(loc: Sequence[str | int]) -> bool:
    names: list[str | int] = []
    for part in loc:
        names.append(part)
        if isinstance(part, str):
            field = _field_at(names)
            if field is not None and _is_secret(field.annotation):
                return True
    return False


def _env_name(loc: Sequence[str | int]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        parts.append(part.upper())
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(parts)


def _env_names(model: type[BaseModel] = Settings, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    for name, info in model.model_fields.items():
        path = prefix + (name,)
        sub, is_list = _nested_model(info.annotation)
        if sub is not None and not is_list:
            yield from _env_names(sub, path)
        else:
            yield _env_name(path)


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


# --- checks and messages ---------------------------------------------------------------------


class _Origin:
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


def _secrets_in_config(data: dict[str, Any], path: Path) -> list[str]:
    problems = []
    for pattern in _secret_paths(Settings):
        for loc in _locate(data, pattern):
            if any(isinstance(part, int) for part in loc):
                where = (
                    f"put it in the 0600 secrets file ({SECRETS_FILE_NAME} beside the config, or "
                    f"{SECRETS_FILE_ENV}) in a [[{_dotted(_list_loc(loc))}]] table with the same "
                    "`name`"
                )
            else:
                where = (
                    f"set the environment variable {_env_name(loc)} or put it in the 0600 "
                    f"secrets file ({SECRETS_FILE_NAME} beside the config, or {SECRETS_FILE_ENV})"
                )
            problems.append(
                f"{path}: {_dotted(loc)}: secrets are not allowed in the config file; "
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


def _merge_named_items(
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
            merged[key], inner = _merge_named_items(value, here, at + (key,), path)
            problems += inner
        elif (isinstance(value, list) and all(isinstance(v, dict) for v in value)
              and isinstance(here, list)):
            items = [dict(item) if isinstance(item, dict) else item for item in here]
            by_name = {item.get("name"): item for item in items if isinstance(item, dict)}
            for n, secret_item in enumerate(value):
                target = by_name.get(secret_item.get("name"))
                if target is None:
                    problems.append(
                        f"{path}: {_dotted(at + (key, n))}: no item named "
                        f"{secret_item.get('name')!r} in the config file's [[{'.'.join(at + (key,))}]]"
                    )
                else:
                    target.update(secret_item)
            merged[key] = items
        else:
            merged[key] = value
    return merged, problems


def _non_secrets_in_secrets_file(data: dict[str, Any], path: Path) -> list[str]:
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
            if not _holds_secret(field.annotation):
                problems.extend(
                    f"{path}: {_dotted(leaf)}: not a secret; only secrets belong in the secrets "
                    "file, set it in the config file"
                    for leaf in leaves(value, loc)
                )
                continue
            sub, is_list = _nested_model(field.annotation)
            if sub is not None and not is_list and isinstance(value, dict):
                walk(value, sub, loc)

    walk(data, Settings, ())
    return problems


def _unknown_env_vars(env: Mapping[str, str]) -> list[str]:
    problems = []
    known: list[str] | None = None
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in RESERVED_ENV_VARS:
            continue
        section = upper[len(ENV_PREFIX):].split(ENV_NESTED_DELIMITER)[0].lower()
        if section in Settings.model_fields:
            continue  # deeper typos are reported by validation
        known = known if known is not None else list(_env_names())
        problems.append(f"environment: {name}: unknown setting{_suggest(upper, known)}")
    return problems


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe(error: Mapping[str, Any], origins: Sequence[_Origin]) -> str:
    """One line for one validation error: where it came from, the dotted key, the reason."""
    loc: tuple[str | int, ...] = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
    best: _Origin | None = None
    best_depth = 0
    for origin in origins:  # highest priority first; the deepest match names the source
        depth = origin.depth(loc)
        if depth > best_depth:
            best, best_depth = origin, depth
    key = _dotted(loc) or "(top level)"

    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        name = str(loc[-1]) if loc else ""
        if best is not None and best.is_env:
            candidates = [n for n in _env_names() if n.startswith(_env_name(loc[:-1]))]
            reason = "unknown setting" + _suggest(_env_name(loc), candidates)
        else:
            candidates = list(parent.model_fields) if parent is not None else []
            reason = "unknown key" + _suggest(name, candidates)
    elif kind == "missing":
        reason = "required key is missing"
    else:
        reason = str(error["msg"]).removeprefix("Value error, ")
        shown = error.get("input")
        secret = _is_secret_loc(loc) or (best is not None and best.is_secrets)
        if not secret and isinstance(shown, (str, int, float, bool, date, time)):
            text = repr(shown)
            reason += f" (got {text if len(text) <= 60 else text[:57] + '...'})"

    if best is None:
        return f"built-in defaults: {key}: {reason}"
    if best.is_env:
        return f"environment: {_env_name(loc)} ({key}): {reason}"
    return f"{best.label}: {key}: {reason}"


# --- plain data and TOML output --------------------------------------------------------------


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
        sub, is_list = _nested_model(info.annotation)
        if sub is not None and (is_list or isinstance(value, BaseModel)) and value is not None:
            tables.append((name, value, info, is_list))
            continue
        if comments:
            lines += _comment(info.description)
        key = _toml_key(name)
        if _is_secret(info.annotation):
            state = "set" if value is not None else "not set"
            if array:
                lines.append(f"# {key}: secret ({state}); put it in {SECRETS_FILE_NAME} (mode "
                             f"0600) in a [[{'.'.join(header)}]] table with the same name")
            else:
                lines.append(f"# {key}: secret ({state}); set {_env_name(header + (name,))} "
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
