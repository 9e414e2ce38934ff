"""The state store port (primary data that is not a rebuildable view: keys, job records, later the
outbox and deliveries) and its adapters: SQLite (embedded) and MongoDB through PyMongo's async API."""

from crm_shared.statestore.port import Record, RecordPage, StateStore, VersionConflict

__all__ = ["Record", "RecordPage", "StateStore", "VersionConflict"]
