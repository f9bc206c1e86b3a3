"""The simulated market: seeded, multi-symbol, regimes, volatility clusters and jumps.

Every price is a pure function of (seed, symbol, bar time): two processes started minutes apart
agree on every bar, so a paper account restored between `--once` runs sees no price jumps, and
any window of history costs O(window) however far the calendar has moved.

How a price is made (all in bar-index space, k = epoch seconds // bar_seconds):

* Bars are grouped in blocks of `BLOCK` bars. The log price at each block boundary is
  base + slow trend + multi-scale value noise (random-walk-like up to months, bounded beyond:
  the log price mean-reverts around the trend, so prices stay plausible for years)
  + a regime component + decaying jumps.
* Regimes (bull / bear / sideways) form a Markov chain over slots of `SLOT_BLOCKS` blocks: each
  slot, with probability `REGIME_REFRESH`, the regime is redrawn from its stationary law. A bull
  (bear) episode pulls the log price up (down) toward a target; sideways holds it. Bear
  episodes are more volatile.
* Inside a block, bar returns follow a GARCH(1,1) variance around the block's volatility level
  (volatility clusters), bridged so the block ends exactly at the next boundary.
* Jumps: rare large moves at a random bar of a block; they persist and fade over many blocks.
* Each bar's intrabar path is a Brownian bridge from its open to its close on `n_sub` steps;
  the bar's high and low are that path's extremes, and streaming quotes walk the same path, so
  quotes always agree with the bar they eventually form.

Randomness comes from a counter-based hash (splitmix64) of (seed, symbol, stream, index), so any
bar can be computed without the ones before it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import (
    AssetClass,
    Bar,
    BarArrays,
    FloatArray,
    Instrument,
    IntArray,
    Quote,
)
from robo_tui.domain.sessions import MarketSessions
from robo_tui.domain.time import datetime_to_ns
from robo_tui.ports import Clock

U64Array = npt.NDArray[np.uint64]

BLOCK = 64
"""Bars per block: the unit of bridging and of the per-block volatility level."""
SLOT_BLOCKS = 4
"""Blocks per regime slot (the regime can change only at slot starts)."""
REGIME_REFRESH = 0.35
"""Per-slot probability that the regime is redrawn from its stationary law."""
REGIME_LOOKBACK = 64
"""Slots searched back for the episode start (missing it has probability ~1e-12)."""
REGIME_MEMORY = 8
"""Episodes replayed to find where the current episode starts (older ones have faded)."""
JUMP_HALF_LIFE_BLOCKS = 64
JUMP_MEMORY_BLOCKS = 512
GARCH_ALPHA = 0.08
GARCH_BETA = 0.90
YEAR_SECONDS = 365.25 * 86400.0
TREND_ORIGIN_S = 1_735_689_600  # 2025-01-01T00:00:00Z: base prices are levels around this date
NOISE_PERIODS = (1, 4, 16, 64, 256, 1024, 4096)
"""Value-noise knot spacings (blocks) of the slow component, finest first."""


class Regime(StrEnum):
    """The simulated market's state: drifting up, drifting down, or ranging."""

    BULL = "bull"
    BEAR = "bear"
    SIDEWAYS = "sideways"


_REGIMES = (Regime.BULL, Regime.BEAR, Regime.SIDEWAYS)
_REGIME_CDF = np.array([0.35, 0.60, 1.0])  # stationary law: 35% bull, 25% bear, 40% sideways
_REGIME_VOL = np.array([0.85, 1.45, 0.9])  # volatility multiplier per regime


@frozen
class _Profile:
    """What differs between asset classes."""

    vol_range: tuple[float, float]  # annualised volatility, drawn per symbol
    spread_bps: float  # quoted bid/ask spread
    jump_per_bar: float  # jump probability per bar
    jump_sigmas: float  # typical jump size in bar standard deviations
    volume_per_minute: tuple[float, float]  # typical traded units per minute (log-uniform)
    whole_units: bool


_PROFILES = {
    AssetClass.STOCK: _Profile((0.22, 0.45), 1.5, 1 / 4000, 10.0, (2_000.0, 30_000.0), True),
    AssetClass.CRYPTO: _Profile((0.55, 0.85), 4.0, 1 / 2500, 12.0, (0.5, 40.0), False),
}

_KNOWN_PRICES = {
    "AAPL": 190.0, "MSFT": 410.0, "NVDA": 120.0, "AMZN": 185.0, "GOOG": 165.0, "GOOGL": 165.0,
    "META": 500.0, "TSLA": 220.0, "JPM": 200.0, "XOM": 110.0, "SPY": 550.0, "QQQ": 470.0,
    "BTC-USD": 65_000.0, "ETH-USD": 3_200.0, "SOL-USD": 150.0, "DOGE-USD": 0.15,
}

# Stream ids: each random quantity draws from its own hash stream.
_S_RET, _S_SUB, _S_VOLUME, _S_JUMP, _S_REGIME, _S_VOL, _S_LEVEL, _S_PARAM = range(0, 80, 10)

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix_int(x: int) -> int:
    """splitmix64 finaliser on a Python int."""
    x = (x + _GOLDEN) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


_C_GOLDEN = np.uint64(_GOLDEN)
_C_M1 = np.uint64(0xBF58476D1CE4E5B9)
_C_M2 = np.uint64(0x94D049BB133111EB)
_SH30, _SH27, _SH31, _SH11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _mix(x: U64Array) -> U64Array:
    """splitmix64 finaliser, elementwise (uint64 arithmetic wraps, as intended)."""
    x = x + _C_GOLDEN
    x = (x ^ (x >> _SH30)) * _C_M1
    x = (x ^ (x >> _SH27)) * _C_M2
    return x ^ (x >> _SH31)


class _Stream:
    """Counter-based random numbers: value i of a stream depends only on (key, stream, i).

    This is SplitMix64 seeded per (key, stream) and evaluated at counter i, so any value can be
    drawn without the ones before it; several streams are drawn in one vectorised pass.
    """

    __slots__ = ("_bases", "_key")

    def __init__(self, key: int) -> None:
        self._key = key
        self._bases: dict[int, int] = {}

    def base(self, stream: int) -> int:
        found = self._bases.get(stream)
        if found is None:
            found = self._bases[stream] = _mix_int(self._key ^ _mix_int(stream))
        return found

    def raw_uniform(self, bases: U64Array, index: IntArray) -> FloatArray:
        """Uniforms in (0, 1) for counters `index` of the streams whose bases broadcast with it."""
        x = _mix(index.astype(np.uint64) * _C_GOLDEN + bases)
        out: FloatArray = ((x >> _SH11).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)
        return out

    def uniforms(self, streams: Sequence[int], index: IntArray) -> FloatArray:
        """Shape (len(streams), *index.shape): each stream's uniforms at `index`."""
        bases = np.array([self.base(s) for s in streams], dtype=np.uint64)
        return self.raw_uniform(bases.reshape((-1,) + (1,) * index.ndim), index[None, ...])

    def uniform(self, stream: int, index: IntArray) -> FloatArray:
        """Uniforms in (0, 1)."""
        out: FloatArray = self.uniforms((stream,), index)[0]
        return out

    def normals(self, streams: Sequence[int], index: IntArray) -> FloatArray:
        """Shape (len(streams), *index.shape): standard normals (Box-Muller on stream, stream+1)."""
        u = self.uniforms([s + k for s in streams for k in (0, 1)], index)
        out: FloatArray = np.sqrt(-2.0 * np.log(u[0::2])) * np.cos((2.0 * math.pi) * u[1::2])
        return out

    def normal(self, stream: int, index: IntArray) -> FloatArray:
        """Standard normals."""
        out: FloatArray = self.normals((stream,), index)[0]
        return out

    def scalar(self, stream: int, index: int = 0) -> float:
        return float(self.uniform(stream, np.array([index], dtype=np.int64))[0])


def _symbol_key(seed: int, symbol: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x00{symbol}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@frozen
class _Block:
    """Bars of a contiguous range of blocks, shaped (blocks, BLOCK)."""

    first_block: int
    log_open: FloatArray
    log_close: FloatArray
    sigma: FloatArray  # per-bar return standard deviation (GARCH)
    volume: FloatArray


class _SymbolModel:
    """The price process of one symbol."""

    def __init__(self, instrument: Instrument, seed: int, bar_seconds: int) -> None:
        self.instrument = instrument
        self.bar_seconds = bar_seconds
        self.rng = _Stream(_symbol_key(seed, instrument.symbol))
        profile = _PROFILES[instrument.asset_class]
        self.profile = profile
        u = [self.rng.scalar(_S_PARAM, i) for i in range(6)]
        lo, hi = profile.vol_range
        self.annual_vol = lo + (hi - lo) * u[0]
        self.sigma_bar = self.annual_vol * math.sqrt(bar_seconds / YEAR_SECONDS)
        self.log_base = math.log(self._base_price(instrument, u[1]))
        self.trend_per_year = -0.04 + 0.16 * u[2]
        vlo, vhi = profile.volume_per_minute
        self.volume_base = math.exp(math.log(vlo) + (math.log(vhi) - math.log(vlo)) * u[3])
        self.volume_base *= bar_seconds / 60.0
        base_price = math.exp(self.log_base)
        if instrument.asset_class is AssetClass.STOCK or base_price >= 100:
            self.tick = 0.01
        else:
            self.tick = 10.0 ** (math.floor(math.log10(base_price)) - 4)
        self.n_sub = int(min(32, max(4, bar_seconds // 4)))
        # Slow component: value-noise amplitudes, random-walk-like scaling with a cap.
        self.level_amp = [
            min(self.sigma_bar * math.sqrt(BLOCK * p / 2.0), 0.35 * self.annual_vol)
            for p in NOISE_PERIODS
        ]
        self.noise_levels = [(_S_LEVEL + 2 * n, p) for n, p in enumerate(NOISE_PERIODS)]
        self.noise_levels += [(_S_VOL, 6), (_S_VOL + 2, 24)]
        # Regime pull per episode: a few slot standard deviations, capped for long bars.
        self.regime_pull = min(2.5 * self.sigma_bar * math.sqrt(BLOCK * SLOT_BLOCKS),
                               0.25 * self.annual_vol)
        self.regime_rho = 0.5 ** (1.0 / SLOT_BLOCKS)  # pull half-life: one slot
        p_block = 1.0 - (1.0 - profile.jump_per_bar) ** BLOCK
        self.jump_p_block = p_block
        self.jump_scale = min(profile.jump_sigmas * self.sigma_bar, 0.3)
        self.jump_lambda = 0.5 ** (1.0 / JUMP_HALF_LIFE_BLOCKS)
        self.jump_weights = self.jump_lambda ** np.arange(JUMP_MEMORY_BLOCKS - 1, -1, -1.0)
        # Quotes ask for the forming bar many times: keep its block and intrabar path.
        self._block_cache: _Block | None = None
        self._path_cache: tuple[int, FloatArray] | None = None

    @staticmethod
    def _base_price(instrument: Instrument, u: float) -> float:
        known = _KNOWN_PRICES.get(instrument.symbol)
        if known is not None:
            return known * (0.9 + 0.2 * u)
        if instrument.asset_class is AssetClass.CRYPTO:
            return math.exp(math.log(0.5) + (math.log(500.0) - math.log(0.5)) * u)
        return math.exp(math.log(20.0) + (math.log(400.0) - math.log(20.0)) * u)

    # --- block boundaries ------------------------------------------------------------------

    def _value_noise(self, blocks: IntArray, levels: Sequence[tuple[int, int]]) -> FloatArray:
        """Smooth value noise, shape (len(levels), blocks): knots every `period` blocks hold
        standard normals of `stream`; between knots the value eases from one to the next."""
        knots = [np.floor_divide(blocks, period) for _, period in levels]
        spans = [np.arange(int(k.min()), int(k.max()) + 2, dtype=np.int64) for k in knots]
        index = np.concatenate(spans)
        sizes = [sp.size for sp in spans]
        b1 = np.repeat(np.array([self.rng.base(st) for st, _ in levels], dtype=np.uint64), sizes)
        b2 = np.repeat(np.array([self.rng.base(st + 1) for st, _ in levels], dtype=np.uint64),
                       sizes)
        u1 = self.rng.raw_uniform(b1, index)
        u2 = self.rng.raw_uniform(b2, index)
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos((2.0 * math.pi) * u2)
        out = np.empty((len(levels), blocks.size), dtype=np.float64)
        offset = 0
        for row, ((_, period), knot, sp) in enumerate(zip(levels, knots, spans, strict=True)):
            frac = (blocks - knot * period).astype(np.float64) / period
            smooth = frac * frac * (3.0 - 2.0 * frac)
            at = knot - sp[0] + offset
            out[row] = z[at] + (z[at + 1] - z[at]) * smooth
            offset += sp.size
        return out

    def _jumps(self, blocks: IntArray) -> tuple[FloatArray, IntArray]:
        """Jump size (0: none) and the bar within the block where it happens."""
        u = self.rng.uniforms((_S_JUMP, _S_JUMP + 2, _S_JUMP + 3, _S_JUMP + 4), blocks)
        sign = np.where(u[1] < 0.5, -1.0, 1.0)
        size = self.jump_scale * (0.5 - np.log(u[2]))
        pos = np.minimum((u[3] * BLOCK).astype(np.int64), BLOCK - 1)
        return np.where(u[0] < self.jump_p_block, sign * size, 0.0), pos

    def _jump_sum(self, blocks: IntArray) -> FloatArray:
        """Faded sum of the jumps of the JUMP_MEMORY_BLOCKS blocks before each boundary."""
        lo = int(blocks.min()) - JUMP_MEMORY_BLOCKS
        sizes, _ = self._jumps(np.arange(lo, int(blocks.max()), dtype=np.int64))
        offsets = blocks - JUMP_MEMORY_BLOCKS - lo
        window = sizes[offsets[:, None] + np.arange(JUMP_MEMORY_BLOCKS)[None, :]]
        out: FloatArray = (window * self.jump_weights).sum(axis=1)
        return out

    def _episodes(self, slots: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
        """Per slot: episode start slot, regime index, and the regime offset at episode start."""
        lo = int(slots.min()) - (REGIME_LOOKBACK + 1) * (REGIME_MEMORY + 3)
        hi = int(slots.max())
        span = np.arange(lo, hi + 1, dtype=np.int64)
        u = self.rng.uniforms((_S_REGIME, _S_REGIME + 2), span)
        refresh = u[0] < REGIME_REFRESH
        draw = np.searchsorted(_REGIME_CDF, u[1], side="right")
        # Latest refresh at or before each slot, but never more than REGIME_LOOKBACK back.
        idx = np.where(refresh, np.arange(span.size), -1)
        latest = np.maximum.accumulate(idx)
        pos = np.arange(span.size)
        start_pos = np.where(pos - latest > REGIME_LOOKBACK, pos - REGIME_LOOKBACK, latest)
        start_pos = np.maximum(start_pos, 0)

        def start_of(p: int) -> int:
            return int(start_pos[p]) if p >= 0 else 0

        offsets: dict[int, float] = {}
        want = slots - lo
        starts = start_pos[want]
        for s in np.unique(starts):
            offsets[int(s)] = self._episode_offset(int(s), start_of, draw)
        regime = draw[starts]
        offset = np.array([offsets[int(s)] for s in starts], dtype=np.float64)
        return starts + lo, regime.astype(np.int64), offset

    def _episode_offset(self, start: int, start_of: Callable[[int], int], draw: IntArray) -> float:
        """Regime offset at the start of the episode starting at span position `start`.

        Replays the REGIME_MEMORY episodes before it from 0 (older episodes have faded), so the
        value is the same whichever window asked.
        """
        chain = [start]
        for _ in range(REGIME_MEMORY):
            prev = start_of(chain[-1] - 1)
            if prev >= chain[-1]:
                break
            chain.append(prev)
        chain.reverse()
        r = 0.0
        for a, b in pairwise(chain):
            target = self._target(int(draw[a]), r)
            blocks = (b - a) * SLOT_BLOCKS
            r = target + (r - target) * self.regime_rho**blocks
        return r

    def _target(self, regime: int, offset: float) -> float:
        if regime == 0:
            return 0.5 * offset + self.regime_pull
        if regime == 1:
            return 0.5 * offset - self.regime_pull
        return offset

    def boundaries(self, blocks: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Log price, volatility level and regime index at the start of each block."""
        noise = self._value_noise(blocks, self.noise_levels)
        level = np.zeros(blocks.size, dtype=np.float64)
        for row, amp in enumerate(self.level_amp):
            level += amp * noise[row]
        seconds = blocks.astype(np.float64) * (BLOCK * self.bar_seconds)
        trend = self.trend_per_year * (seconds - TREND_ORIGIN_S) / YEAR_SECONDS
        slots = np.floor_divide(blocks, SLOT_BLOCKS)
        ep_start, regime, r0 = self._episodes(slots)
        into = (blocks - ep_start * SLOT_BLOCKS).astype(np.float64)
        target = np.array([self._target(int(g), float(o)) for g, o in zip(regime, r0, strict=True)])
        reg = target + (r0 - target) * self.regime_rho**into
        log_price = self.log_base + trend + level + reg + self._jump_sum(blocks)
        n = len(NOISE_PERIODS)
        vol_level = np.exp(0.35 * noise[n] + 0.2 * noise[n + 1]) * _REGIME_VOL[regime]
        return log_price, vol_level, regime.astype(np.float64)

    # --- bars ------------------------------------------------------------------------------

    def blocks(self, first: int, count: int) -> _Block:
        """All bars of blocks [first, first + count)."""
        b = np.arange(first, first + count + 1, dtype=np.int64)
        log_edge, vol_level, _ = self.boundaries(b)
        e0, e1, v = log_edge[:-1], log_edge[1:], vol_level[:-1]
        bars = (b[:-1, None] * BLOCK + np.arange(BLOCK)[None, :]).astype(np.int64)
        z, noise = self.rng.normals((_S_RET, _S_VOLUME), bars)
        # GARCH(1,1) around the block's level v: h[i] = omega + (alpha z[i-1]^2 + beta) h[i-1],
        # solved in closed form with running products instead of a Python loop.
        omega = (1.0 - GARCH_ALPHA - GARCH_BETA) * v
        growth = np.cumprod(GARCH_ALPHA * z[:, :-1] ** 2 + GARCH_BETA, axis=1)
        h = np.empty((count, BLOCK), dtype=np.float64)
        h[:, 0] = v
        h[:, 1:] = growth * (v[:, None] + omega[:, None] * np.cumsum(1.0 / growth, axis=1))
        sigma = self.sigma_bar * np.sqrt(h)
        walk = np.cumsum(sigma * z, axis=1)
        jump, jpos = self._jumps(b[:-1])
        frac = np.arange(1, BLOCK + 1, dtype=np.float64)[None, :] / BLOCK
        step = np.where(np.arange(BLOCK)[None, :] >= jpos[:, None], jump[:, None], 0.0)
        log_close = (e0[:, None] + walk - frac * walk[:, -1:]
                     + frac * (e1 - jump - e0)[:, None] + step)
        log_close[:, -1] = e1  # exact, so the next block opens where this one closed
        log_open = np.empty_like(log_close)
        log_open[:, 0] = e0
        log_open[:, 1:] = log_close[:, :-1]
        move = np.abs(log_close - log_open) / self.sigma_bar
        volume = self.volume_base * np.exp(0.35 * noise) * (0.4 + 0.3 * move + 0.3 * np.sqrt(h))
        jump_bar = (np.arange(BLOCK)[None, :] == jpos[:, None]) & (jump != 0.0)[:, None]
        volume = np.where(jump_bar, volume * 5.0, volume)
        if self.profile.whole_units:
            volume = np.maximum(np.round(volume), 1.0)
        else:
            volume = np.round(volume, 6)
        return _Block(first, log_open, log_close, sigma, volume)

    def sub_paths(self, bars: IntArray, log_open: FloatArray, log_close: FloatArray,
                  sigma: FloatArray) -> FloatArray:
        """Intrabar log-price paths, shape (bars, n_sub + 1), from each open to its close."""
        n = self.n_sub
        idx = (bars[:, None] * n + np.arange(n)[None, :]).astype(np.int64)
        z = self.rng.normal(_S_SUB, idx.ravel()).reshape(bars.size, n)
        walk = np.zeros((bars.size, n + 1), dtype=np.float64)
        walk[:, 1:] = np.cumsum(z, axis=1) * (sigma / math.sqrt(n))[:, None]
        frac = np.arange(n + 1, dtype=np.float64)[None, :] / n
        path: FloatArray = (log_open[:, None] + frac * (log_close - log_open)[:, None]
                            + walk - frac * walk[:, -1:])
        path[:, 0] = log_open
        path[:, -1] = log_close
        return path

    def round_price(self, price: FloatArray) -> FloatArray:
        out: FloatArray = np.round(price / self.tick) * self.tick
        return np.round(out, 10)

    def bars(self, start: int, stop: int) -> BarArrays:
        """Bars with global index [start, stop) as column arrays."""
        symbol = self.instrument.symbol
        if stop <= start:
            empty_f = np.empty(0, dtype=np.float64)
            return BarArrays(symbol, np.empty(0, dtype=np.int64), empty_f, empty_f.copy(),
                             empty_f.copy(), empty_f.copy(), empty_f.copy())
        first = start // BLOCK
        last = (stop - 1) // BLOCK
        block = self.blocks(first, last - first + 1)
        lo = start - first * BLOCK
        hi = lo + (stop - start)
        log_open = block.log_open.ravel()[lo:hi]
        log_close = block.log_close.ravel()[lo:hi]
        sigma = block.sigma.ravel()[lo:hi]
        index = np.arange(start, stop, dtype=np.int64)
        path = self.sub_paths(index, log_open, log_close, sigma)
        ts = index * (self.bar_seconds * 1_000_000_000)
        return BarArrays(
            symbol,
            ts,
            self.round_price(np.exp(log_open)),
            self.round_price(np.exp(path.max(axis=1))),
            self.round_price(np.exp(path.min(axis=1))),
            self.round_price(np.exp(log_close)),
            block.volume.ravel()[lo:hi].copy(),
        )

    def price_at(self, bar: int, fraction: float) -> float:
        """The unrounded price `fraction` of the way through bar `bar` (its intrabar path)."""
        if self._path_cache is None or self._path_cache[0] != bar:
            first = bar // BLOCK
            if self._block_cache is None or self._block_cache.first_block != first:
                self._block_cache = self.blocks(first, 1)
            block = self._block_cache
            i = bar - first * BLOCK
            path = self.sub_paths(np.array([bar], dtype=np.int64), block.log_open[0, i:i + 1],
                                  block.log_close[0, i:i + 1], block.sigma[0, i:i + 1])[0]
            self._path_cache = (bar, path)
        path = self._path_cache[1]
        x = min(max(fraction, 0.0), 1.0) * self.n_sub
        j = min(int(x), self.n_sub - 1)
        return math.exp(path[j] + (path[j + 1] - path[j]) * (x - j))

    def regime(self, block: int) -> Regime:
        _, _, regime = self.boundaries(np.array([block], dtype=np.int64))
        return _REGIMES[int(regime[0])]


def _take(arrays: BarArrays, idx: IntArray) -> BarArrays:
    """The bars of `arrays` at the positions `idx` (in order)."""
    return BarArrays(arrays.symbol, arrays.ts[idx], arrays.open[idx], arrays.high[idx],
                     arrays.low[idx], arrays.close[idx], arrays.volume[idx])


class SimulatedMarket:
    """A seeded simulated market of stocks and 24/7 crypto; implements `MarketFeed`.

    Every price shown from it must be labelled SIMULATED (`simulated` is True). Bars are aligned
    to multiples of `bar_seconds` since the epoch; `history` and `next_bars` give completed bars
    only, and `quotes` walks the forming bar's intrabar path toward its eventual close.
    """

    name = "sim"
    simulated = True
    supports_streaming = True

    def __init__(self, instruments: Sequence[Instrument], *, seed: int, bar_seconds: int,
                 clock: Clock, max_catchup: int = 1_000,
                 sessions: MarketSessions | None = None) -> None:
        if bar_seconds < 1:
            raise ValueError("bar_seconds must be at least 1")
        if not instruments:
            raise ValueError("the simulated market needs at least one instrument")
        self.seed = seed
        self.bar_seconds = bar_seconds
        self.max_catchup = max_catchup
        self._clock = clock
        self._models = {i.symbol: _SymbolModel(i, seed, bar_seconds) for i in instruments}
        self.sessions = sessions
        """The exchange calendar stocks follow: no stock bars or quotes while it is closed."""
        self._stocks = {i.symbol for i in instruments if i.asset_class is AssetClass.STOCK}
        now_bar = self._bar_index(clock.now())
        self._cursor = dict.fromkeys(self._models, now_bar)

    @property
    def symbols(self) -> list[str]:
        """The simulated symbols, in universe order."""
        return list(self._models)

    def _bar_index(self, ts: datetime) -> int:
        """Index of the bar forming at `ts` (= number of bars completed by then)."""
        return datetime_to_ns(ts) // (self.bar_seconds * 1_000_000_000)

    def _model(self, symbol: str) -> _SymbolModel:
        try:
            return self._models[symbol]
        except KeyError:
            raise KeyError(f"{symbol} is not in the simulated universe") from None

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to release."""

    async def history(self, symbol: str, bars: int) -> BarArrays:
        """The last `bars` completed bars of `symbol` before the clock's now, oldest first."""
        return self.history_at(symbol, bars, self._clock.now())

    def history_at(self, symbol: str, bars: int, now: datetime) -> BarArrays:
        """`history` as of `now` (synchronous); later `next_bars` calls start after it."""
        model = self._model(symbol)
        end = self._bar_index(now)
        self._cursor[symbol] = max(self._cursor[symbol], end)
        return model.bars(end - max(0, bars), end)

    async def next_bars(self, now: datetime) -> list[Bar]:
        """Bars completed since the last call (or since history), oldest first.

        After a long gap only the latest `max_catchup` bars per symbol are returned.
        """
        end = self._bar_index(now)
        out: list[tuple[int, int, Bar]] = []
        for order, (symbol, model) in enumerate(self._models.items()):
            start = max(self._cursor[symbol], end - self.max_catchup)
            if end <= start:
                continue
            arrays = model.bars(start, end)
            if self.sessions is not None and symbol in self._stocks:
                arrays = _take(arrays, np.flatnonzero(self.sessions.open_mask(arrays.ts)))
            out.extend((int(arrays.ts[i]), order, arrays.bar(i)) for i in range(len(arrays)))
            self._cursor[symbol] = end
        out.sort(key=lambda item: (item[0], item[1]))
        return [bar for _, _, bar in out]

    async def quotes(self, now: datetime) -> list[Quote]:
        """One quote per symbol at `now`, on the forming bar's intrabar path."""
        sessions = self.sessions
        closed = sessions is not None and not sessions.is_open(AssetClass.STOCK, now)
        return [self.quote_at(symbol, now) for symbol in self._models
                if not (closed and symbol in self._stocks)]

    def quote_at(self, symbol: str, now: datetime) -> Quote:
        """The quote of `symbol` at `now` (synchronous)."""
        model = self._model(symbol)
        ns = datetime_to_ns(now)
        bar_ns = self.bar_seconds * 1_000_000_000
        bar = ns // bar_ns
        last = model.price_at(bar, (ns - bar * bar_ns) / bar_ns)
        tick = model.tick
        ticks = round(last / tick)
        half = max(1, round(last * model.profile.spread_bps / 20_000.0 / tick))
        return Quote(
            symbol,
            now,
            round(max(ticks - half, 1) * tick, 10),
            round((ticks + half) * tick, 10),
            round(ticks * tick, 10),
        )

    def regime(self, symbol: str, ts: datetime) -> Regime:
        """The regime the simulation is in for `symbol` at `ts` (for tests and display)."""
        bar = self._bar_index(ts)
        return self._model(symbol).regime(bar // BLOCK)

    def bars_between(self, symbol: str, start: datetime, stop: datetime) -> BarArrays:
        """Bars whose open time is in [start, stop) (for tests, benchmarks and backtests)."""
        return self._model(symbol).bars(self._bar_index(start), self._bar_index(stop))
