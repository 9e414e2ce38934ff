"""Use cases of the contacts service: command handlers and queries over ports."""
