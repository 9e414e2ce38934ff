"""P5: the ABC report over millions of sales lines, against the same ABC hand-written on chDB.

Loads N sales lines (``bench.sales``: seeded, ~50,000 skewed customers, ~3 % returns, ~5 % in USD)
into the embedded analytics store prepared as the service prepares it: the lines by a bare bulk
insert into ``trade_facts`` (loading is not measured), a USD rate per month through the product's
``write_rates``, and then whatever the product derives from the facts. Then, in one run, after a
warm-up of each, ``--runs`` times each in turn:

- measured: ``AbcReport.classify`` for the last year of the data, revenue, shares 70/20/10, first
  page of 100 rows and the summary: exactly what ``GET /api/v1/analytics/abc`` asks of the report;
- baseline: the same classification hand-written as one SQL over the raw ``trade_facts`` (no
  ``FINAL``: the loaded lines have one version each) with the same conversion of USD lines (the rate
  of the month, ASOF join), returning the summary per class.

Target (issue 14): ≤ 0.5 s and ≤ 1.2× the baseline (median of the runs; p95 printed beside). Check:
every customer gets the same class from both (the product's every row against the hand-written
query's), else INVALID. The last line is machine-readable, e.g. ``P5 ratio=1.10 abc_ms=320
abc_p95_ms=350 baseline_ms=290 baseline_p95_ms=310 lines=10000000 customers=50000 target_ms=500
target_ratio=1.2 PASS``.

    uv run python -m bench.p5_abc [--lines N] [--runs N] [--quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import sales
from bench.loop import run as run_on_loop
from bench.result import Result, emit, fields_of
from crm_analytics.application.abc import AbcQuery, AbcReport, AbcResult
from crm_analytics.domain.abc import Period
from crm_analytics.domain.currency_rate import Rate
from crm_analytics.projections.tables import TRADE_FACTS, prepare, write_rates
from crm_shared.analytics.chdb import ChdbAnalyticsStore
from crm_shared.identity import Caller

TARGET_S = 0.5
TARGET_RATIO = 1.2
SEED = 5
PAGE = 100  # the API's default page
CALLER = Caller(user_id="bench-p5", roles=frozenset({"marketer"}), groups=frozenset())
ASKED = AbcQuery(period=Period(date(sales.last_day().year, 1, 1), sales.last_day()))

# The baseline, written by hand as one would for this data: each line's revenue signed and converted
# (1 in EUR, else the rate in force on its date, rounded to cents), summed per customer over the
# period; customers known by its end; 1C's rule with ties by customer code.
BASELINE = """
WITH
    per_customer AS
    (
        SELECT
            f.customer AS customer,
            sumIf(
                if(f.kind = 'return', -1, 1)
                    * round(toDecimal128(f.revenue, 2) * if(f.currency = 'EUR', toDecimal64(1, 6), r.rate), 2),
                f.date >= {from:Date} AND (f.currency = 'EUR' OR r.currency != '')) AS value
        FROM trade_facts AS f
        ASOF LEFT JOIN currency_rates AS r ON f.currency = r.currency AND f.date >= r.date
        WHERE f.date <= {to:Date}
        GROUP BY customer
    ),
    classified AS
    (
        SELECT
            customer,
            value,
            sum(value) OVER (ORDER BY value, customer ROWS UNBOUNDED PRECEDING) AS cumulative,
            sum(value) OVER () AS total,
            multiIf(
                total <= 0 OR cumulative * 100 <= {c_share:Decimal(5, 2)} * total, 'C',
                cumulative * 100 <= {cb_share:Decimal(5, 2)} * total, 'B',
                'A') AS class
        FROM per_customer
    )
"""
BASELINE_SUMMARY = BASELINE + "SELECT class, count() AS customers, sum(value) AS value FROM classified GROUP BY class"
BASELINE_CLASSES = BASELINE + "SELECT customer, class FROM classified"


def usd_rates() -> list[Rate]:
    """One USD rate on the first of every month of the data, from its first day."""
    rates, day = [], sales.FIRST_DAY
    while day <= sales.last_day():
        step = (day.year - sales.FIRST_DAY.year) * 12 + day.month
        rates.append(Rate("USD", day, Decimal("0.90") + Decimal(step % 7) / 100 + Decimal("0.000123")))
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return rates


def load(connection: Any, total: int) -> None:
    """The lines by bare bulk inserts of Arrow chunks (not the product's write path: not measured)."""
    for chunk in sales.chunks(total, SEED):
        inserter = connection.send_insert(f"INSERT INTO {TRADE_FACTS}", "ArrowStream")
        inserter.append(sales.arrow_stream(sales.arrow_table(chunk, version=1)))
        inserter.finish()


async def timed(call: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    await call()  # warm-up
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        spent.append(time.perf_counter() - started)
    return spent


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def main_async(total: int, runs: int, workdir: Path) -> int:
    print(f"P5 ABC report: loading {total:,} sales lines into {workdir} (not measured) ...", flush=True)
    started = time.perf_counter()
    store = await ChdbAnalyticsStore.open(workdir / "chdb")
    try:
        await prepare(store)
        # The same process's connection on the same directory (chDB shares it), used while the store is idle.
        from chdb.state import connect

        load(connect(str(store.path)), total)
        await write_rates(store, usd_rates())
        print(f"  loaded in {time.perf_counter() - started:.1f} s", flush=True)
        report = AbcReport(store)
        parameters = ASKED.parameters()

        results: list[AbcResult] = []

        async def product() -> object:
            results.append(await report.classify(CALLER, ASKED, limit=PAGE))
            return results[-1]

        async def baseline() -> object:
            return await store.query(BASELINE_SUMMARY, parameters)

        measured: list[float] = []
        base: list[float] = []
        await product()
        await baseline()  # warm-up
        for _ in range(runs):  # in turn, so both see the same load
            measured += await timed(product, 1)
            base += await timed(baseline, 1)
        result = results[-1]
        # Every row in one page (one classification; the check is not timed).
        mine = {row.customer: row.abc_class async for row in report.every_row(CALLER, ASKED, page=sales.CUSTOMERS)}
        hand = {str(r["customer"]): str(r["class"]) for r in await store.query(BASELINE_CLASSES, parameters)}
    finally:
        await store.close()
    med, base_med = statistics.median(measured), statistics.median(base)
    ratio = med / base_med
    print(
        f"  baseline  hand-written SQL over the raw table  median {base_med * 1000:7.1f} ms,"
        f" p95 {p95(base) * 1000:7.1f} ms"
    )
    print(
        f"  measured  AbcReport.classify (page of {PAGE} + summary) median {med * 1000:7.1f} ms,"
        f" p95 {p95(measured) * 1000:7.1f} ms ({runs} runs each)"
    )
    summary = ", ".join(f"{c} {s.customers:,}" for c, s in result.classes.items())
    differ = sum(1 for customer in hand.keys() | mine.keys() if hand.get(customer) != mine.get(customer))
    print(f"  check     {len(mine):,} customers ({summary}); classes differing from the baseline's: {differ}")
    fields = (
        f"ratio={ratio:.2f} abc_ms={med * 1000:.0f} abc_p95_ms={p95(measured) * 1000:.0f}"
        f" baseline_ms={base_med * 1000:.0f} baseline_p95_ms={p95(base) * 1000:.0f} lines={total}"
        f" customers={len(mine)}"
    )
    if differ or not mine:
        print(f"P5 INVALID {fields} differing_classes={differ}")
        return 2
    missed = [name for name, ok in (("time", med <= TARGET_S), ("ratio", ratio <= TARGET_RATIO)) if not ok]
    if missed:
        target_ms = TARGET_S * 1000
        print(f"  missed: median {med * 1000:.0f} ms (target {target_ms:.0f}), ratio {ratio:.2f} (max {TARGET_RATIO})")
    emit(
        Result(
            "P5",
            f"{med * 1000:,.0f} ms median (hand-written {base_med * 1000:,.0f} ms), {total:,} lines",
            f"≤ {TARGET_S * 1000:.0f} ms and ≤ {TARGET_RATIO}× hand-written SQL",
            ratio,
            "MISS" if missed else "PASS",
            fields_of(f"{fields} target_ms={TARGET_S * 1000:.0f} target_ratio={TARGET_RATIO}"),
            missed,
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p5_abc", description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=None, help="sales lines (default 10,000,000; quick 1,000,000)")
    parser.add_argument(
        "--runs", type=int, default=None, help="timed runs of each after a warm-up (default 10; --quick 5)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer lines and runs, for a smoke test")
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    total = args.lines or (1_000_000 if args.quick else 10_000_000)
    runs = args.runs or (3 if args.quick else 10)
    if args.keep is not None:
        shutil.rmtree(args.keep / "chdb", ignore_errors=True)
        args.keep.mkdir(parents=True, exist_ok=True)
        return run_on_loop(main_async(total, runs, args.keep))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p5-"))
    try:
        return run_on_loop(main_async(total, runs, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
