"""The contacts domain: pure decisions, no I/O."""
