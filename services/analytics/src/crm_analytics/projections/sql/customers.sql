-- Customers of the trade facts in code order after {after:String}, {limit:UInt32} at a time, with how
-- many facts they have and the day of the last one (for the report of customers not linked yet).
SELECT customer, count() AS facts, max(date) AS last_date
FROM trade_facts FINAL
WHERE customer > {after:String}
GROUP BY customer
ORDER BY customer
LIMIT {limit:UInt32}
