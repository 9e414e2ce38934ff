"""Read models: the interaction lists and calendar, and the local copy of what contacts publishes."""
