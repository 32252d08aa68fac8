"""One app per user and data dir: the first launch listens on a local socket; a second launch sends its
arguments there (the first shows its search window) and exits 0.

The name includes the user and a hash of the data dir, so two users, or two data dirs, never collide.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket


def server_name(data_dir: Path) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name (containers): the data dir still separates users
        user = "user"
    digest = hashlib.sha1(str(Path(data_dir).expanduser().resolve()).encode()).hexdigest()[:12]
    safe_user = "".join(c for c in user if c.isalnum()) or "user"
    return f"pixel-detective-{safe_user}-{digest}"


def hand_over(name: str, args: list[str], timeout_ms: int = 1000) -> bool:
    """Send `args` to a running first instance. True when one took them (this launch should exit 0)."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write((json.dumps({"args": args}) + "\n").encode())
    ok = sock.waitForBytesWritten(timeout_ms)
    sock.disconnectFromServer()
    if sock.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        sock.waitForDisconnected(timeout_ms)
    return ok


class SingleInstance(QObject):
    """The first instance's listener: `message(args)` for each later launch."""

    message = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        self.server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        if self.server.listen(self.name):
            return True
        # A stale socket file from a crashed instance: nobody answered hand_over, so it is safe to remove.
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            buf = bytearray()

            def read(sock: QLocalSocket = sock, buf: bytearray = buf) -> None:
                buf.extend(bytes(sock.readAll().data()))
                if b"\n" in buf:
                    line = bytes(buf).split(b"\n", 1)[0]
                    buf.clear()
                    try:
                        args = json.loads(line).get("args", [])
                    except ValueError:
                        args = []
                    self.message.emit([str(a) for a in args])

            sock.readyRead.connect(read)
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                read()

    def close(self) -> None:
        self.server.close()
