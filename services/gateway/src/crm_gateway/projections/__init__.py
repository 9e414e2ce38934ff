"""Read models of the gateway: users, API keys and the audit trail."""
