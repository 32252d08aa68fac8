"""The power policy pauses on battery, resumes on mains, and never undoes a pause the user made."""

from __future__ import annotations

from desktop.power import PowerPolicy, on_battery


def test_pause_on_battery_resume_on_power_and_respect_the_user():
    calls: list[str] = []
    state = {"battery": False}
    policy = PowerPolicy(
        lambda: calls.append("pause"), lambda: calls.append("resume"), lambda: state["battery"]
    )
    assert policy.check() is None  # on power: nothing to do
    state["battery"] = True
    assert policy.check() == "paused" and calls == ["pause"]
    assert policy.check() is None  # still on battery: paused once
    state["battery"] = False
    assert policy.check() == "resumed" and calls == ["pause", "resume"]
    # A pause the user made on mains power is theirs: the policy does not resume it.
    assert policy.check() is None and calls == ["pause", "resume"]
    state["battery"] = True
    assert policy.check() == "paused"
    policy.user_resumed()  # the user resumes by hand on battery: that holds …
    assert policy.check() is None
    state["battery"] = False
    assert policy.check() is None  # … and back on mains there is nothing to resume
    assert calls == ["pause", "resume", "pause"]


def test_unknown_power_state_never_pauses():
    calls: list[str] = []
    policy = PowerPolicy(lambda: calls.append("pause"), lambda: calls.append("resume"), lambda: None)
    assert policy.check() is None and not calls
    assert on_battery() in (True, False, None)
