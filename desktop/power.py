"""Power policy: with `only_on_ac_power`, indexing pauses while the machine runs on battery and resumes
when it is plugged in again — unless the user paused it by hand, which the policy never undoes."""

from __future__ import annotations

from collections.abc import Callable


def on_battery() -> bool | None:
    """True on battery, False on mains power, None when unknown (desktops, VMs): then never pause."""
    import psutil

    try:
        battery = psutil.sensors_battery()
    except (AttributeError, NotImplementedError, OSError):
        return None
    return None if battery is None else not battery.power_plugged


class PowerPolicy:
    """Acts on changes only: switching to battery pauses (once), switching back to mains resumes what the
    policy paused. A resume by hand on battery holds until the next switch."""

    def __init__(
        self,
        pause: Callable[[], None],
        resume: Callable[[], None],
        probe: Callable[[], bool | None] = on_battery,
    ) -> None:
        self._pause, self._resume, self._probe = pause, resume, probe
        self.paused_by_policy = False
        self._last: bool | None = False  # start as "on mains": starting on battery counts as a switch

    def check(self) -> str | None:
        """Apply the policy once; returns "paused" / "resumed" when it acted."""
        battery = self._probe()
        last, self._last = self._last, battery
        if battery is None or battery == last:
            return None
        if battery:
            self._pause()
            self.paused_by_policy = True
            return "paused"
        if self.paused_by_policy:
            self._resume()
            self.paused_by_policy = False
            return "resumed"
        return None

    def user_resumed(self) -> None:
        """The user resumed by hand: nothing for the policy to resume later."""
        self.paused_by_policy = False
