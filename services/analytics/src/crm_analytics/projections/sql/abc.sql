-- The ABC classification of customers (1C's rule; see crm_analytics.domain.abc), one row per customer
-- known by the end of the period, with its place (1 = the greatest value).
--   {from:Date}, {to:Date}      the period, both days included
--   {measure:String}            revenue | revenue_without_vat | profit (revenue without VAT - cost)
-- Values are in the reporting currency: facts_converted's `_rc` amounts (each fact converted at the
-- rate of its date, see views.sql). A fact without a rate is never summed (facts_without_rate.sql
-- reports them); profit is revenue_without_vat_rc - cost_rc.
-- __PER_CUSTOMER__ is the query of each customer's value (columns customer, value), put in by
-- application/abc.py: abc_sums.sql for the facts as they are now (the sums kept at each write),
-- abc_facts.sql over facts_converted_as_of for the facts known at a past moment; both give the same.
--   {c_share:Decimal(5, 2)}     the share of C in percent; {cb_share:Decimal(5, 2)}: of C and B
WITH
    per_customer AS
    (
        __PER_CUSTOMER__
    ),
    accumulated AS
    (
        SELECT
            customer,
            value,
            sum(value) OVER (ORDER BY value ASC, customer ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                AS cumulative,
            sum(value) OVER () AS total,
            row_number() OVER (ORDER BY value DESC, customer DESC) AS place
        FROM per_customer
    )
SELECT
    place,
    customer,
    value,
    cumulative,
    total,
    multiIf(
        total <= 0, 'C',
        cumulative * 100 <= {c_share:Decimal(5, 2)} * total, 'C',
        cumulative * 100 <= {cb_share:Decimal(5, 2)} * total, 'B',
        'A') AS class
FROM accumulated
