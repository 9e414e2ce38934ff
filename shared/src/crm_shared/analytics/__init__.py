"""The analytics store port and its adapters.

One set of ClickHouse SQL files runs on both adapters: chDB in-process (the embedded default) and a
ClickHouse server through clickhouse-connect (distributed). Adapters are imported from their own
modules (``crm_shared.analytics.chdb``, ``crm_shared.analytics.clickhouse``) so choosing one never
loads the other's engine.
"""

from crm_shared.analytics.port import AnalyticsError, AnalyticsStore
from crm_shared.analytics.sql import load_query, load_script, split_statements

__all__ = ["AnalyticsError", "AnalyticsStore", "load_query", "load_script", "split_statements"]
