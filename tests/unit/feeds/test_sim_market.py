"""SimulatedMarket: deterministic by (seed, symbol, bar time), causal, and statistically alive."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from robo_tui.adapters.feeds.sim import BLOCK, Regime, SimulatedMarket
from robo_tui.domain.market import AssetClass, BarArrays, Instrument
from robo_tui.engine.clock import SimClock

NOW = datetime(2026, 3, 2, 15, 30, 17, tzinfo=UTC)
UNIVERSE = [
    Instrument("AAPL", AssetClass.STOCK, "Technology"),
    Instrument("XOM", AssetClass.STOCK, "Energy"),
    Instrument("BTC-USD", AssetClass.CRYPTO, "Crypto"),
    Instrument("ETH-USD", AssetClass.CRYPTO, "Crypto"),
]
FIELDS = ("ts", "open", "high", "low", "close", "volume")


def market(now: datetime = NOW, *, seed: int = 42, bar_seconds: int = 60,
           **kw: int) -> tuple[SimulatedMarket, SimClock]:
    clock = SimClock(now)
    return SimulatedMarket(UNIVERSE, seed=seed, bar_seconds=bar_seconds, clock=clock, **kw), clock


def log_returns(bars: BarArrays) -> np.ndarray:
    return np.diff(np.log(bars.close))


def autocorr(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).mean() / x.var())


@pytest.fixture(scope="module")
def long_aapl() -> BarArrays:
    sim, _ = market(seed=7)
    return sim.history_at("AAPL", 100_000, NOW)


async def test_history_when_two_markets_start_minutes_apart_then_same_bars_agree_exactly() -> None:
    early, _ = market(NOW - timedelta(minutes=37, seconds=11))
    late, _ = market(NOW)
    for symbol in ("AAPL", "BTC-USD"):
        a = await early.history(symbol, 500)
        b = await late.history(symbol, 500)
        start = int(np.searchsorted(a.ts, b.ts[0]))  # b starts 37 bars into a
        overlap = len(a) - start
        assert overlap == 500 - 37
        for field in FIELDS:
            assert np.array_equal(getattr(a, field)[start:], getattr(b, field)[:overlap]), field


async def test_history_when_asked_then_last_n_completed_bars_aligned_to_bar_seconds() -> None:
    sim, _ = market(bar_seconds=300)
    bars = await sim.history("AAPL", 250)
    assert len(bars) == 250
    step = 300 * 1_000_000_000
    assert (bars.ts % step == 0).all()
    assert (np.diff(bars.ts) == step).all()
    now_ns = int(NOW.timestamp()) * 1_000_000_000
    assert bars.ts[-1] + step <= now_ns < bars.ts[-1] + 2 * step  # the forming bar is excluded


async def test_history_when_different_seed_or_symbol_then_different_prices() -> None:
    a, _ = market(seed=1)
    b, _ = market(seed=2)
    aapl_1, aapl_2 = await a.history("AAPL", 100), await b.history("AAPL", 100)
    xom_1 = await a.history("XOM", 100)
    assert not np.allclose(np.diff(np.log(aapl_1.close)), np.diff(np.log(aapl_2.close)))
    assert not np.allclose(np.diff(np.log(aapl_1.close)), np.diff(np.log(xom_1.close)))


async def test_bars_when_generated_then_ohlc_is_consistent_and_volume_positive(
    long_aapl: BarArrays,
) -> None:
    sim, _ = market()
    for bars in (long_aapl, await sim.history("BTC-USD", 5000)):
        assert (bars.high >= np.maximum(bars.open, bars.close)).all()
        assert (bars.low <= np.minimum(bars.open, bars.close)).all()
        assert (bars.low > 0).all()
        assert np.array_equal(bars.open[1:], bars.close[:-1])  # 24/7: each bar opens at the last close
        assert (bars.volume > 0).all()
    assert np.array_equal(long_aapl.volume, np.round(long_aapl.volume))  # whole shares


async def test_next_bars_when_clock_moves_then_completed_bars_follow_history_oldest_first() -> None:
    sim, clock = market()
    history = {s: await sim.history(s, 50) for s in ("AAPL", "BTC-USD", "XOM", "ETH-USD")}
    clock.advance(5 * 60 + 30)
    bars = await sim.next_bars(clock.now())
    assert len(bars) == 5 * 4
    assert [b.ts for b in bars] == sorted(b.ts for b in bars)
    aapl = [b for b in bars if b.symbol == "AAPL"]
    first_ts = history["AAPL"].bar(-1).ts + timedelta(minutes=1)
    assert [b.ts for b in aapl] == [first_ts + timedelta(minutes=i) for i in range(5)]
    assert aapl[0].open == history["AAPL"].close[-1]
    assert all(b.ts + timedelta(minutes=1) <= clock.now() for b in bars)  # completed only
    assert await sim.next_bars(clock.now()) == []
    again = sim.history_at("AAPL", 5, clock.now())
    assert [again.bar(i) for i in range(5)] == aapl  # the same bars, whoever asks


async def test_next_bars_when_long_gap_then_capped_at_max_catchup() -> None:
    sim, clock = market(max_catchup=100)
    clock.advance(86_400 * 3)
    bars = await sim.next_bars(clock.now())
    assert len(bars) == 100 * len(UNIVERSE)
    assert max(b.ts for b in bars) + timedelta(minutes=1) <= clock.now()


async def test_quotes_when_sampled_through_a_bar_then_inside_its_range_and_ending_at_close() -> None:
    sim, _ = market()
    bar_start = datetime(2026, 3, 2, 15, 31, tzinfo=UTC)
    for symbol in ("AAPL", "BTC-USD"):
        quotes = [sim.quote_at(symbol, bar_start + timedelta(seconds=s)) for s in range(60)]
        quotes.append(sim.quote_at(symbol, bar_start + timedelta(seconds=59, microseconds=999_000)))
        bar = sim.bars_between(symbol, bar_start, bar_start + timedelta(minutes=1)).bar(0)
        assert quotes[0].last == bar.open
        assert all(bar.low <= q.last <= bar.high for q in quotes)
        assert all(q.bid < q.last < q.ask for q in quotes)
        assert abs(quotes[-1].last - bar.close) <= 0.001 * bar.close
        assert len({q.last for q in quotes}) > 5  # quotes move within the bar


async def test_quotes_when_asked_then_one_per_symbol_with_wider_spread_for_crypto() -> None:
    sim, clock = market()
    quotes = {q.symbol: q for q in await sim.quotes(clock.now())}
    assert set(quotes) == {i.symbol for i in UNIVERSE}
    assert all(q.ts == clock.now() for q in quotes.values())

    def bps(symbol: str) -> float:
        q = quotes[symbol]
        return (q.ask - q.bid) / q.mid * 10_000

    assert 0.2 < bps("AAPL") < 5
    assert 2 < bps("BTC-USD") < 20
    assert bps("BTC-USD") > bps("XOM")


def test_returns_when_long_history_then_volatility_clusters_and_no_linear_predictability(
    long_aapl: BarArrays,
) -> None:
    r = log_returns(long_aapl)
    assert abs(autocorr(r, 1)) < 0.05
    assert autocorr(np.abs(r), 1) > 0.05
    assert autocorr(np.abs(r), 20) > 0.03


def test_returns_when_long_history_then_fat_tails_from_jumps(long_aapl: BarArrays) -> None:
    r = log_returns(long_aapl)
    kurtosis = float(((r - r.mean()) ** 4).mean() / r.var() ** 2)
    assert kurtosis > 6
    assert (np.abs(r) > 8 * r.std()).sum() >= 3  # essentially impossible for a Gaussian


def test_regimes_when_long_history_then_bull_rises_bear_falls_and_regimes_persist(
    long_aapl: BarArrays,
) -> None:
    sim, _ = market(seed=7)
    starts = long_aapl.ts[long_aapl.ts % (BLOCK * 60 * 1_000_000_000) == 0]
    regimes = [sim.regime("AAPL", datetime.fromtimestamp(int(t) // 10**9, UTC)) for t in starts]
    assert set(regimes) == {Regime.BULL, Regime.BEAR, Regime.SIDEWAYS}
    same = sum(a == b for a, b in itertools.pairwise(regimes)) / (len(regimes) - 1)
    assert same > 0.7
    first = int(np.searchsorted(long_aapl.ts, starts[0]))
    closes = np.log(long_aapl.close[first:])
    block_moves = closes[BLOCK::BLOCK] - closes[: -BLOCK : BLOCK][: len(closes[BLOCK::BLOCK])]
    labels = np.array([str(g) for g in regimes[: len(block_moves)]])
    assert block_moves[labels == "bull"].mean() > 0 > block_moves[labels == "bear"].mean()


def test_prices_when_years_of_daily_bars_then_positive_and_plausible() -> None:
    sim, _ = market(bar_seconds=86_400)
    for symbol in ("AAPL", "BTC-USD"):
        bars = sim.history_at(symbol, 3650, NOW)
        assert len(bars) == 3650
        assert bars.low.min() > 0
        assert bars.close.max() / bars.close.min() < 30
        daily = log_returns(bars)
        assert 0.005 < daily.std() < 0.08


def test_history_when_symbol_unknown_then_key_error() -> None:
    sim, _ = market()
    with pytest.raises(KeyError, match="TSLA"):
        sim.history_at("TSLA", 10, NOW)
