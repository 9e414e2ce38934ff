-- The report "Analysis of interactions and information sources" (1C), before grouping: one row per
-- trade fact of the period and per incoming interaction of the period, each with the information
-- source it is attributed to (see crm_analytics.application.sources for the rules).
--   {from:Date}, {to:Date}          the period, both days included (an interaction: the day of its
--                                   start in the organisation's time zone {tz:String})
--   {as_of:DateTime64(6, 'UTC')}    what the CRM knew: events that happened by then ...
--   {known:UInt64}                  ... and facts received by then (nanoseconds since the epoch)
--   {by:String}                     item | division | '': what `detail` holds (a fact's item or division)
-- A fact's counterparty is the one carrying its customer code (customer_links); `customer` keeps the
-- code of a fact no counterparty carries ('' otherwise). Its source is the counterparty's latest
-- source record dated on or before the fact's date (ASOF), while that record is in force: days
-- since its `on` < the source's actuality_days (0 = no limit); else ''. An incoming interaction that
-- names a source has that one; else the same rule on the day it started. Amounts are signed (a return
-- subtracts) in the reporting currency; a fact without a rate (`missing`) carries zeros and is
-- reported, never summed.
WITH
    happened AS
    (
        SELECT
            l.counterparty_id AS counterparty_id,
            if(l.counterparty_id = '', f.customer, '') AS customer,
            f.date AS date,
            '' AS named,
            multiIf({by:String} = 'item', f.item, {by:String} = 'division', f.division, '') AS detail,
            toString(f.currency) AS currency,
            f.rate IS NULL AS missing,
            toUInt8(f.kind = 'sale' AND f.rate IS NOT NULL) AS sale,
            toUInt8(0) AS interaction,
            ifNull(f.sign * f.revenue_rc, toDecimal128(0, 2)) AS revenue,
            ifNull(f.sign * f.revenue_without_vat_rc, toDecimal128(0, 2)) AS revenue_without_vat,
            ifNull(f.sign * (f.revenue_without_vat_rc - f.cost_rc), toDecimal128(0, 2)) AS profit,
            if(f.rate IS NULL, toDecimal128(0, 3), f.sign * toDecimal128(f.quantity, 3)) AS quantity
        FROM facts_converted_as_of(known = {known:UInt64}) AS f
        LEFT JOIN customer_links(as_of = {as_of:DateTime64(6, 'UTC')}) AS l ON f.customer = l.customer
        WHERE f.date BETWEEN {from:Date} AND {to:Date}

        UNION ALL

        SELECT
            counterparty_id,
            '' AS customer,
            toDate(start, {tz:String}) AS date,
            source AS named,
            '' AS detail,
            '' AS currency,
            false AS missing,
            toUInt8(0) AS sale,
            toUInt8(1) AS interaction,
            toDecimal128(0, 2) AS revenue,
            toDecimal128(0, 2) AS revenue_without_vat,
            toDecimal128(0, 2) AS profit,
            toDecimal128(0, 3) AS quantity
        FROM interactions_as_of(as_of = {as_of:DateTime64(6, 'UTC')})
        WHERE direction = 'incoming' AND state != 'cancelled'
          AND toDate(start, {tz:String}) BETWEEN {from:Date} AND {to:Date}
    ),
    recorded AS
    (
        SELECT h.*, r.on AS on, r.source AS recorded
        FROM happened AS h
        ASOF LEFT JOIN source_records(as_of = {as_of:DateTime64(6, 'UTC')}) AS r
            ON h.counterparty_id = r.counterparty_id AND h.date >= r.on
    )
SELECT
    multiIf(
        named != '', named,
        recorded != '' AND (s.actuality_days = 0 OR toInt64(date - on) < s.actuality_days), recorded,
        '') AS source,
    counterparty_id,
    customer,
    date,
    detail,
    currency,
    missing,
    sale,
    interaction,
    revenue,
    revenue_without_vat,
    profit,
    quantity
FROM recorded AS a
LEFT JOIN
(
    SELECT code, actuality_days
    FROM reference_entries(as_of = {as_of:DateTime64(6, 'UTC')})
    WHERE catalog = 'sources'
) AS s ON a.recorded = s.code
