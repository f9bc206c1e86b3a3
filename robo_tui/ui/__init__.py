"""The Textual console: the app shell (app.py, screens/), the panes (widgets/) and themes.

Only this package imports Textual; the engine, adapters and headless mode never do.
"""
