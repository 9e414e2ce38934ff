"""How the world reaches the contacts service: HTTP, and the worker process."""
