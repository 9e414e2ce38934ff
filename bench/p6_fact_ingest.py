"""P6: trade-fact ingest into the embedded analytics store, against a bare chDB bulk insert.

Generates N sales lines (``bench.sales``: seeded, ~50,000 skewed customers, 2,000 items, ~3 % returns,
Decimal amounts) and writes them as one CSV file with every column (not timed), then measures in one
run, on one chDB data directory:

- baseline: chDB's own bulk insert of that file into a copy of ``trade_facts`` (same columns and
  engine): ``INSERT … SELECT * FROM file(…, CSVWithNames)``, one statement, chDB parsing the CSV itself
  (no checks, no versions, no sums);
- measured: the product's import of the same file, as ``crm import trade-facts FILE`` runs it: the
  analytics service built on the data directory, a kernel job (progress, report of rejected rows)
  running ``RecordImport`` — every row checked by the published rules, written in batches of
  ``facts_import.BATCH`` with its versions, the take-back of the versions it replaces and the ABC
  sums (ADR 21);
- both ways first run once, not timed, over a file of 1,000 facts under other ids (the first use of
  their code in a process costs ~0.4 s once);
- also shown, not judged: the same facts under other ids as Python objects through ``write_facts``
  (the code the HTTP batch and the Kafka feed call) in batches of the HTTP batch's maximum (5,000).

Target (issue 14): ≥ 200,000 rows/s. Check: the job took N facts and rejected none; the baseline's
table holds N facts and the product's 2N afterwards (``FINAL``), else INVALID. The last line is
machine-readable, e.g. ``P6 ratio=0.40 ingest_rps=210000 baseline_rps=520000 rows=2000000 batch=20000
http_batch_rps=150000 target_rps=200000 PASS``.

    uv run python -m bench.p6_fact_ingest [--rows N] [--quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import sales
from bench.loop import run as run_on_loop
from bench.result import Result, emit, fields_of
from crm_analytics import bootstrap
from crm_analytics.application.facts_import import BATCH
from crm_analytics.domain.records import TRADE_FACTS as KIND
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import TRADE_FACTS, write_facts
from crm_shared.analytics.chdb import ChdbAnalyticsStore
from crm_shared.identity import caller_of
from crm_shared.jobs import Job
from crm_shared.settings import KernelSettings

TARGET_RPS = 200_000
HTTP_BATCH = KIND.max_batch
BASELINE_TABLE = "bench_bare_facts"
SEED = 6
WARM_UP = 1_000


def generate(total: int) -> list[TradeFact]:
    facts: list[TradeFact] = []
    for chunk in sales.chunks(total, SEED):
        facts.extend(sales.trade_facts(chunk))
    return facts


def write_csv(facts: list[TradeFact], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(KIND.columns)
        writer.writerows([getattr(fact, column) for column in KIND.columns] for fact in facts)


def count(connection: Any, sql: str) -> int:
    return int(str(connection.query(sql, "CSV")).strip())


async def main_async(total: int, workdir: Path) -> int:
    print(f"P6 fact ingest: generating {total:,} sales lines as a CSV file (not measured) ...", flush=True)
    started = time.perf_counter()
    facts = generate(total)
    returns = sum(1 for f in facts if f.kind == "return")
    customers = len({f.customer for f in facts})
    path = workdir / "trade-facts.csv"
    write_csv(facts, path)
    print(
        f"  {len(facts):,} facts ({returns:,} returns, {customers:,} customers), {path.stat().st_size / 1e6:.0f} MB"
        f" in {time.perf_counter() - started:.1f} s; data directory {workdir}",
        flush=True,
    )
    service = await bootstrap.build(KernelSettings(data_dir=workdir / "data"))
    try:
        store = await service.analytics.store()
        assert isinstance(store, ChdbAnalyticsStore)
        await store.execute(f"CREATE TABLE {BASELINE_TABLE} AS {TRADE_FACTS}")
        # The same process's connection on the same directory (chDB shares it), used only while the
        # store is idle.
        from chdb.state import connect

        connection = connect(str(store.path))
        names = ", ".join(KIND.columns)
        caller = caller_of("bench", ["administrator"], name="bench")

        def bare(file: Path) -> None:
            connection.query(f"INSERT INTO {BASELINE_TABLE} ({names}) SELECT * FROM file('{file}', CSVWithNames)")

        async def product(file: Path) -> Job:
            job = await service.jobs.create("import", caller, {"filename": file.name, "what": KIND.slug})
            return await service.jobs.run(job, lambda control: service.importer.run(control, file, caller, KIND))

        # Warm-up, not timed: both ways once over a small file of other ids (first use of their code,
        # e.g. the compute kernels and the views' pipelines, costs ~0.4 s once per process).
        warm = workdir / "warm-up.csv"
        write_csv([replace(f, id=f"W{f.id}") for f in facts[:WARM_UP]], warm)
        bare(warm)
        await product(warm)
        await store.execute(f"TRUNCATE TABLE {BASELINE_TABLE}")

        started = time.perf_counter()
        bare(path)
        base_s = time.perf_counter() - started
        base_rows = count(connection, f"SELECT count() FROM {BASELINE_TABLE}")
        print(
            f"  baseline  chDB's bulk insert of the file (one INSERT)  {total / base_s:>10,.0f} rows/s ({base_s:.2f} s)"
        )

        started = time.perf_counter()
        job = await product(path)
        spent = time.perf_counter() - started
        progress = job.progress
        print(f"  measured  the CSV import job, batches of {BATCH:,}  {total / spent:>10,.0f} rows/s ({spent:.2f} s)")

        others = [replace(f, id=f"H{f.id}") for f in facts]  # the same facts under new ids (not timed)
        started = time.perf_counter()
        for start in range(0, total, HTTP_BATCH):
            await write_facts(store, others[start : start + HTTP_BATCH])
        http_spent = time.perf_counter() - started
        rows = count(connection, f"SELECT count() FROM {TRADE_FACTS} FINAL WHERE NOT startsWith(id, 'W')")
    finally:
        await service.close()
    rps, base_rps, http_rps = total / spent, total / base_s, total / http_spent
    print(
        f"  also      write_facts of objects, batches of {HTTP_BATCH:,} (the HTTP batch's maximum; Kafka's are"
        f" smaller) {http_rps:>10,.0f} rows/s ({http_spent:.2f} s; not judged)"
    )
    print(
        f"  check     job {job.state}: {progress.accepted:,} taken, {progress.rejected:,} rejected; rows stored:"
        f" {rows:,} (product, FINAL), {base_rows:,} (baseline); expected {2 * total:,}, {total:,}"
    )
    summary = (
        f"ratio={rps / base_rps:.2f} ingest_rps={rps:.0f} baseline_rps={base_rps:.0f} rows={total} batch={BATCH}"
        f" http_batch={HTTP_BATCH} http_batch_rps={http_rps:.0f}"
    )
    if job.state != "succeeded" or progress.accepted != total or rows != 2 * total or base_rows != total:
        print(f"P6 INVALID {summary} stored={rows} baseline_stored={base_rows}")
        return 2
    passed = rps >= TARGET_RPS
    if not passed:
        print(f"  missed: {rps:,.0f} rows/s (target {TARGET_RPS:,})")
    emit(
        Result(
            "P6",
            f"{rps:,.0f} rows/s (chDB's bare insert {base_rps:,.0f})",
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
        shutil.rmtree(args.keep / "data", ignore_errors=True)
        args.keep.mkdir(parents=True, exist_ok=True)
        return run_on_loop(main_async(total, args.keep))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p6-"))
    try:
        return run_on_loop(main_async(total, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
