"""Backtest analytics: statistics, terminal and HTML reports, walk-forward optimisation.

The backtest driver (bars replayed through the engine) lives beside these modules; everything
here works on the driver's outputs (equity curve, timestamps, trades) and needs no engine.
"""
