"""Pure rules of analytics: trade facts and the ABC classification (no adapter, no framework)."""
