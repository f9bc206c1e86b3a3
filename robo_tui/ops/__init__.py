"""Operations: what a trader running real money needs around the engine.

`preflight` (every check before live money, stored), `heartbeat` (the file a running engine
rewrites each cycle) and `health` (its reading, for monitors), `status` (the account from the
journal, readable in a pipe), `persisted` (the mode a restart restores) and `cli` (the commands).
"""
