"""How likely an optimiser's winner is a fluke: the deflated Sharpe ratio and the probability of
backtest overfitting (combinatorially symmetric cross-validation).

Both read per-period returns (not annualised figures). Definitions in docs/backtesting.md;
sources: Bailey & López de Prado, "The Deflated Sharpe Ratio" (2014), and Bailey, Borwein,
López de Prado & Zhu, "The Probability of Backtest Overfitting" (2015).
"""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np

from robo_tui.domain.market import FloatArray

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def expected_max_sharpe(trial_sharpes: FloatArray) -> float:
    """SR0: the highest per-period Sharpe ratio expected among N trials with no skill, from the
    variance of the trials' Sharpe ratios (the false-strategy theorem)."""
    n = int(trial_sharpes.shape[0])
    if n < 2:
        return 0.0
    spread = float(np.std(trial_sharpes, ddof=1))
    return spread * (
        (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n)
        + EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (n * math.e))
    )


def deflated_sharpe_ratio(returns: FloatArray, trial_sharpes: FloatArray) -> float:
    """The probability that the chosen strategy's true Sharpe ratio is above SR0, the best that
    luck alone gives among the trials; `returns` are the chosen one's per-period returns,
    `trial_sharpes` every trial's per-period Sharpe ratio. Corrects for the number of trials,
    the sample length, skewness and fat tails. NaN for fewer than 3 returns or no variance."""
    r = np.asarray(returns, dtype=np.float64)
    t = int(r.shape[0])
    sd = float(np.std(r, ddof=1)) if t > 1 else 0.0
    if t < 3 or sd == 0.0:
        return math.nan
    sharpe = float(np.mean(r)) / sd
    z = (r - np.mean(r)) / np.std(r)
    skew = float(np.mean(z**3))
    kurt = float(np.mean(z**4))
    sr0 = expected_max_sharpe(np.asarray(trial_sharpes, dtype=np.float64))
    denominator = 1.0 - skew * sharpe + (kurt - 1.0) / 4.0 * sharpe**2
    if denominator <= 0.0:
        return math.nan
    return _NORMAL.cdf((sharpe - sr0) * math.sqrt(t - 1) / math.sqrt(denominator))


def _sharpe_columns(block: FloatArray) -> FloatArray:
    sd = np.std(block, axis=0, ddof=1)
    mean = np.mean(block, axis=0)
    out: FloatArray = np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), -np.inf)
    return out


def probability_of_backtest_overfitting(returns: FloatArray, splits: int = 16) -> float:
    """PBO by CSCV: `returns` is a T x N matrix, per-period returns of N trials over the same T
    periods. The rows are cut into `splits` (even) blocks; for every choice of half the blocks
    as in-sample (the rest out-of-sample) the in-sample best by Sharpe is ranked among all
    trials out of sample. PBO is the share of choices where it ranks in the bottom half
    (relative rank logit <= 0): near 0 the selection carries skill, near 0.5 or above it is
    noise."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("returns must be a T x N matrix with at least 2 trials")
    if splits < 2 or splits % 2:
        raise ValueError(f"splits must be an even number >= 2, got {splits}")
    if m.shape[0] < 2 * splits:
        raise ValueError(f"{m.shape[0]} periods are too few for {splits} splits")
    blocks = np.array_split(np.arange(m.shape[0]), splits)
    n = m.shape[1]
    overfit = total = 0
    for chosen in itertools.combinations(range(splits), splits // 2):
        inside = np.concatenate([blocks[i] for i in chosen])
        outside = np.concatenate([blocks[i] for i in range(splits) if i not in chosen])
        best = int(np.argmax(_sharpe_columns(m[inside])))
        oos = _sharpe_columns(m[outside])
        rank = float(np.sum(oos < oos[best]) + 1)  # 1 = worst out of sample
        omega = rank / (n + 1)
        overfit += math.log(omega / (1.0 - omega)) <= 0.0
        total += 1
    return overfit / total
