"""PySide6 tray app and search window around the engine (not built yet)."""
