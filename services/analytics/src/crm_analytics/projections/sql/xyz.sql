-- Relationship stages and the XYZ classification of customers (see crm_analytics.domain.xyz), one row
-- per customer with a fact dated up to {to:Date}.
--   {to:Date}                    the last day counted; its period is the window's last
--   {periodicity:String}         day | week | decade | month | quarter | half-year | year
--   {periods:UInt32}             the number of periods in the window
--   {measure:String}             revenue | revenue_without_vat | profit | sales | quantity | intervals
--   money measures sum the facts' amounts in the reporting currency (facts_converted's `_rc`, see
--   views.sql); a fact without a rate counts 0 there (facts_without_rate.sql reports them)
--   {regular_periods:UInt32}     active periods in the window from which a customer is regular
--   {x:Decimal(7, 2)}, {y:Decimal(7, 2)}   the upper bounds of X and Y, coefficient of variation in %
-- A period's number (consecutive periods, consecutive numbers) is the same expression for a fact's
-- date and for {to}; keep the two in step with crm_analytics.domain.xyz.ordinal.
WITH
    multiIf(
        {periodicity:String} = 'day', toInt64(toRelativeDayNum({to:Date})),
        {periodicity:String} = 'week', intDiv(toInt64(toRelativeDayNum({to:Date})) + 3, 7),
        {periodicity:String} = 'decade',
            (toInt64(toYear({to:Date})) * 12 + toMonth({to:Date}) - 1) * 3
            + least(intDiv(toDayOfMonth({to:Date}) - 1, 10), 2),
        {periodicity:String} = 'month', toInt64(toYear({to:Date})) * 12 + toMonth({to:Date}) - 1,
        {periodicity:String} = 'quarter', toInt64(toYear({to:Date})) * 4 + intDiv(toMonth({to:Date}) - 1, 3),
        {periodicity:String} = 'half-year', toInt64(toYear({to:Date})) * 2 + intDiv(toMonth({to:Date}) - 1, 6),
        toInt64(toYear({to:Date}))) AS last_period,
    last_period - {periods:UInt32} + 1 AS first_period,
    facts AS
    (
        SELECT
            customer,
            kind,
            date,
            multiIf(
                {periodicity:String} = 'day', toInt64(toRelativeDayNum(date)),
                {periodicity:String} = 'week', intDiv(toInt64(toRelativeDayNum(date)) + 3, 7),
                {periodicity:String} = 'decade',
                    (toInt64(toYear(date)) * 12 + toMonth(date) - 1) * 3 + least(intDiv(toDayOfMonth(date) - 1, 10), 2),
                {periodicity:String} = 'month', toInt64(toYear(date)) * 12 + toMonth(date) - 1,
                {periodicity:String} = 'quarter', toInt64(toYear(date)) * 4 + intDiv(toMonth(date) - 1, 3),
                {periodicity:String} = 'half-year', toInt64(toYear(date)) * 2 + intDiv(toMonth(date) - 1, 6),
                toInt64(toYear(date))) AS period,
            sign,
            multiIf(
                {measure:String} = 'sales', toDecimal256(kind = 'sale', 3),
                {measure:String} = 'quantity', toDecimal256(sign * quantity, 3),
                rate IS NULL, toDecimal256(0, 3),
                {measure:String} = 'revenue', toDecimal256(sign * assumeNotNull(revenue_rc), 3),
                {measure:String} = 'revenue_without_vat', toDecimal256(sign * assumeNotNull(revenue_without_vat_rc), 3),
                toDecimal256(sign * (assumeNotNull(revenue_without_vat_rc) - assumeNotNull(cost_rc)), 3)) AS amount
        FROM facts_converted
        WHERE date <= {to:Date}
    ),
    per_period AS
    (
        SELECT
            customer,
            period,
            countIf(kind = 'sale') AS sales,
            sum(amount) AS value,
            arraySort(groupUniqArrayIf(date, kind = 'sale')) AS sale_days
        FROM facts
        GROUP BY customer, period
    ),
    per_customer AS
    (
        SELECT
            customer,
            countIf(sales > 0) AS sale_periods,
            countIf(sales > 0 AND period >= first_period) AS active,
            maxIf(period, sales > 0) AS last_sale_period,
            groupArrayIf(period, sales > 0) AS active_periods,
            sumIf(value, period >= first_period) AS period_total,
            sumIf(value * value, period >= first_period) AS period_squares,
            arraySort(arrayFlatten(groupArrayIf(sale_days, period >= first_period AND {measure:String} = 'intervals')))
                AS window_days,
            arrayMap(d -> toDecimal256(d, 3), arrayPopFront(arrayDifference(arrayMap(d -> toInt64(d), window_days))))
                AS intervals
        FROM per_period
        GROUP BY customer
    ),
    staged AS
    (
        SELECT
            customer,
            active,
            multiIf(
                sale_periods = 0, 'potential',
                active >= {regular_periods:UInt32}, 'regular',
                active > 0, 'one-time',
                arrayCount(p -> p > last_sale_period - {periods:UInt32}, active_periods) >= {regular_periods:UInt32}, 'lost',
                'one-time') AS stage,
            if({measure:String} = 'intervals', toUInt64(length(intervals)), toUInt64({periods:UInt32})) AS n,
            if({measure:String} = 'intervals', arraySum(intervals), period_total) AS total,
            if({measure:String} = 'intervals', arraySum(arrayMap(i -> i * i, intervals)), period_squares) AS squares
        FROM per_customer
    )
SELECT
    customer,
    stage,
    active,
    n,
    total,
    squares,
    if(
        stage != 'regular',
        NULL,
        multiIf(
            n = 0 OR total <= 0, 'Z',
            (n * squares - total * total) * 10000 <= toDecimal256({x:Decimal(7, 2)}, 2) * {x:Decimal(7, 2)} * total * total, 'X',
            (n * squares - total * total) * 10000 <= toDecimal256({y:Decimal(7, 2)}, 2) * {y:Decimal(7, 2)} * total * total, 'Y',
            'Z')) AS xyz_class
FROM staged
