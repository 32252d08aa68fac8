"""Frozen entry point of `pixel-detective` (the command line)."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the decode pool and the tray's engine process use spawn
    from bridge.cli.app import main

    main()
