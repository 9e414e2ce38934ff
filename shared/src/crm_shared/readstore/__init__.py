"""The read store port and its adapters: SQLite (embedded) and MongoDB through PyMongo's async API."""

from crm_shared.readstore.port import Change, Delete, Document, Index, Page, Put, Query, ReadStore

__all__ = ["Change", "Delete", "Document", "Index", "Page", "Put", "Query", "ReadStore"]
