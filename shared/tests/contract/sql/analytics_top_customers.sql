-- Customers ranked by revenue since a date, with each one's share of the running total.
WITH per_customer AS
(
    SELECT customer, sum(amount) AS total, count() AS deals
    FROM sales
    WHERE sold_on >= {since:Date}
    GROUP BY customer
)
SELECT
    customer,
    total,
    deals,
    rank() OVER (ORDER BY total DESC) AS place,
    sum(total) OVER (ORDER BY total DESC, customer ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_total
FROM per_customer
ORDER BY place, customer
