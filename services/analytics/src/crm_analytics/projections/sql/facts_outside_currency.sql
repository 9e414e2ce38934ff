-- Facts of the period in currencies other than the reporting one: never summed unconverted, so the
-- ABC answer says how many were left out.
SELECT currency, count() AS facts
FROM trade_facts FINAL
WHERE date BETWEEN {from:Date} AND {to:Date} AND currency != {currency:String}
GROUP BY currency
ORDER BY currency
