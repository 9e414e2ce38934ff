"""The rules of interactions, free of frameworks and adapters."""
