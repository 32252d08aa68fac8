"""The durable index state: the SQLite ledger, the data dir's one-owner lock, export and import."""
