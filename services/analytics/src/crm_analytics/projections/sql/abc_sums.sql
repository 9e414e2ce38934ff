-- Each customer's value over the period from the sums kept for the facts as they are now (schema.sql:
-- trade_sums_month, trade_lines; ADR 21): the same customers and values as
-- abc_facts.sql over facts_converted, to the cent, without reading every fact.
--   {from:Date}, {to:Date}, {measure:String}   as in abc.sql
--   rc: the reporting currency (views.sql's view reporting_currency)
-- The measure is picked with nested `if`s, which the analyzer folds for the constant parameter, so
-- only its columns are read (a `multiIf` is not folded: every amount column was read).
-- - In the reporting currency (rate 1, so a line's converted amount is its amount): whole months of
--   the period from the month sums, the days of its partial months at the edges from the lines.
-- - In another currency: each line converted at the rate of its date and rounded to cents, as
--   views.sql does, then summed (ASOF INNER JOIN: a line without a rate is never summed).
-- - Known customers: a fact dated by the end of the period (`facts` counted in any currency: the
--   month sums up to the last whole month, the lines after it).
WITH
    (SELECT currency FROM reporting_currency) AS rc,
    toStartOfMonth({from:Date}) AS first_month,
    if({from:Date} = first_month, first_month, addMonths(first_month, 1)) AS whole_from,
    toStartOfMonth({to:Date}) AS last_month,
    if({to:Date} = toLastDayOfMonth({to:Date}), last_month, addMonths(last_month, -1)) AS whole_to,
    addMonths(whole_to, 1) AS tail_from
SELECT customer, sum(value) AS value
FROM
(
    -- whole months: every month up to the last whole one counts facts, those of the period value
    SELECT
        customer,
        sumIf(
            if({measure:String} = 'revenue', revenue,
                if({measure:String} = 'revenue_without_vat', revenue_without_vat, revenue_without_vat - cost)),
            currency = rc AND month >= whole_from) AS value,
        sum(facts) AS facts
    FROM trade_sums_month
    WHERE month <= whole_to
    GROUP BY customer
    UNION ALL
    -- the days after the last whole month up to the end (facts, and the value from the period's
    -- first day), and the period's days before its first whole month and the tail (the value only)
    SELECT
        customer,
        sumIf(
            if({measure:String} = 'revenue', toDecimal128(revenue, 2),
                if({measure:String} = 'revenue_without_vat', toDecimal128(revenue_without_vat, 2),
                    toDecimal128(revenue_without_vat, 2) - cost)) * (sign * weight),
            currency = rc AND date >= {from:Date}) AS value,
        sumIf(weight, date >= tail_from) AS facts
    FROM trade_lines
    WHERE (date >= tail_from AND date <= {to:Date})
        OR (date >= {from:Date} AND date < least(whole_from, tail_from))
    GROUP BY customer
    UNION ALL
    -- lines in other currencies, one by one
    SELECT
        l.customer AS customer,
        sum(l.weight * l.sign * if({measure:String} = 'revenue',
            CAST(round(toDecimal128(l.revenue, 2) * r.rate, 2), 'Decimal(38, 2)'),
            if({measure:String} = 'revenue_without_vat',
                CAST(round(toDecimal128(l.revenue_without_vat, 2) * r.rate, 2), 'Decimal(38, 2)'),
                CAST(round(toDecimal128(l.revenue_without_vat, 2) * r.rate, 2), 'Decimal(38, 2)')
                    - CAST(round(toDecimal128(l.cost, 2) * r.rate, 2), 'Decimal(38, 2)')))) AS value,
        toInt64(0) AS facts
    FROM
    (
        SELECT customer, currency, date, sign, weight, revenue, revenue_without_vat, cost
        FROM trade_lines
        WHERE currency != rc AND date >= {from:Date} AND date <= {to:Date}
    ) AS l
    ASOF INNER JOIN (SELECT currency, date, rate FROM currency_rates FINAL) AS r
        ON l.currency = r.currency AND l.date >= r.date
    GROUP BY customer
)
GROUP BY customer
HAVING sum(facts) > 0
