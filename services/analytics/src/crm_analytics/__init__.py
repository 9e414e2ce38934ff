"""Analytics: the ERP's trade facts and the segmentations and reports built on them (ClickHouse)."""
