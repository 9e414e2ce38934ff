"""P6: trade-fact ingest into the embedded analytics store, against a bare chDB bulk insert.

Generates N sales lines in memory (``bench.sales``: seeded, ~50,000 skewed customers, 2,000 items,
~3 % returns, Decimal amounts) as the product's ``TradeFact`` objects (not timed), then measures in
one run, on one chDB data directory:

- baseline: the same facts inserted by hand into a copy of ``trade_facts`` (same columns and
  engine): one Arrow column per field built straight from the objects' values with the table's
  types, and the whole set sent as **one** ``INSERT`` (a bulk insert, no versions, no batching);
- measured: ``write_facts`` (the code the HTTP batch, the Kafka feed and the CSV job all call) into
  ``trade_facts`` on a ``ChdbAnalyticsStore`` prepared as the service prepares it, in batches of the
  CSV import's size (``facts_import.BATCH``, 20,000), one after the other;
- also shown, not judged: the same N facts under other ids written afterwards in batches of the HTTP
  batch's maximum (``TRADE_FACTS.max_batch``, 5,000), into the same store (it then holds N facts).

Target (issue 14): ≥ 200,000 rows/s. Check: the baseline's table holds N facts and the product's 2N
afterwards (``FINAL``), else INVALID. The last line is machine-readable, e.g. ``P6 ratio=0.40
ingest_rps=210000 baseline_rps=520000 rows=2000000 batch=20000 http_batch_rps=150000 target_rps=200000
PASS``.

    uv run python -m bench.p6_fact_ingest [--rows N] [--quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench import sales
from bench.loop import run as run_on_loop
from bench.result import Result, emit, fields_of
from crm_analytics.application.facts_import import BATCH
from crm_analytics.domain.records import TRADE_FACTS as KIND
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import TRADE_FACTS, prepare, write_facts
from crm_shared.analytics.chdb import ChdbAnalyticsStore

TARGET_RPS = 200_000
HTTP_BATCH = KIND.max_batch
BASELINE_TABLE = "bench_bare_facts"
SEED = 6


def generate(total: int) -> list[TradeFact]:
    facts: list[TradeFact] = []
    for chunk in sales.chunks(total, SEED):
        facts.extend(sales.trade_facts(chunk))
    return facts


def bare_insert(connection: Any, facts: list[TradeFact]) -> tuple[float, float]:
    """Baseline: the facts as typed Arrow columns, one bulk ``INSERT``; returns the seconds it took in
    all, and of them the engine's (the ``INSERT`` of the ready Arrow stream)."""
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("kind", pa.string()),
            ("date", pa.date32()),
            ("customer", pa.string()),
            ("item", pa.string()),
            ("division", pa.string()),
            ("manager", pa.string()),
            ("quantity", pa.decimal128(18, 3)),
            ("revenue", pa.decimal128(18, 2)),
            ("revenue_without_vat", pa.decimal128(18, 2)),
            ("cost", pa.decimal128(18, 2)),
            ("discount", pa.decimal128(18, 2)),
            ("currency", pa.string()),
        ]
    )
    started = time.perf_counter()
    arrays = [pa.array([getattr(f, column.name) for f in facts], type=column.type) for column in schema]
    arrays.append(pa.array([1] * len(facts), type=pa.uint64()))
    table = pa.Table.from_arrays(arrays, schema=schema.append(pa.field("version", pa.uint64())))
    data = sales.arrow_stream(table)
    sending = time.perf_counter()
    inserter = connection.send_insert(f"INSERT INTO {BASELINE_TABLE}", "ArrowStream")
    inserter.append(data)
    inserter.finish()
    done = time.perf_counter()
    return done - started, done - sending


def count(connection: Any, sql: str) -> int:
    return int(str(connection.query(sql, "CSV")).strip())


async def main_async(total: int, workdir: Path) -> int:
    print(f"P6 fact ingest: generating {total:,} sales lines in memory (not measured) ...", flush=True)
    started = time.perf_counter()
    facts = generate(total)
    returns = sum(1 for f in facts if f.kind == "return")
    customers = len({f.customer for f in facts})
    print(
        f"  {len(facts):,} facts ({returns:,} returns, {customers:,} customers)"
        f" in {time.perf_counter() - started:.1f} s; store {workdir}",
        flush=True,
    )
    store = await ChdbAnalyticsStore.open(workdir / "chdb")
    try:
        await prepare(store)
        await store.execute(f"CREATE TABLE {BASELINE_TABLE} AS {TRADE_FACTS}")
        # The same process's connection on the same directory (chDB shares it), used only while the
        # store is idle.
        from chdb.state import connect

        connection = connect(str(store.path))
        base_s, engine_s = bare_insert(connection, facts)
        base_rows = count(connection, f"SELECT count() FROM {BASELINE_TABLE}")
        print(
            f"  baseline  bare bulk insert (one INSERT) {total / base_s:>10,.0f} rows/s ({base_s:.2f} s; of it"
            f" {engine_s:.2f} s the engine's INSERT of the ready Arrow stream, the rest Python objects to Arrow)",
            flush=True,
        )

        started = time.perf_counter()
        for start in range(0, total, BATCH):
            await write_facts(store, facts[start : start + BATCH])
        spent = time.perf_counter() - started
        others = [replace(f, id=f"H{f.id}") for f in facts]  # the same facts under new ids (not timed)
        started = time.perf_counter()
        for start in range(0, total, HTTP_BATCH):
            await write_facts(store, others[start : start + HTTP_BATCH])
        http_spent = time.perf_counter() - started
        rows = count(connection, f"SELECT count() FROM {TRADE_FACTS} FINAL")
    finally:
        await store.close()
    rps, base_rps, http_rps = total / spent, total / base_s, total / http_spent
    print(f"  measured  write_facts, batches of {BATCH:,}  {rps:>10,.0f} rows/s ({spent:.2f} s)")
    print(
        f"  also      write_facts, batches of {HTTP_BATCH:,} (the HTTP batch's maximum) {http_rps:>10,.0f} rows/s"
        f" ({http_spent:.2f} s, ratio {http_rps / base_rps:.2f}; not judged)"
    )
    print(
        f"  check     rows stored: {rows:,} (product, FINAL), {base_rows:,} (baseline);"
        f" expected {2 * total:,}, {total:,}"
    )
    summary = (
        f"ratio={rps / base_rps:.2f} ingest_rps={rps:.0f} baseline_rps={base_rps:.0f} rows={total} batch={BATCH}"
        f" http_batch={HTTP_BATCH} http_batch_rps={http_rps:.0f}"
    )
    if rows != 2 * total or base_rows != total:
        print(f"P6 INVALID {summary} stored={rows} baseline_stored={base_rows}")
        return 2
    passed = rps >= TARGET_RPS
    if not passed:
        print(f"  missed: {rps:,.0f} rows/s (target {TARGET_RPS:,})")
    emit(
        Result(
            "P6",
            f"{rps:,.0f} rows/s (bare insert {base_rps:,.0f})",
            f"≥ {TARGET_RPS:,} rows/s",
            rps / base_rps,
            "PASS" if passed else "MISS",
            fields_of(f"{summary} target_rps={TARGET_RPS}"),
            [] if passed else ["rows/s"],
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p6_fact_ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="sales lines (default 2,000,000; --quick 200,000)")
    parser.add_argument("--quick", action="store_true", help="fewer lines, for a smoke test")
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    total = args.rows or (200_000 if args.quick else 2_000_000)
    if args.keep is not None:
        shutil.rmtree(args.keep / "chdb", ignore_errors=True)
        args.keep.mkdir(parents=True, exist_ok=True)
        return run_on_loop(main_async(total, args.keep))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p6-"))
    try:
        return run_on_loop(main_async(total, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
