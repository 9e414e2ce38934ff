-- The sales-manager comparison (see crm_analytics.application.managers): one row per (manager,
-- customer code, counterparty) with what is credited to it, and rows with customer '' for what is
-- counted per counterparty (contact data, completed interactions). The report sums these rows per
-- manager; the drill-down lists a manager's rows with a customer.
--   {from:Date}, {to:Date}                 the period, both days included
--   {as_of:DateTime64(6, 'UTC')}           what the CRM knew then: events up to it
--   {known:UInt64}                         the same moment in nanoseconds (facts_converted_as_of's
--                                          parameter); {known:UInt64}: the same, for orders and
--                                          payments (a version is the nanosecond received); a second
--                                          name, as chDB's view parameter breaks when the query uses it too
--   {tz:String}                            the organisation's time zone (days of events)
--   {credit:String}                        at_the_time | current
--   scope: SCOPE_SQL's {scoped:Bool}, {groups:Array(String)}, {scope_at:DateTime64(6, 'UTC')}
WITH
    facts AS
    (
        SELECT customer, date, kind, sign, rate, revenue_rc, cost_rc, discount_rc
        FROM facts_converted_as_of(known = {known:UInt64})
        WHERE date <= {to:Date}
    ),
    first_sales AS
    (
        SELECT customer, min(date) AS first_date FROM facts WHERE kind = 'sale' GROUP BY customer
    ),
    -- Orders issued up to `to` in the reporting currency at their issue day's rate, each as received by
    -- as_of (orders_converted_as_of: its latest version by then, from the history of versions).
    orders_known AS
    (
        SELECT id, date, customer, amount, currency, due_date, rate, amount_rc
        FROM orders_converted_as_of(known = {known:UInt64})
        WHERE date <= {to:Date}
    ),
    payments_known AS
    (
        SELECT * FROM payments_converted_as_of(known = {known:UInt64}) WHERE date <= {to:Date}
    ),
    -- What was paid against each order by `to`, in the order's currency.
    paid AS
    (
        SELECT p.order_id AS id, sum(p.amount) AS paid
        FROM payments_known AS p
        INNER JOIN orders_known AS o ON p.order_id = o.id AND p.currency = o.currency
        GROUP BY p.order_id
    ),
    order_states AS
    (
        SELECT
            o.id AS id, o.date AS date, o.customer AS customer, o.amount AS amount, o.due_date AS due_date,
            o.rate AS rate, o.amount_rc AS amount_rc,
            p.paid AS paid,
            if(p.paid >= o.amount, toDecimal128(0, 2), toDecimal128(o.amount, 2) - p.paid) AS outstanding,
            CAST(round(outstanding * o.rate, 2), 'Nullable(Decimal(38, 2))') AS outstanding_rc
        FROM orders_known AS o
        LEFT JOIN paid AS p ON o.id = p.id
    ),
    -- Payments not netted against an order: advances (no order), payments naming an order the CRM
    -- does not know by `to`, or in another currency than their order's; at the rate of their day.
    advances AS
    (
        SELECT customer, date, amount_rc
        FROM payments_known
        WHERE (order_id, currency) NOT IN (SELECT id, currency FROM orders_known)
    ),
    links AS
    (
        SELECT customer, counterparty_id FROM customer_links(as_of = {as_of:DateTime64(6, 'UTC')})
    ),
    cards AS
    (
        SELECT * FROM counterparties_as_of(as_of = {as_of:DateTime64(6, 'UTC')})
    ),
    days AS
    (
        SELECT counterparty_id, day, manager
        FROM manager_days(as_of = {as_of:DateTime64(6, 'UTC')}, tz = {tz:String})
    ),
    firsts AS
    (
        SELECT counterparty_id, min(day) AS first_day, argMin(manager, day) AS first_manager
        FROM days
        GROUP BY counterparty_id
    ),
    -- Each (counterparty, day) something is dated: the contact data at `to`, and every fact, order
    -- and payment through its customer's code ('' when no counterparty carries it).
    dated AS
    (
        SELECT DISTINCT l.counterparty_id AS counterparty_id, k.date AS date
        FROM
        (
            SELECT customer, date FROM facts WHERE date >= {from:Date}
            UNION ALL SELECT customer, date FROM orders_known
            UNION ALL SELECT customer, date FROM advances
        ) AS k
        LEFT JOIN links AS l ON k.customer = l.customer
        UNION DISTINCT
        SELECT counterparty_id, {to:Date} AS date FROM cards
    ),
    -- Who is credited with what happened on that day: at the time, the main manager of that day
    -- (before the first assignment the CRM knows, the first manager); current, today's (as_of's).
    credited AS
    (
        SELECT *
        FROM
        (
            SELECT
                k.counterparty_id AS counterparty_id,
                k.date AS date,
                c.contact_types AS contact_types,
                c.archived AS archived,
                c.registered_at AS registered_at,
                multiIf(
                    k.counterparty_id = '', '',
                    {credit:String} = 'current', c.manager,
                    k.date < f.first_day, f.first_manager,
                    d.manager) AS manager
            FROM dated AS k
            LEFT JOIN cards AS c ON k.counterparty_id = c.counterparty_id
            LEFT JOIN firsts AS f ON k.counterparty_id = f.counterparty_id
            ASOF LEFT JOIN days AS d ON k.counterparty_id = d.counterparty_id AND k.date >= d.day
        )
        WHERE __SCOPE__
    ),
    sales AS
    (
        SELECT
            c.manager AS manager, f.customer AS customer, c.counterparty_id AS counterparty_id,
            ifNull(sumIf(f.sign * f.revenue_rc, f.rate IS NOT NULL), 0) AS revenue,
            ifNull(sumIf(f.sign * f.cost_rc, f.rate IS NOT NULL), 0) AS cost,
            ifNull(sumIf(f.sign * f.discount_rc, f.rate IS NOT NULL), 0) AS discounts,
            uniqExactIf(f.date, f.kind = 'sale') AS deals,
            uniqExactIf(f.date, f.kind = 'sale' AND f.date = s.first_date) AS first_deals,
            countIf(f.rate IS NULL) AS facts_without_rate
        FROM facts AS f
        LEFT JOIN links AS l ON f.customer = l.customer
        INNER JOIN credited AS c ON l.counterparty_id = c.counterparty_id AND f.date = c.date
        LEFT JOIN first_sales AS s ON f.customer = s.customer
        WHERE f.date >= {from:Date}
        GROUP BY manager, customer, counterparty_id
    ),
    debts AS
    (
        SELECT
            c.manager AS manager, o.customer AS customer, c.counterparty_id AS counterparty_id,
            countIf(o.date >= {from:Date}) AS orders_issued,
            ifNull(sumIf(o.amount_rc, o.date >= {from:Date}), 0) AS orders_amount,
            countIf(o.date >= {from:Date} AND o.outstanding = 0) AS orders_paid,
            countIf(o.date >= {from:Date} AND o.outstanding > 0 AND o.paid = 0) AS orders_unpaid,
            countIf(o.date >= {from:Date} AND o.outstanding > 0 AND o.paid > 0) AS orders_partly_paid,
            ifNull(sum(o.outstanding_rc), 0) AS receivables,
            countIf(o.outstanding > 0) AS debt_orders,
            sumIf(toInt64(dateDiff('day', o.date, {to:Date})), o.outstanding > 0) AS debt_days,
            ifNull(sumIf(o.outstanding_rc, o.outstanding > 0 AND o.due_date < {to:Date}), 0) AS overdue,
            countIf(o.outstanding > 0 AND o.due_date < {to:Date}) AS overdue_orders,
            sumIf(toInt64(dateDiff('day', o.due_date, {to:Date})), o.outstanding > 0 AND o.due_date < {to:Date})
                AS overdue_days,
            maxIf(toInt64(dateDiff('day', o.due_date, {to:Date})), o.outstanding > 0 AND o.due_date < {to:Date})
                AS max_overdue_days,
            countIf(o.rate IS NULL) AS orders_without_rate
        FROM order_states AS o
        LEFT JOIN links AS l ON o.customer = l.customer
        INNER JOIN credited AS c ON l.counterparty_id = c.counterparty_id AND o.date = c.date
        WHERE o.date >= {from:Date} OR o.outstanding > 0
        GROUP BY manager, customer, counterparty_id
    ),
    prepaid AS
    (
        SELECT
            c.manager AS manager, a.customer AS customer, c.counterparty_id AS counterparty_id,
            ifNull(sum(a.amount_rc), 0) AS advances,
            countIf(a.amount_rc IS NULL) AS advances_without_rate
        FROM advances AS a
        LEFT JOIN links AS l ON a.customer = l.customer
        INNER JOIN credited AS c ON l.counterparty_id = c.counterparty_id AND a.date = c.date
        GROUP BY manager, customer, counterparty_id
    ),
    -- The manager's counterparties at `to` (at the time; registered by then) or today's, not archived.
    -- Their card's columns come through `credited`: joining counterparties_as_of here again made
    -- chDB answer later reads of facts_converted_as_of with no rows (seen with chDB of 2026-12).
    contacts AS
    (
        SELECT
            c.manager AS manager, '' AS customer, c.counterparty_id AS counterparty_id,
            1 AS counterparties,
            toUInt8(hasAll(c.contact_types, ['phone', 'email', 'address'])) AS complete
        FROM credited AS c
        WHERE c.date = {to:Date} AND c.counterparty_id != '' AND NOT c.archived
          AND ({credit:String} = 'current' OR toDate(c.registered_at, {tz:String}) <= {to:Date})
    ),
    -- Interactions completed (state completed, ending in the period) by their responsible user.
    completed AS
    (
        SELECT
            responsible AS manager, '' AS customer, counterparty_id,
            count() AS interactions,
            sum(greatest(toInt64(dateDiff('second', start, end)), 0)) AS interaction_seconds
        FROM interactions_as_of(as_of = {as_of:DateTime64(6, 'UTC')})
        WHERE state = 'completed' AND toDate(end, {tz:String}) BETWEEN {from:Date} AND {to:Date} AND __SCOPE__
        GROUP BY manager, customer, counterparty_id
    ),
    keys AS
    (
        SELECT manager, customer, counterparty_id FROM sales
        UNION DISTINCT SELECT manager, customer, counterparty_id FROM debts
        UNION DISTINCT SELECT manager, customer, counterparty_id FROM prepaid
        UNION DISTINCT SELECT manager, customer, counterparty_id FROM contacts
        UNION DISTINCT SELECT manager, customer, counterparty_id FROM completed
    )
SELECT
    k.manager AS manager,
    k.customer AS customer,
    k.counterparty_id AS counterparty_id,
    s.revenue AS revenue,
    s.cost AS cost,
    s.discounts AS discounts,
    s.deals AS deals,
    s.first_deals AS first_deals,
    d.orders_issued AS orders_issued,
    d.orders_amount AS orders_amount,
    d.orders_paid AS orders_paid,
    d.orders_unpaid AS orders_unpaid,
    d.orders_partly_paid AS orders_partly_paid,
    d.receivables AS receivables,
    d.debt_orders AS debt_orders,
    d.debt_days AS debt_days,
    d.overdue AS overdue,
    d.overdue_orders AS overdue_orders,
    d.overdue_days AS overdue_days,
    d.max_overdue_days AS max_overdue_days,
    p.advances AS advances,
    s.facts_without_rate + d.orders_without_rate + p.advances_without_rate AS without_rate,
    n.counterparties AS counterparties,
    n.complete AS complete,
    i.interactions AS interactions,
    i.interaction_seconds AS interaction_seconds,
    toUInt8(deals > 0) AS client,
    toUInt8(debt_orders > 0) AS debtor,
    toUInt8(overdue_orders > 0) AS overdue_debtor
FROM keys AS k
LEFT JOIN sales AS s ON k.manager = s.manager AND k.customer = s.customer AND k.counterparty_id = s.counterparty_id
LEFT JOIN debts AS d ON k.manager = d.manager AND k.customer = d.customer AND k.counterparty_id = d.counterparty_id
LEFT JOIN prepaid AS p ON k.manager = p.manager AND k.customer = p.customer AND k.counterparty_id = p.counterparty_id
LEFT JOIN contacts AS n ON k.manager = n.manager AND k.customer = n.customer AND k.counterparty_id = n.counterparty_id
LEFT JOIN completed AS i ON k.manager = i.manager AND k.customer = i.customer AND k.counterparty_id = i.counterparty_id
