"""The analytics store contract: every adapter passes these tests, running the same SQL files.

Runs on chDB always; on the ClickHouse adapter through clickhouse-connect's in-process chDB backend
always (that exercises the adapter's own code); and on a real ClickHouse server when
``CLICKHOUSE_URL`` is set (each test in a database of its own).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from crm_shared.analytics import AnalyticsError, AnalyticsStore, load_query, split_statements
from crm_shared.analytics.chdb import ChdbAnalyticsStore
from crm_shared.analytics.clickhouse import ClickHouseAnalyticsStore

SQL = Path(__file__).parent / "sql"
SCHEMA = SQL / "analytics_schema.sql"
TOP_CUSTOMERS = SQL / "analytics_top_customers.sql"
COLUMNS = ["id", "customer", "amount", "sold_on", "sold_at", "weight", "note"]

Opener = Callable[[], Awaitable[AnalyticsStore]]


@pytest.fixture(params=["chdb", "clickhouse-connect-chdb", "clickhouse"])
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens the adapter under test on the same data every time it is called (to test reopening)."""
    data_dir = tmp_path / "analytics"
    if request.param == "chdb":
        yield lambda: ChdbAnalyticsStore.open(data_dir)
    elif request.param == "clickhouse-connect-chdb":
        yield lambda: ClickHouseAnalyticsStore.open(f"chdb://{data_dir}")
    else:
        url = os.environ.get("CLICKHOUSE_URL")
        if not url:
            pytest.skip("CLICKHOUSE_URL is not set: no ClickHouse server is available here")
        database = f"contract_{uuid.uuid4().hex}"
        admin = await ClickHouseAnalyticsStore.open(url)
        await admin.execute(f"CREATE DATABASE {database}")
        try:
            yield lambda: ClickHouseAnalyticsStore.open(url, database=database)
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {database}")
            await admin.close()


@pytest.fixture
async def store(opener: Opener) -> AsyncIterator[AnalyticsStore]:
    opened = await opener()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sales(store: AnalyticsStore) -> AnalyticsStore:
    """A store with the schema and five sales."""
    await store.run_script(SCHEMA, {"label": "метка"})
    at = datetime(2024, 3, 1, 9, 30)
    rows = [
        (1, "Фирма «Ромашка»", Decimal("1200.50"), date(2024, 1, 15), at, 1.5, "первая; сделка"),
        (2, "Фирма «Ромашка»", Decimal("99.99"), date(2024, 2, 1), at + timedelta(hours=1), 0.25, None),
        (3, "ИП Петров", Decimal("5000.00"), date(2024, 2, 10), at + timedelta(days=1), 10.0, None),
        (4, "ACME Ltd", Decimal("300"), date(2023, 12, 31), at, 2.0, "old"),
        (5, "ACME Ltd", Decimal("700.01"), date(2024, 3, 1), at, 3.0, None),
    ]
    assert await store.insert("sales", COLUMNS, rows) == 5
    return store


async def test_run_script_creates_a_merge_tree_table_and_keeps_semicolons_in_strings(
    sales: AnalyticsStore,
) -> None:
    tables = await sales.query(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name"
    )
    assert tables == [{"name": "notes", "engine": "MergeTree"}, {"name": "sales", "engine": "MergeTree"}]
    notes = await sales.query("SELECT id, body FROM notes ORDER BY id")
    assert notes == [
        {"id": 1, "body": "semi;colon, 'doubled' and 'escaped' quotes"},
        {"id": 2, "body": "метка"},
    ]


async def test_inserted_values_come_back_with_the_documented_python_types(sales: AnalyticsStore) -> None:
    rows = await sales.query("SELECT * FROM sales WHERE id IN (1, 4) ORDER BY id")
    assert rows == [
        {
            "id": 1,
            "customer": "Фирма «Ромашка»",
            "amount": Decimal("1200.50"),
            "sold_on": date(2024, 1, 15),
            "sold_at": datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
            "weight": 1.5,
            "note": "первая; сделка",
        },
        {
            "id": 4,
            "customer": "ACME Ltd",
            "amount": Decimal("300.00"),
            "sold_on": date(2023, 12, 31),
            "sold_at": datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
            "weight": 2.0,
            "note": "old",
        },
    ]
    first = rows[0]
    assert [type(first[c]) for c in COLUMNS] == [int, str, Decimal, date, datetime, float, str]
    assert str(rows[1]["amount"]) == "300.00"


async def test_aware_datetimes_are_stored_as_utc_and_big_integers_are_exact(store: AnalyticsStore) -> None:
    await store.execute(
        "CREATE TABLE t (id UInt64, at DateTime, at_msk DateTime('Europe/Moscow'), ms DateTime64(3))"
        " ENGINE = MergeTree ORDER BY id"
    )
    moscow = timezone(timedelta(hours=3))
    at = datetime(2024, 5, 1, 12, 0, tzinfo=moscow)
    await store.insert("t", ["id", "at", "at_msk", "ms"], [(2**64 - 1, at, at, datetime(2024, 5, 1, 9, 0, 0, 123000))])
    [row] = await store.query("SELECT * FROM t")
    assert row["id"] == 2**64 - 1
    assert row["at"] == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert row["at"].utcoffset() == timedelta(0)
    assert row["at_msk"] == at
    assert str(row["at_msk"].tzinfo) == "Europe/Moscow"
    assert row["ms"] == datetime(2024, 5, 1, 9, 0, 0, 123000, tzinfo=UTC)


async def test_arrays_and_maps_are_inserted_as_python_lists_and_dicts(store: AnalyticsStore) -> None:
    await store.execute(
        "CREATE TABLE t (id UInt8, items Array(String), fields Map(String, String), days Map(String, Date))"
        " ENGINE = MergeTree ORDER BY id"
    )
    rows = [(1, ["a", "b"], {"k": "v", "é": "ж"}, {"d": date(2026, 1, 31)}), (2, [], {}, {})]
    await store.insert("t", ["id", "items", "fields", "days"], rows)
    found = await store.query(
        "SELECT id, items, fields['k'] AS k, fields['é'] AS e, fields['none'] AS none, days['d'] AS d,"
        " length(fields) AS n FROM t ORDER BY id"
    )
    assert [(r["id"], r["items"], r["k"], r["e"], r["none"], r["d"], r["n"]) for r in found] == [
        (1, ["a", "b"], "v", "ж", "", date(2026, 1, 31), 2),
        (2, [], "", "", "", date(1970, 1, 1), 0),
    ]


async def test_parameters_are_bound_server_side_with_their_types(sales: AnalyticsStore) -> None:
    rows = await sales.query(
        "SELECT id FROM sales WHERE customer = {customer:String} AND amount >= {min:Decimal(18, 2)}"
        " AND sold_on >= {since:Date} AND sold_at < {before:DateTime} ORDER BY id",
        {
            "customer": "Фирма «Ромашка»",
            "min": Decimal("100"),
            "since": date(2024, 1, 1),
            "before": datetime(2024, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=3))),
            "unused": "ignored",
        },
    )
    assert rows == [{"id": 1}]
    hostile = "x' OR 1=1 --\t\\n\nЁ"
    echoed = await sales.query(
        "SELECT {s:String} AS s, {ids:Array(UInt64)} AS ids, {names:Array(String)} AS names,"
        " {nothing:Nullable(String)} AS nothing, {flag:Bool} AS flag, {at:DateTime64(6)} AS at",
        {
            "s": hostile,
            "ids": [1, 2],
            "names": ["a'b", "ж\\щ"],
            "nothing": None,
            "flag": True,
            "at": datetime(2024, 1, 1, 0, 0, 0, 5),
        },
    )
    assert echoed == [
        {
            "s": hostile,
            "ids": [1, 2],
            "names": ["a'b", "ж\\щ"],
            "nothing": None,
            "flag": True,
            "at": datetime(2024, 1, 1, 0, 0, 0, 5, tzinfo=UTC),
        }
    ]


async def test_cte_and_window_functions_from_a_sql_file(sales: AnalyticsStore) -> None:
    rows = await sales.query(load_query(TOP_CUSTOMERS), {"since": date(2024, 1, 1)})
    assert rows == [
        {
            "customer": "ИП Петров",
            "total": Decimal("5000.00"),
            "deals": 1,
            "place": 1,
            "running_total": Decimal("5000.00"),
        },
        {
            "customer": "Фирма «Ромашка»",
            "total": Decimal("1300.49"),
            "deals": 2,
            "place": 2,
            "running_total": Decimal("6300.49"),
        },
        {
            "customer": "ACME Ltd",
            "total": Decimal("700.01"),
            "deals": 1,
            "place": 3,
            "running_total": Decimal("7000.50"),
        },
    ]


async def test_execute_runs_dml_with_parameters(sales: AnalyticsStore) -> None:
    await sales.execute(
        "INSERT INTO notes SELECT id + 100, customer FROM sales WHERE customer LIKE {prefix:String}",
        {"prefix": "Фирма%"},
    )
    assert await sales.query("SELECT count() AS n FROM notes WHERE id > 100") == [{"n": 2}]


async def test_an_empty_result_is_an_empty_list(sales: AnalyticsStore) -> None:
    assert await sales.query("SELECT * FROM sales WHERE id = {id:UInt64}", {"id": 999}) == []
    assert await sales.insert("sales", COLUMNS, []) == 0


async def test_sql_errors_raise_analytics_error_with_the_engine_code(sales: AnalyticsStore) -> None:
    with pytest.raises(AnalyticsError, match="Syntax error") as syntax:
        await sales.query("SELEC 1")
    assert syntax.value.code == 62
    with pytest.raises(AnalyticsError) as unknown:
        await sales.query("SELECT * FROM no_such_table")
    assert unknown.value.code == 60
    with pytest.raises(AnalyticsError):
        await sales.query("SELECT {missing:UInt8}")
    with pytest.raises(AnalyticsError):
        await sales.execute("CREATE TABLE sales (id UInt64) ENGINE = MergeTree ORDER BY id")
    with pytest.raises(AnalyticsError):
        await sales.insert("no_such_table", ["id"], [(1,)])
    with pytest.raises(AnalyticsError, match="every row must have"):
        await sales.insert("sales", COLUMNS, [(1, "short")])
    assert await sales.query("SELECT count() AS n FROM sales") == [{"n": 5}]


async def test_insert_of_100k_rows(sales: AnalyticsStore) -> None:
    at = datetime(2024, 1, 1)
    rows = [
        (
            1000 + i,
            f"Клиент {i % 100}",
            Decimal(i % 1000) / 100,
            date(2024, 1, 1) + timedelta(days=i % 60),
            at,
            i / 2,
            None,
        )
        for i in range(100_000)
    ]
    assert await sales.insert("sales", COLUMNS, rows) == 100_000
    [total] = await sales.query("SELECT count() AS n, sum(amount) AS s FROM sales WHERE id >= 1000")
    assert total == {"n": 100_000, "s": sum((r[2] for r in rows), Decimal("0.00"))}


async def test_an_arrow_table_is_inserted_by_column_names_with_defaults_for_the_rest(store: AnalyticsStore) -> None:
    await store.execute(
        "CREATE TABLE typed (id String, kind LowCardinality(String), day Date, amount Decimal(18, 2),"
        " qty Decimal(18, 3), n UInt64, note String DEFAULT 'none') ENGINE = MergeTree ORDER BY id"
    )
    data = pa.table(
        {
            "n": pa.array([7, 2**64 - 1], pa.uint64()),
            "id": pa.array(["б-1", "a-2"]),
            "kind": pa.array(["sale", "return"]),
            "day": pa.array([date(2026, 1, 31), date(1970, 1, 1)], pa.date32()),
            "amount": pa.array([Decimal("1200.50"), Decimal("0.01")], pa.decimal128(18, 2)),
            "qty": pa.array([Decimal("2.500"), Decimal("999999999999999.999")], pa.decimal128(18, 3)),
        }
    )
    assert await store.insert_arrow("typed", data) == 2
    assert await store.insert_arrow("typed", data.slice(0, 0)) == 0
    assert await store.query("SELECT * FROM typed ORDER BY id") == [
        {
            "id": "a-2",
            "kind": "return",
            "day": date(1970, 1, 1),
            "amount": Decimal("0.01"),
            "qty": Decimal("999999999999999.999"),
            "n": 2**64 - 1,
            "note": "none",
        },
        {
            "id": "б-1",
            "kind": "sale",
            "day": date(2026, 1, 31),
            "amount": Decimal("1200.50"),
            "qty": Decimal("2.500"),
            "n": 7,
            "note": "none",
        },
    ]
    with pytest.raises(AnalyticsError):
        await store.insert_arrow("typed", pa.table({"id": ["x"], "no_such_column": [1]}))
    with pytest.raises(AnalyticsError):
        await store.insert_arrow("no_such_table", pa.table({"id": ["x"]}))
    assert await store.query("SELECT count() AS n FROM typed") == [{"n": 2}]


async def test_data_survives_close_and_reopen(opener: Opener) -> None:
    first = await opener()
    try:
        await first.execute("CREATE TABLE kept (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
        await first.insert("kept", ["id", "name"], [(1, "Сохранено")])
    finally:
        await first.close()
    second = await opener()
    try:
        assert await second.query("SELECT * FROM kept") == [{"id": 1, "name": "Сохранено"}]
    finally:
        await second.close()


async def test_a_closed_store_refuses_calls(opener: Opener) -> None:
    closed = await opener()
    await closed.close()
    await closed.close()
    with pytest.raises(AnalyticsError, match="closed"):
        await closed.query("SELECT 1")


async def test_calls_do_not_block_the_event_loop(store: AnalyticsStore) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await store.query("SELECT sleep(0.3)")
    finally:
        ticker.cancel()
    assert ticks >= 10


# --- chDB only: one data directory per process -------------------------------------------------


async def test_chdb_refuses_a_second_directory_while_one_is_open(tmp_path: Path) -> None:
    first = await ChdbAnalyticsStore.open(tmp_path / "a")
    try:
        with pytest.raises(AnalyticsError, match="one data directory per process"):
            await ChdbAnalyticsStore.open(tmp_path / "b")
    finally:
        await first.close()
    second = await ChdbAnalyticsStore.open(tmp_path / "b")
    await second.close()


async def test_chdb_stores_on_one_directory_share_the_connection(tmp_path: Path) -> None:
    one = await ChdbAnalyticsStore.open(tmp_path / "a")
    two = await ChdbAnalyticsStore.open(tmp_path / "a" / ".." / "a")
    try:
        await one.execute("CREATE TABLE shared (id UInt64) ENGINE = MergeTree ORDER BY id")
        await one.close()
        assert await two.insert("shared", ["id"], [(1,)]) == 1
        assert await two.query("SELECT id FROM shared") == [{"id": 1}]
    finally:
        await one.close()
        await two.close()


# --- the shared SQL file loader ----------------------------------------------------------------


def test_split_statements_ignores_semicolons_in_strings_names_and_comments() -> None:
    text = """
        SELECT 'a;b', 'it''s;', 'back\\';slash' ; -- trailing; comment
        SELECT `odd;name`, "also;odd" FROM t /* block; comment */;
        # hash; comment
        ;
        SELECT 3
    """
    assert split_statements(text) == [
        "SELECT 'a;b', 'it''s;', 'back\\';slash'",
        'SELECT `odd;name`, "also;odd" FROM t /* block; comment */',
        "SELECT 3",
    ]
