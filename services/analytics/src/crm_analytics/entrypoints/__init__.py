"""HTTP routes of analytics under /api/v1/analytics."""
