-- The analytics tables. One set of SQL for chDB (embedded) and ClickHouse (distributed).

-- The ERP's trade facts: primary data (the ERP sends them; no event log holds them), the latest
-- received under each id. ReplacingMergeTree keeps the row with the greatest version per id once
-- parts merge; until then every query reads it with FINAL, so nothing counts twice. Ordered by id
-- alone and not partitioned: a correction may change any other column (date, customer), and rows of
-- one id in different partitions would never replace each other. `discount` is the discount granted on
-- the line (optional, 0 when the ERP sends none), in the fact's currency like the other amounts.
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
    discount            Decimal(18, 2) DEFAULT 0,
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

-- Stores made before facts carried a discount gain its column (0 for the facts stored before), in both
-- tables at the same place: the feed below and prepare's backfill copy trade_facts' columns as they are.
ALTER TABLE trade_facts ADD COLUMN IF NOT EXISTS discount Decimal(18, 2) DEFAULT 0 AFTER cost;
ALTER TABLE trade_fact_versions ADD COLUMN IF NOT EXISTS discount Decimal(18, 2) DEFAULT 0 AFTER cost;

CREATE MATERIALIZED VIEW IF NOT EXISTS trade_fact_versions_feed TO trade_fact_versions
AS SELECT * FROM trade_facts;

-- The sums the ABC report reads for the current state instead of every fact (issue 14, ADR 21). A
-- fact enters them as a change: weight 1 for the version received, and -1 for the version it
-- replaces, which write_records looks up in trade_facts FINAL and writes here before inserting the
-- new one (under one lock per process), so a correction that moves a fact to another customer, day
-- or currency leaves nothing behind. trade_fact_changes keeps nothing (Null): the materialized views
-- below sum what passes through it. Amounts are signed by the kind (a return is -1) and the weight.
CREATE TABLE IF NOT EXISTS trade_fact_changes
(
    id                  String,
    date                Date,
    customer            String,
    currency            LowCardinality(String),
    sign                Int8,
    revenue             Decimal(18, 2),
    revenue_without_vat Decimal(18, 2),
    cost                Decimal(18, 2),
    weight              Int8
)
ENGINE = Null;

-- Per customer, month and currency (in the fact's currency, unconverted): the sums of the signed
-- amounts and how many facts; summed at read (no FINAL), a row whose sums all cancel is dropped at
-- merges. Whole months of a period come from here, its partial months at the edges from trade_lines.
CREATE TABLE IF NOT EXISTS trade_sums_month
(
    month               Date,
    customer            String,
    currency            LowCardinality(String),
    revenue             Decimal(38, 2),
    revenue_without_vat Decimal(38, 2),
    cost                Decimal(38, 2),
    facts               Int64
)
ENGINE = SummingMergeTree
ORDER BY (month, customer, currency);

-- Every fact's line, unsummed, ordered by currency and date: a line in another currency than the
-- reporting one is converted and rounded one by one, exactly as views.sql does, and the days of a
-- period's partial months at its edges are read here too. `weight` sums the versions counted (1) and
-- replaced (-1); a line whose weight sums to 0 is dropped at merges.
CREATE TABLE IF NOT EXISTS trade_lines
(
    currency            LowCardinality(String),
    date                Date,
    customer            String,
    id                  String,
    sign                Int8,
    revenue             Decimal(18, 2),
    revenue_without_vat Decimal(18, 2),
    cost                Decimal(18, 2),
    weight              Int64
)
ENGINE = SummingMergeTree(weight)
ORDER BY (currency, date, customer, id, sign, revenue, revenue_without_vat, cost);

CREATE MATERIALIZED VIEW IF NOT EXISTS trade_sums_month_feed TO trade_sums_month
AS SELECT
    toStartOfMonth(date) AS month,
    customer,
    currency,
    sum(toDecimal128(revenue, 2) * (sign * weight)) AS revenue,
    sum(toDecimal128(revenue_without_vat, 2) * (sign * weight)) AS revenue_without_vat,
    sum(toDecimal128(cost, 2) * (sign * weight)) AS cost,
    sum(toInt64(weight)) AS facts
FROM trade_fact_changes
GROUP BY month, customer, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS trade_lines_feed TO trade_lines
AS SELECT currency, date, customer, id, sign, revenue, revenue_without_vat, cost, toInt64(weight) AS weight
FROM trade_fact_changes;

-- Each insert into trade_facts counts its facts, the latest of each id in the insert only (a later
-- one of a batch replaces an earlier one, as in trade_facts).
CREATE MATERIALIZED VIEW IF NOT EXISTS trade_fact_changes_feed TO trade_fact_changes
AS SELECT
    id,
    date,
    customer,
    currency,
    toInt8(if(kind = 'return', -1, 1)) AS sign,
    revenue,
    revenue_without_vat,
    cost,
    toInt8(1) AS weight
FROM trade_facts
ORDER BY version DESC
LIMIT 1 BY id;

-- Day sums (trade_sums_day) were kept here until issue 14's P6: the edge days of a period read
-- trade_lines instead (as many rows, ordered by date within a currency), and each write of facts
-- makes one part fewer. Dropped from stores made before.
DROP VIEW IF EXISTS trade_sums_day_feed;
DROP TABLE IF EXISTS trade_sums_day;

-- The same history for orders and payments (a report as of a past moment sees each as it was then).
CREATE TABLE IF NOT EXISTS order_versions AS orders
ENGINE = MergeTree
ORDER BY (id, version);

CREATE MATERIALIZED VIEW IF NOT EXISTS order_versions_feed TO order_versions
AS SELECT * FROM orders;

CREATE TABLE IF NOT EXISTS payment_versions AS payments
ENGINE = MergeTree
ORDER BY (id, version);

CREATE MATERIALIZED VIEW IF NOT EXISTS payment_versions_feed TO payment_versions
AS SELECT * FROM payments;
