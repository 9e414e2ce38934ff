"""The interaction aggregate: its commands, queries, history and public events."""
