"""Frozen entry point of the tray app (`Pixel Detective.app`, `PixelDetective.exe`): `pixel-detective tray`."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # before anything: a spawned child must not start a second tray
    from bridge.cli.app import main

    sys.argv = [sys.argv[0], "tray", *sys.argv[1:]]
    main()
