"""Settings: pydantic models mirroring `config.example.toml` section by section.

Unknown keys and out-of-range values are errors; each field's attribute docstring is its
documentation (rendered into `config.example.toml`). Loading lives in `loading`, the printout
in `rendering`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from robo_tui.config.ccxt_feed import CcxtFeedSettings
from robo_tui.config.ib_feed import IbFeedSettings
from robo_tui.config.numbers import (
    ExposureFraction,
    FeeFraction,
    Leverage,
    LossFraction,
)
from robo_tui.config.outbound import AlertSettings, LoggingSettings, TelegramSettings
from robo_tui.config.robinhood_feed import RobinhoodFeedSettings
from robo_tui.config.sections import Section, StrategySettings
from robo_tui.config.universe import DiscoverySettings
from robo_tui.config.yahoo_feed import YahooFeedSettings
from robo_tui.domain.market import AssetClass, Instrument
from robo_tui.domain.risk import Mode
from robo_tui.domain.ticks import TickRules
from robo_tui.registries.analysts import ANALYSTS, CHAIN
from robo_tui.registries.brokers import BROKERS
from robo_tui.registries.feeds import FEEDS
from robo_tui.registries.news import NEWS_SOURCES
from robo_tui.registries.strategies import STRATEGIES

# The names each `kind`/`provider` accepts are the registries' (robo_tui.registries), never a
# Literal written here a second time; an unknown name lists the registered ones.
FeedKind = Annotated[str, AfterValidator(FEEDS.check)]
BrokerKind = Annotated[str, AfterValidator(BROKERS.check)]
AnalystName = Annotated[str, AfterValidator(ANALYSTS.check)]
NewsSourceKind = Annotated[str, AfterValidator(NEWS_SOURCES.check)]


def _chain_member(name: str) -> str:
    if name == CHAIN:
        raise ValueError(f"{CHAIN!r} cannot be one of its own fallbacks")
    return name


ChainMember = Annotated[str, AfterValidator(ANALYSTS.check), AfterValidator(_chain_member)]


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
    discovery: DiscoverySettings = Field(default_factory=DiscoverySettings)
    """Universe discovery from the venue's markets (off: the listed instruments are the universe)."""

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
    kind: FeedKind = "sim"
    """sim: the seeded simulated market (labelled SIMULATED); replay: OHLCV files."""
    seed: int = Field(42, ge=0, le=2**32 - 1)
    """Seed of the simulated market (same seed, same prices)."""
    bar_seconds: int = Field(60, ge=1, le=86400)
    """Length of one bar in seconds."""
    quote_seconds: float = Field(1.0, gt=0, le=3600)
    """Seconds between streaming quotes in the console."""
    replay_path: Path | None = None
    """replay: a CSV/Parquet file (long table with a symbol column) or a folder of per-symbol files."""
    ccxt: CcxtFeedSettings = Field(default_factory=CcxtFeedSettings)
    """ccxt: public market data from a crypto exchange (no keys)."""
    stale_after_bars: float = Field(3.0, gt=0, le=10_000)
    """A symbol whose last bar or quote is older than this many bar intervals is STALE: no new
    entries in it until fresh data arrives."""
    ib: IbFeedSettings = Field(default_factory=IbFeedSettings)
    """ib: bars and quotes from TWS / IB Gateway (its own read-only connection)."""
    robinhood: RobinhoodFeedSettings = Field(default_factory=RobinhoodFeedSettings)
    """robinhood: stock quotes and history, crypto best bid/ask and history from Robinhood."""
    yahoo: YahooFeedSettings = Field(default_factory=YahooFeedSettings)
    """yahoo: delayed (~15 min) US stock bars and quotes from Yahoo Finance (no account)."""
    outlier_ratio: float = Field(10.0, gt=1, le=1000)
    """A print this many times above (or below 1/this of) the last accepted price is a bad tick,
    rejected with a logged reason (as are zero, negative or non-finite prices and crossed quotes)."""
    new_level_prints: int = Field(3, ge=1, le=1000)
    """Prints in a row at a new level (beyond outlier_ratio) after which it is accepted as real."""
    new_level_seconds: float = Field(300.0, ge=0, le=86_400)
    """Seconds a new level must hold (by the prints' timestamps) to be accepted as real."""
    backfill_bars: int = Field(1440, ge=0, le=100_000)
    """On reconnect after a gap, at most this many missing bars per symbol are fetched from the
    feed's history and fed in order before new live bars (0: no backfill; sim and replay never)."""

    def tick_rules(self) -> TickRules:
        """The bad-tick checker's rules from this section."""
        return TickRules(self.outlier_ratio, self.new_level_prints, self.new_level_seconds)

    @model_validator(mode="after")
    def _replay_exists(self) -> FeedSettings:
        # kind = "replay" without a path is a backtest's (its bars are handed over in memory)
        if self.replay_path is not None and not self.replay_path.expanduser().exists():
            raise ValueError(f"replay_path {str(self.replay_path)!r} does not exist")
        return self


class StrategiesSettings(Section):
    """The `[strategies]` table: one section per entry of the `STRATEGIES` registry.

    Each section is the strategy's own `settings_model` (a `StrategySettings` in the strategy's
    module: its parameters, `enabled`, `weight`). The fields are derived from the registry below,
    so a new strategy writes no config class; a strategy registered later (a plugin, a test) has
    its section validated by its own model when the settings are.
    """

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _registered_sections(self) -> StrategiesSettings:
        extra = self.__pydantic_extra__ or {}
        for name, raw in list(extra.items()):
            if name not in STRATEGIES:
                close = difflib.get_close_matches(name, STRATEGIES.names(), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {STRATEGIES.choices()}"
                raise ValueError(f"no strategy is registered as {name!r}; {hint}")
            model = strategy_settings_model(name)
            if not isinstance(raw, model):
                try:
                    extra[name] = model.model_validate(raw)
                except ValidationError as exc:
                    first = exc.errors(include_url=False)[0]
                    where = ".".join(str(p) for p in (name, *first["loc"]))
                    raise ValueError(f"{where}: {first['msg']}") from None
        return self

    def section(self, name: str) -> StrategySettings:
        """The `[strategies.<name>]` section (KeyError naming the known ones when there is none)."""
        value = getattr(self, name, None) if name in type(self).model_fields else (
            (self.__pydantic_extra__ or {}).get(name))
        if not isinstance(value, StrategySettings):
            raise KeyError(f"no [strategies.{name}] section; known: {', '.join(type(self).model_fields)}")
        return value


def strategy_settings_model(name: str) -> type[StrategySettings]:
    """The settings model of the registered strategy `name` (imports its module, which is cheap:
    strategy modules load numpy only, and pandas inside the functions that need it)."""
    model: type[StrategySettings] = STRATEGIES.load(name).settings_model
    return model


def _derive_strategies(base: type[StrategiesSettings]) -> type[StrategiesSettings]:
    """`base` with one field per registered strategy, the field's docstring its registry line."""
    fields: dict[str, Any] = {
        entry.name: (strategy_settings_model(entry.name),
                     Field(default_factory=strategy_settings_model(entry.name),
                           description=entry.description))
        for entry in STRATEGIES
    }
    derived: type[StrategiesSettings] = create_model(  # type: ignore[call-overload]
        base.__name__, __base__=base, __module__=base.__module__, __doc__=base.__doc__, **fields)
    return derived


if not TYPE_CHECKING:  # type checkers see the declared class; at run time, its derived subclass
    StrategiesSettings = _derive_strategies(StrategiesSettings)


class EnsembleSettings(Section):
    threshold: float = Field(0.3, ge=0, le=1)
    """|weighted score| needed to want a position; below it the ensemble wants flat."""
    analyst_weight: float = Field(1.0, ge=0, le=10)
    """Weight of analyst ideas as a voter beside the strategies."""
    idea_ttl_seconds: float = Field(3600.0, gt=0, le=7 * 86400)
    """How long an analyst idea keeps voting after it was made."""


class RiskSettings(Section):
    max_position_pct: ExposureFraction = 0.10
    """Largest position as a fraction of equity (0.10 is 10 %; at most 1)."""
    max_sector_pct: Leverage = 0.30
    """Largest gross exposure in one sector as a fraction of equity (0.30 is 30 %; at most 4, on
    margin)."""
    max_gross_exposure_pct: Leverage = 1.0
    """Largest gross exposure (sum of absolute position values) as a multiple of equity: 1.0 is
    fully invested, 2.0 is 2x on margin (at most 4)."""
    daily_loss_reduce_pct: LossFraction = 0.02
    """Day loss (fraction of start-of-day equity) at which the gate goes REDUCING."""
    daily_loss_halt_pct: LossFraction = 0.03
    """Day loss (fraction, 0.03 is 3 %) at which the gate goes HALTED (latched)."""
    max_risk_per_trade_pct: LossFraction = 0.01
    """Largest loss to the stop on one entry, as a fraction of equity."""
    max_positions: int = Field(3, ge=1, le=1000)
    """Most positions held at once."""
    max_correlation: float = Field(0.7, gt=0, le=1)
    """Largest return correlation between a new position and any held one."""
    correlation_window: int = Field(60, ge=10, le=5000)
    """Bars of returns used for the correlation check."""
    min_confidence: float = Field(0.2, ge=0, le=1)
    """Entries with lower confidence are denied."""
    cooldown_after_exit_seconds: float = Field(300.0, ge=0, le=30 * 86400)
    """No new entry in a symbol for this long after leaving it."""
    cooldown_after_loss_seconds: float = Field(1800.0, ge=0, le=30 * 86400)
    """No new entry in a symbol for this long after a losing exit."""
    max_drawdown_pct: LossFraction = 0.10
    """Drawdown from the equity peak at which the gate goes HALTED (latched)."""
    max_order_notional: float = Field(25_000.0, gt=0, le=1e12)
    """Largest notional of one order (paper and auto)."""
    max_live_order_notional: float = Field(5_000.0, gt=0, le=1e12)
    """Largest notional of one order in live mode (the smaller cap applies)."""
    max_live_orders_per_day: int = Field(10, ge=1, le=100_000)
    """Most orders sent per trading day (UTC) in live and shadow mode; past it only exits go out."""
    live_symbols: list[str] = Field(default_factory=list)
    """The only symbols live and shadow mode may enter (empty: every universe symbol)."""
    max_orders_per_minute: int = Field(10, ge=1, le=10_000)
    """Order rate limit."""
    circuit_breaker_failures: int = Field(5, ge=1, le=1000)
    """Consecutive data/model/broker failures that halt trading."""
    require_stops: bool = True
    """Every entry must carry a stop-loss and a take-profit."""
    allow_short: bool = True
    """Allow short entries (only where the broker supports them)."""
    marks_tolerance_pct: float = Field(0.02, gt=0, le=1)
    """Largest relative difference between the broker's mark and the feed's price for a held
    symbol (0.02 is 2 %); past it the symbol stops trading until they agree again."""

    @model_validator(mode="after")
    def _ordered(self) -> RiskSettings:
        if self.daily_loss_halt_pct < self.daily_loss_reduce_pct:
            raise ValueError("daily_loss_halt_pct must be at least daily_loss_reduce_pct")
        return self


class SizingSettings(Section):
    method: Literal["fixed_fractional", "kelly", "all_in"] = "fixed_fractional"
    """fixed_fractional: risk a fraction of equity to the stop; kelly: fractional Kelly from the
    measured win rate and payoff; all_in: all available cash in whole units (backtest comparison)."""
    risk_per_trade_pct: LossFraction = 0.01
    """Fraction of equity risked to the stop on one entry."""
    stop_atr_multiple: float = Field(2.0, gt=0, le=50)
    """Stop distance in ATRs."""
    atr_window: int = Field(14, ge=2, le=500)
    """ATR window (bars)."""
    atr_horizon_minutes: float = Field(60.0, ge=0, le=525_600)
    """ATR measured on bars shorter than this is scaled to it (by the square root of time), so a
    stop on 1-minute bars sits beyond an hour's noise instead of 0.1 % away; 0 keeps the bars' ATR."""
    reward_risk: float = Field(2.0, gt=0, le=50)
    """Take-profit distance as a multiple of the stop distance."""
    kelly_fraction: float = Field(0.25, gt=0, le=1)
    """Fraction of the full Kelly bet."""
    kelly_cap_pct: LossFraction = 0.02
    """Kelly risk is never more than this fraction of equity."""
    kelly_min_trades: int = Field(20, ge=1, le=100_000)
    """Closed trades needed before Kelly is trusted (fixed-fractional until then)."""
    conviction_scaling: bool = True
    """Scale size by the signal's confidence."""
    attach_stops: bool = True
    """Attach the sized stop-loss and take-profit to every entry (needs risk.require_stops off
    to disable; backtest verification runs disable it, as backtesting.py has no stops)."""
    trailing_stop_pct: float = Field(0.0, ge=0, lt=0.5)
    """Give every entry a trailing stop this fraction below its best price since the fill (above
    for a short; 0.02 = 2 %), held by robo-tui on every price it receives and armed with the
    entry's level; it only ratchets in the position's favour and exits through the risk gate. 0
    is off. The console's `T` sets or changes one on a held position."""


class IbSettings(Section):
    host: str = "127.0.0.1"
    """TWS / IB Gateway host."""
    port: int = Field(7497, ge=1, le=65535)
    """7497 paper TWS, 7496 live TWS, 4002/4001 IB Gateway."""
    client_id: int = Field(17, ge=0, le=2**31 - 1)
    """API client id."""
    account: str = ""
    """Account id (empty: the only account)."""
    timeout_seconds: float = Field(10.0, gt=0, le=600)
    """Connect and request timeout."""


class RobinhoodSettings(Section):
    username: SecretStr | None = None
    """Login (secret: environment or secrets file only)."""
    password: SecretStr | None = None
    """Password (secret: environment or secrets file only)."""
    mfa_totp_secret: SecretStr | None = None
    """TOTP seed for two-factor login (secret)."""
    timeout_seconds: float = Field(15.0, gt=0, le=600)
    """Request timeout."""


class RobinhoodCryptoSettings(Section):
    api_key: SecretStr | None = None
    """API key from Robinhood's crypto API credentials page (secret: environment or secrets file only)."""
    private_key: SecretStr | None = None
    """Base64 Ed25519 private key whose public half is registered with the API key (secret)."""
    base_url: str = "https://trading.robinhood.com"
    """Crypto Trading API base URL (change only for a test server)."""
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    """Request timeout; an order unanswered for longer is UNKNOWN until the venue is asked."""


class BrokerSettings(Section):
    kind: BrokerKind = "paper"
    """paper (default, simulated fills), ib (Interactive Brokers), robinhood or robinhood_crypto."""
    starting_cash: float = Field(100_000.0, gt=0, le=1e12)
    """Paper account's starting cash."""
    ib: IbSettings = Field(default_factory=IbSettings)
    """Interactive Brokers connection."""
    robinhood: RobinhoodSettings = Field(default_factory=RobinhoodSettings)
    """Robinhood login."""
    robinhood_crypto: RobinhoodCryptoSettings = Field(default_factory=RobinhoodCryptoSettings)
    """Robinhood crypto through the official Crypto Trading API (API key, Ed25519 key)."""


class PaperCostSettings(Section):
    slippage_bps: float = Field(2.0, ge=0, le=1000)
    """Slippage against the trader, in basis points of the fill price."""
    fee_per_share: float = Field(0.0, ge=0, le=1000)
    """Fee per unit traded."""
    fee_pct: FeeFraction = 0.0
    """Fee as a fraction of traded value."""
    fee_min: float = Field(0.0, ge=0, le=1e6)
    """Minimum fee per fill."""
    fill: Literal["quote", "next_open"] = "quote"
    """quote: fill at the current quote (streaming); next_open: at the next bar's open."""


class AnalystSettings(Section):
    provider: AnalystName = "rules"
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
    ollama_memory_budget_gb: float = Field(0.0, ge=0, le=1e6)
    """Memory the Ollama model may use (GB); larger models are skipped (0: no limit)."""
    ollama_keep_alive: str = "10m"
    """How long Ollama keeps the model loaded after a call (e.g. "10m", "1h", "0")."""
    ollama_num_ctx: int = Field(8192, ge=512, le=262_144)
    """Context window (tokens) requested from Ollama; prompts are built to fit it."""
    ollama_screen_model: str = ""
    """Two-stage mode: the fast model that screens (empty: the smallest installed model)."""
    two_stage: bool = False
    """Ollama: a fast model screens each request; only the short list reaches the best model."""
    downgrade_latency_ms: float = Field(20_000.0, gt=0, le=3_600_000)
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
    auto_order: list[ChainMember] = Field(
        default_factory=lambda: ["openai", "anthropic", "ollama", "rules"]
    )
    """auto: the providers to try, best first; rules should stay last as the offline floor."""
    circuit_breaker_failures: int = Field(3, ge=1, le=100)
    """auto: consecutive failures after which a provider is not called for a cool-down."""
    circuit_breaker_cooldown_seconds: float = Field(300.0, gt=0, le=86400)
    """auto: seconds a tripped provider rests before one trial call."""
    rules_min_score: float = Field(0.15, ge=0, le=1)
    """rules: the rules analyst abstains when its |score| is below this."""


class NewsSourceSettings(Section):
    name: str
    """Label of the source."""
    kind: NewsSourceKind = "rss"
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
    poll_seconds: float = Field(60.0, ge=1, le=86400)
    """Seconds between polls of each source."""
    sources: list[NewsSourceSettings] = Field(default_factory=list)
    """Extra sources; each name once (a source's schedule and health are kept by name)."""

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[NewsSourceSettings]) -> list[NewsSourceSettings]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"two news sources are named {source.name!r}; give each its own name")
            seen.add(source.name)
        return sources
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


class SessionSettings(Section):
    enabled: bool = True
    """Stocks trade only in their exchange's session (entries outside it are denied and the
    simulated market shows no stock bars); crypto trades 24x7."""
    calendar: str = Field("XNYS", min_length=1, max_length=20)
    """The exchange calendar (exchange_calendars name) of the stocks: holidays and half days."""
    extended_hours: bool = False
    """Allow stock entries in the pre-market and after-hours sessions (only where your broker
    takes extended-hours orders)."""


class StorageSettings(Section):
    data_dir: Path | None = None
    """Folder for the database and logs (default: the user data dir)."""
    retention_days: float = Field(3.0, ge=0, le=3650)
    """Days of per-cycle telemetry kept (strategy signals, portfolio and cycle summaries; price
    and account snapshots beyond it are thinned to hourly); 0 keeps everything. The decision
    trail (analyst calls, proposals, verdicts, orders, fills, control changes) is never pruned."""

    @field_validator("data_dir")
    @classmethod
    def _a_folder(cls, path: Path | None) -> Path | None:
        if path is not None and path.expanduser().exists() and not path.expanduser().is_dir():
            raise ValueError(f"{str(path)!r} is a file, not a folder")
        return path


class ReportSettings(Section):
    daily_target: float = Field(0.0, ge=0, le=1e12)
    """Your own P&L target for a day, in account currency (0: no goal line in the daily report)."""
    weekly_target: float = Field(0.0, ge=0, le=1e12)
    """Your own P&L target for 7 days, in account currency (0: no goal line)."""
    schedule: bool = True
    """Run the daily schedule inside the engine: the pre-market check, the review of past ideas
    and the daily report card, at the times below in the exchange's time zone."""
    premarket_at: str = Field("09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """Pre-market check (HH:MM, exchange time): sources' health and the day's session, logged."""
    review_at: str = Field("16:15", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """Daily review of past ideas (HH:MM, exchange time)."""
    report_at: str = Field("16:30", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """Daily report card of the account (HH:MM, exchange time), stored and announced."""
    pacing: bool = False
    """Pace the day against `daily_target`: the risk per entry scales from `pacing_max` (nothing
    made yet, or a loss: never more) down to `pacing_min` once the target is reached, to keep a
    good day. Needs `daily_target`; never above the configured risk."""
    pacing_min: float = Field(0.5, ge=0.05, le=1.0)
    """The risk-budget multiplier once the day's target is reached."""
    pacing_max: float = Field(1.0, ge=0.05, le=1.0)
    """The risk-budget multiplier before any progress (1: the configured risk)."""

    @model_validator(mode="after")
    def _pacing_bounds(self) -> ReportSettings:
        if self.pacing_min > self.pacing_max:
            raise ValueError(f"pacing_min {self.pacing_min:g} is above pacing_max {self.pacing_max:g}")
        if self.pacing and self.daily_target <= 0:
            raise ValueError("pacing needs a daily_target above 0")
        return self

    def pace(self, day_pnl: float) -> float:
        """The risk-budget multiplier for a day at `day_pnl` (1.0 with pacing off)."""
        if not self.pacing or self.daily_target <= 0:
            return 1.0
        progress = min(max(day_pnl / self.daily_target, 0.0), 1.0)
        return self.pacing_max - progress * (self.pacing_max - self.pacing_min)
    shadow_horizon_hours: float = Field(4.0, gt=0, le=168)
    """Hours after each shadow-mode would-be order its outcome is priced in the report card."""


class UiSettings(Section):
    theme: str = "robo-dark"
    """Console theme (a file in themes/)."""


class LiveSettings(Section):
    """Going live: the preflight a live start needs (the live caps are in [risk])."""

    preflight_max_age_minutes: float = Field(60.0, gt=0, le=7 * 24 * 60)
    """A live start needs a passing `robo-tui preflight` at most this many minutes old."""


class BacktestSettings(Section):
    cluster: str = ""
    """Dask scheduler address (tcp://host:port) the walk-forward trials run on (needs the
    `cluster` extra); empty: a local process pool. `--cluster` overrides it."""

    @field_validator("cluster")
    @classmethod
    def _a_scheduler(cls, address: str) -> str:
        address = address.strip()
        if address and "://" not in address:
            raise ValueError(f"{address!r} is not a scheduler address; write tcp://host:port")
        return address


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
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    """Market sessions: when stocks trade."""
    storage: StorageSettings = Field(default_factory=StorageSettings)
    """Where the database and logs live."""
    ui: UiSettings = Field(default_factory=UiSettings)
    """The console."""
    reports: ReportSettings = Field(default_factory=ReportSettings)
    """Report cards of the account, your own targets, and the daily schedule."""
    live: LiveSettings = Field(default_factory=LiveSettings)
    """Going live: the preflight a live start needs (the live caps are in [risk])."""
    backtest: BacktestSettings = Field(default_factory=BacktestSettings)
    """Backtests and walk-forward optimisation."""
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    """Alerts through Apprise: where they go, how loud each kind is, how often."""
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    """The Telegram bot: approve or reject proposals and halt or resume from the phone."""
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    """robo-tui.log: format, level and rotation."""
