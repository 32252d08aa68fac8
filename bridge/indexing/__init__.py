"""The indexing run (scan, plan, decode, embed, store first then one ledger transaction) and the watcher."""
