"""HTTP routes and the identity-forwarding middleware."""
