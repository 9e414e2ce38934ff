-- facts_without_rate.sql from the sums kept for the facts as they are now (trade_lines, ADR 21): the
-- lines of the period in another currency than the reporting one (views.sql's reporting_currency) that no rate of their
-- currency on or before their date converts, by currency, with the earliest date. A line's weight
-- sums its versions counted and taken back, so only the facts as they are now are counted.
WITH (SELECT currency FROM reporting_currency) AS rc
SELECT currency, sum(lines) AS facts, min(date) AS earliest
FROM
(
    SELECT l.currency AS currency, l.date AS date, sum(l.weight) AS lines
    FROM
    (
        SELECT currency, date, weight
        FROM trade_lines
        WHERE currency != rc AND date >= {from:Date} AND date <= {to:Date}
    ) AS l
    ASOF LEFT JOIN (SELECT currency, date, rate FROM currency_rates FINAL) AS r
        ON l.currency = r.currency AND l.date >= r.date
    WHERE r.currency = ''
    GROUP BY currency, date
    HAVING lines > 0
)
GROUP BY currency
ORDER BY currency
