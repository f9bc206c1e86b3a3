"""Adapters: one module per provider, each implementing a port from `robo_tui.ports`."""
