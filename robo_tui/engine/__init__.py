"""The trading engine: asyncio only, never imports the UI."""
