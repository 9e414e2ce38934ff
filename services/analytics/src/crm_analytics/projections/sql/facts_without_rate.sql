-- Facts of the period that cannot be converted to the reporting currency (no rate of their currency
-- on or before their date): never summed, so a report says which, by currency, with the earliest date
-- (load rates from that day on to count them).
SELECT currency, count() AS facts, min(date) AS earliest
FROM facts_converted
WHERE date BETWEEN {from:Date} AND {to:Date} AND rate IS NULL
GROUP BY currency
ORDER BY currency
