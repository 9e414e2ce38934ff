-- Views in the reporting currency, recreated at every start (CREATE OR REPLACE) with the currency of
-- the settings: the reporting currency is a setting, so it is written into the view as a literal
-- (a {name:Type} parameter would make a parameterized view that every reader must pass it to).
-- '__REPORTING_CURRENCY__' is replaced by the three capital letters of CRM_ANALYTICS_REPORTING_CURRENCY.
--
-- A fact's `rate` is 1 in the reporting currency; in another, the latest rate of its currency dated on
-- or before the fact's date (ASOF LEFT JOIN on currency_rates FINAL); NULL when that currency has no
-- rate so early. The `_rc` amounts (revenue, revenue without VAT, cost, discount) are the unsigned
-- amounts times the rate, rounded to cents half away from zero (ClickHouse's round on decimals;
-- amounts are >= 0, so half-up), NULL without a rate: a
-- report sums `sign * revenue_rc` over facts `WHERE rate IS NOT NULL` and reports the others.
--
-- '__ORDERS__' and '__PAYMENTS__' are read the same way (orders, payments; order_versions,
-- payment_versions), giving orders_converted_as_of and payments_converted_as_of.
-- '__TRADE_FACTS__' is the facts read: `trade_facts FINAL` (the latest version of each id) in
-- facts_converted; prepare() also makes facts_converted_as_of, a parameterized view of the same text
-- over the facts as the CRM knew them at a moment: per id the latest version <= the parameter `known` (a
-- version is the nanosecond since the epoch a fact was received), so a fact received later is
-- unknown and a correction received later still shows the fact as it was before.
-- They are Decimal(38, 2), not (18, 2): an amount of 16 digits times a rate above 1 does not fit 18.
CREATE OR REPLACE VIEW facts_converted AS
SELECT
    f.id AS id,
    f.kind AS kind,
    f.date AS date,
    f.customer AS customer,
    f.item AS item,
    f.division AS division,
    f.manager AS manager,
    f.quantity AS quantity,
    f.revenue AS revenue,
    f.revenue_without_vat AS revenue_without_vat,
    f.cost AS cost,
    f.discount AS discount,
    f.currency AS currency,
    f.version AS version,
    toInt8(if(f.kind = 'return', -1, 1)) AS sign,
    CAST(
        if(f.currency = '__REPORTING_CURRENCY__', toDecimal64(1, 6), if(r.currency = '', NULL, r.rate)),
        'Nullable(Decimal(18, 6))') AS rate,
    CAST(round(toDecimal128(f.revenue, 2) * rate, 2), 'Nullable(Decimal(38, 2))') AS revenue_rc,
    CAST(round(toDecimal128(f.revenue_without_vat, 2) * rate, 2), 'Nullable(Decimal(38, 2))') AS revenue_without_vat_rc,
    CAST(round(toDecimal128(f.cost, 2) * rate, 2), 'Nullable(Decimal(38, 2))') AS cost_rc,
    CAST(round(toDecimal128(f.discount, 2) * rate, 2), 'Nullable(Decimal(38, 2))') AS discount_rc
FROM (__TRADE_FACTS__) AS f
ASOF LEFT JOIN (SELECT currency, date, rate FROM currency_rates FINAL) AS r
    ON f.currency = r.currency AND f.date >= r.date;

-- The ERP's orders and payments in the reporting currency, by the same rule as facts_converted: `rate`
-- is 1 in the reporting currency, else the latest rate of the currency on or before the record's
-- date (an order's issue date, a payment's date), NULL when there is none; `amount_rc` the amount
-- times the rate rounded to cents half away from zero, NULL without a rate.
CREATE OR REPLACE VIEW orders_converted AS
SELECT
    o.id AS id,
    o.date AS date,
    o.customer AS customer,
    o.manager AS manager,
    o.amount AS amount,
    o.currency AS currency,
    o.due_date AS due_date,
    o.version AS version,
    CAST(
        if(o.currency = '__REPORTING_CURRENCY__', toDecimal64(1, 6), if(r.currency = '', NULL, r.rate)),
        'Nullable(Decimal(18, 6))') AS rate,
    CAST(round(toDecimal128(o.amount, 2) * rate, 2), 'Nullable(Decimal(38, 2))') AS amount_rc
FROM (__ORDERS__) AS o
ASOF LEFT JOIN (SELECT currency, date, rate FROM currency_rates FINAL) AS r
    ON o.currency = r.currency AND o.date >= r.date;

CREATE OR REPLACE VIEW payments_converted AS
SELECT
    p.id AS id,
    p.date AS date,
    p.customer AS customer,
    p.order_id AS order_id,
    p.amount AS amount,
    p.currency AS currency,
    p.version AS version,
    CAST(
        if(p.currency = '__REPORTING_CURRENCY__', toDecimal64(1, 6), if(r.currency = '', NULL, r.rate)),
        'Nullable(Decimal(18, 6))') AS rate,
    CAST(round(toDecimal128(p.amount, 2) * rate, 2), 'Nullable(Decimal(38, 2))') AS amount_rc
FROM (__PAYMENTS__) AS p
ASOF LEFT JOIN (SELECT currency, date, rate FROM currency_rates FINAL) AS r
    ON p.currency = r.currency AND p.date >= r.date;

-- The reporting currency itself, for the queries over the sums kept per currency (abc_sums.sql,
-- lines_without_rate.sql; ADR 21).
CREATE OR REPLACE VIEW reporting_currency AS SELECT '__REPORTING_CURRENCY__' AS currency;
