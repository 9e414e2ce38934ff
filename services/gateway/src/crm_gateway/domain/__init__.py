"""The gateway's pure domain: the user decider."""
