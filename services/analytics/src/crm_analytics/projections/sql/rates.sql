-- Currency rates in (currency, date) order after a key, for GET /api/v1/analytics/currency-rates.
--   {currency:String}   one currency, or '' for all
--   {from:Date}, {to:Date}   the days of the rates, both included
--   {after_currency:String}, {after_date:Date}   the last rate of the previous page ('' and 1970-01-01 first)
SELECT currency, date, rate
FROM currency_rates FINAL
WHERE ({currency:String} = '' OR currency = {currency:String})
    AND date BETWEEN {from:Date} AND {to:Date}
    AND (currency, date) > ({after_currency:String}, {after_date:Date})
ORDER BY currency, date
LIMIT {limit:UInt32}
