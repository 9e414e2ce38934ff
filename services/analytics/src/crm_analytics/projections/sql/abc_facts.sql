-- Each customer's value over the period from every fact (facts_converted, or facts_converted_as_of
-- for the facts known at a moment): customers known by the end of the period (a fact dated by then),
-- valued by their facts of the period that have a rate. abc.sql classifies them.
--   {from:Date}, {to:Date}, {measure:String}   as in abc.sql
SELECT
    customer,
    sumIf(
        ifNull(sign * multiIf(
            {measure:String} = 'revenue', revenue_rc,
            {measure:String} = 'revenue_without_vat', revenue_without_vat_rc,
            revenue_without_vat_rc - cost_rc), 0),
        date >= {from:Date} AND rate IS NOT NULL
    ) AS value
FROM facts_converted
WHERE date <= {to:Date}
GROUP BY customer
