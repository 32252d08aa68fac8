"""The `pixel-detective` command line: every command, exit codes, logging and last-resort errors."""
