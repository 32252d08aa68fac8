"""Discovery lives in `bridge/discovery.py`, below the layers that use it (the Lightroom bridge's `engines`
request browses too, and `bridge.lightroom` may not import the API). Kept so `bridge.api.discovery` imports
keep working."""

from bridge.discovery import (
    DEFAULT_API_PATH,
    SERVICE_TYPE,
    Advertiser,
    RemoteEngine,
    browse,
    instance_name,
)

__all__ = ["DEFAULT_API_PATH", "SERVICE_TYPE", "Advertiser", "RemoteEngine", "browse", "instance_name"]
