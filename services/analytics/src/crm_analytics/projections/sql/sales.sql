-- Sales and returns as the CRM knew them at {as_of}: trade facts by their latest version received up to
-- {known:UInt64} (nanoseconds since the epoch; facts_converted_as_of), dated
-- {facts_first:Date} … {facts_last:Date}, converted to the reporting currency (`revenue`, `profit` = revenue without VAT − cost, signed: a
-- return is negative; NULL without a rate: never summed, counted instead), each with the counterparty
-- carrying its customer code then ('' for none). Only the caller's scope (__SCOPE__: customers no
-- counterparty carries are outside a limited scope). Read as the common table `sales`.
SELECT
    f.id AS id,
    f.kind AS kind,
    f.date AS date,
    f.currency AS currency,
    l.counterparty_id AS counterparty_id,
    f.rate IS NOT NULL AS converted,
    toDecimal128(f.sign * assumeNotNull(f.revenue_rc), 2) AS revenue,
    toDecimal128(f.sign * (assumeNotNull(f.revenue_without_vat_rc) - assumeNotNull(f.cost_rc)), 2) AS profit
FROM facts_converted_as_of(known = {known:UInt64}) AS f
LEFT JOIN customer_links(as_of = {as_of:DateTime64(6, 'UTC')}) AS l ON l.customer = f.customer
WHERE f.date BETWEEN {facts_first:Date} AND {facts_last:Date} AND __SCOPE__
