-- Contact effectiveness (crm_analytics.application.effectiveness): per group of touches (the common
-- table `touches`, see touches.sql) by {by:String} (kind | manager | source), how many touches, how
-- many were followed by a sale and the revenue and profit after them. A touch of day D sees the facts
-- of its counterparty (the common table `sales`, see sales.sql) dated D … D + {window_days:UInt32}:
-- its own day counts. Followed by a sale: at least one fact of kind `sale` in that window (a count,
-- so a fact without a rate counts too); revenue and profit sum the converted facts of the window,
-- returns subtracted. A fact in the windows of two touches counts in both (not an attribution).
SELECT
    key,
    count() AS interactions,
    countIf(sold) AS followed,
    sum(revenue_after) AS revenue,
    sum(profit_after) AS profit
FROM
(
    SELECT
        t.interaction_id AS interaction_id,
        any(multiIf({by:String} = 'kind', t.kind, {by:String} = 'manager', t.manager, t.source)) AS key,
        countIf(s.kind = 'sale' AND s.date BETWEEN t.day AND toDate32(t.day) + {window_days:UInt32}) > 0 AS sold,
        sumIf(s.revenue, s.converted AND s.date BETWEEN t.day AND toDate32(t.day) + {window_days:UInt32}) AS revenue_after,
        sumIf(s.profit, s.converted AND s.date BETWEEN t.day AND toDate32(t.day) + {window_days:UInt32}) AS profit_after
    FROM touches AS t
    LEFT JOIN sales AS s ON s.counterparty_id = t.counterparty_id
    GROUP BY t.interaction_id
)
GROUP BY key
