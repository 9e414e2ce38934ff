-- The analytics tables. One set of SQL for chDB (embedded) and ClickHouse (distributed).

-- The ERP's trade facts: primary data (the ERP sends them; no event log holds them), the latest
-- received under each id. ReplacingMergeTree keeps the row with the greatest version per id once
-- parts merge; until then every query reads it with FINAL, so nothing counts twice. Ordered by id
-- alone and not partitioned: a correction may change any other column (date, customer), and rows of
-- one id in different partitions would never replace each other.
CREATE TABLE IF NOT EXISTS trade_facts
(
    id                  String,
    kind                LowCardinality(String),
    date                Date,
    customer            String,
    item                String,
    division            String,
    manager             String,
    quantity            Decimal(18, 3),
    revenue             Decimal(18, 2),
    revenue_without_vat Decimal(18, 2),
    cost                Decimal(18, 2),
    currency            LowCardinality(String),
    version             UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- The ERP's orders (invoices issued to customers): primary data like trade facts, the latest received
-- under each id (ReplacingMergeTree by version, read with FINAL). date is the day the order was issued,
-- due_date the day its payment is due (the ERP's, or the issue date when it sends none).
CREATE TABLE IF NOT EXISTS orders
(
    id       String,
    date     Date,
    customer String,
    manager  String,
    amount   Decimal(18, 2),
    currency LowCardinality(String),
    due_date Date,
    version  UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- The ERP's payments received from customers, the latest received under each id. order_id is the
-- order the payment settles, empty for an advance or a payment the ERP has not allocated.
CREATE TABLE IF NOT EXISTS payments
(
    id       String,
    date     Date,
    customer String,
    order_id String,
    amount   Decimal(18, 2),
    currency LowCardinality(String),
    version  UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- Currency rates: primary data like the facts (ADR 16), loaded by the API or a CSV file. `rate` is
-- how many units of the reporting currency (CRM_ANALYTICS_REPORTING_CURRENCY) one unit of `currency`
-- is worth, in force from `date` until the next rate of that currency. A rate sent again for the
-- same currency and date replaces the old one (the greatest version wins; read with FINAL).
CREATE TABLE IF NOT EXISTS currency_rates
(
    currency LowCardinality(String),
    date     Date,
    rate     Decimal(18, 6),
    version  UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (currency, date);

-- Every version of every trade fact as it was received: trade_facts keeps only the latest per id (and
-- ClickHouse collapses the older ones at insert and at merges), so what the CRM knew at a past moment
-- (reports `as_of`) is read here. Filled by the materialized view below from each insert into
-- trade_facts (the inserted block as sent, before any collapsing); append-only, never merged away.
CREATE TABLE IF NOT EXISTS trade_fact_versions AS trade_facts
ENGINE = MergeTree
ORDER BY (id, version);

CREATE MATERIALIZED VIEW IF NOT EXISTS trade_fact_versions_feed TO trade_fact_versions
AS SELECT * FROM trade_facts;
