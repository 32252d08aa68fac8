"""Pixel Detective: the local service and its engine (layers: see bridge/README.md)."""

from __future__ import annotations

__version__ = "0.1.0"
