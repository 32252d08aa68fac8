"""The Lightroom bridge service (protocol v2, lrplugin/README.md)."""

from __future__ import annotations

from bridge.lightroom.connection import PluginError, SessionClosed, Timeouts
from bridge.lightroom.service import NotConnected, Service

__all__ = ["NotConnected", "PluginError", "Service", "SessionClosed", "Timeouts"]
