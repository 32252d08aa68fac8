"""Pixel Detective desktop: the tray app that hosts the engine, and the search window (see README.md)."""
