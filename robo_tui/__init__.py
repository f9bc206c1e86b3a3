"""robo-tui: a keyboard-driven terminal trading console with an LLM-assisted trading engine."""

__version__ = "0.1.0"
