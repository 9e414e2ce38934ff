-- Contract fixture for the analytics store: one MergeTree table with the column types the port
-- promises to round-trip; a semicolon in a comment; must not split the script.
CREATE TABLE IF NOT EXISTS sales
(
    id       UInt64,
    customer String,
    amount   Decimal(18, 2),
    sold_on  Date,
    sold_at  DateTime,
    weight   Float64,
    note     Nullable(String)
)
ENGINE = MergeTree
ORDER BY (customer, id);

/* Block comments may hold semicolons too; and so may strings: */
CREATE TABLE IF NOT EXISTS notes (id UInt64, body String) ENGINE = MergeTree ORDER BY id;

INSERT INTO notes VALUES (1, 'semi;colon, ''doubled'' and \'escaped\' quotes'), (2, {label:String});
