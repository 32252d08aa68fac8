"""Pixel Detective engine: scan, decode, metadata, embed, store, ledger, search, CLI and service."""

from __future__ import annotations

__version__ = "0.1.0"
