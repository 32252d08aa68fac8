"""Can this session show a window at all? Asked before Qt is started, because Qt's answer to "no" is to
abort the process (SIGABRT, a core file and a page of plugin names) rather than to return an error (R49)."""

from __future__ import annotations

import ctypes.util
import os
import sys


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why no window can be opened here, in words for the user, or None when it looks possible."""
    env = dict(os.environ) if env is None else env
    if not sys.platform.startswith("linux"):
        return None  # Windows and macOS always have their one platform plugin
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform and platform not in ("xcb", "wayland"):
        return None  # offscreen, vnc, eglfs …: chosen on purpose, Qt needs no display server for them
    if platform != "wayland" and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set): start it "
            "from a desktop session; on a headless machine use `pixel-detective serve`, `index` and `search`"
        )
    uses_x11 = platform == "xcb" or (not platform and not env.get("WAYLAND_DISPLAY"))
    if not uses_x11:
        return None
    missing = [lib for lib in _QT_XCB_LIBS if ctypes.util.find_library(lib) is None]
    if missing:
        return (
            f"Qt needs the X11 libraries {', '.join('lib' + m for m in missing)} to open windows and they are not "
            "installed (Debian/Ubuntu: apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 "
            "libxkbcommon-x11-0)"
        )
    display = env.get("DISPLAY", "")
    if not _x_server_answers(display):
        return f"cannot connect to the X display {display!r}: is the desktop session still running?"
    return None


# What Qt's xcb platform plugin loads beyond libxcb itself (Qt >= 6.5 names xcb-cursor when it is missing).
_QT_XCB_LIBS = ("xcb-cursor", "xcb-icccm", "xcb-keysyms", "xkbcommon-x11")


def _x_server_answers(display: str) -> bool:
    """Connect to the X server the way Qt will (libxcb), and hang up; True when libxcb cannot be asked."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return True  # let Qt say it
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return True
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(os.fsencode(display) if display else None, None)
    try:
        return conn is not None and xcb.xcb_connection_has_error(conn) == 0
    finally:
        if conn is not None:
            xcb.xcb_disconnect(conn)  # a failed connection object is freed the same way
