"""The counterparty aggregate: commands, queries, history, duplicates and merge, the tax-id
reservations, the checks against reference data, and the sources told by interactions."""
