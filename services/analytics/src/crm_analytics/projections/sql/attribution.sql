-- Multi-touch attribution (crm_analytics.application.attribution): one row per sale or return (the
-- common table `sales`, see sales.sql; converted facts only) dated {from:Date} … {to:Date}, with the
-- touches of its counterparty (the common table `touches`, see touches.sql) dated from
-- {lookback_days:UInt32} days before the fact's date to the fact's date, both included, in the order
-- of their end (then interaction id): `ages`, each touch's days before the fact, and `keys`, its
-- group by {by:String} (kind | manager | source); both empty for none. The split by the model is made
-- in Python, exactly (crm_analytics.domain.attribution).
SELECT
    id,
    date,
    counterparty_id,
    revenue,
    profit,
    arrayMap(x -> toInt32(date - x.3), touched) AS ages,
    arrayMap(x -> multiIf({by:String} = 'kind', x.4, {by:String} = 'manager', x.5, x.6), touched) AS keys
FROM
(
    SELECT
        s.id AS id,
        any(s.date) AS date,
        any(s.counterparty_id) AS counterparty_id,
        any(s.revenue) AS revenue,
        any(s.profit) AS profit,
        arraySort(groupArrayIf(
            (t.end, t.interaction_id, t.day, t.kind, t.manager, t.source),
            t.interaction_id != '' AND t.day BETWEEN toDate32(s.date) - {lookback_days:UInt32} AND s.date)) AS touched
    FROM sales AS s
    LEFT JOIN touches AS t ON t.counterparty_id = s.counterparty_id
    WHERE s.converted AND s.date BETWEEN {from:Date} AND {to:Date}
    GROUP BY s.id
)
