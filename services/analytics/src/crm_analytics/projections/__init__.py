"""The analytics tables: their SQL files (one set for chDB and ClickHouse) and how rows are written."""
