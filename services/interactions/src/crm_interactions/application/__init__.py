"""Command handling, queries and the translation into public events."""
