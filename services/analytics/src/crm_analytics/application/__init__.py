"""Use cases: ingesting trade facts (batch, CSV job) and reading the ABC classification."""
