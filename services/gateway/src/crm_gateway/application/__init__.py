"""Use cases of the gateway: user commands, sign-in and sessions, API keys, queries."""
