"""Report cards of the paper, shadow or live account (not of backtests): daily and weekly."""
