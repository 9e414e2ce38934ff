"""Run the benchmarks: ``python -m bench [p0|p1|p2|p3|p4|p5|p6|p9 ...] [--quick]``.

Each benchmark runs in its own subprocess, so one that fails to run does not hide the others (and
P9's memory is its own). Their output is passed through; each hands back a structured result (see
:mod:`bench.result`; a benchmark that does not is read from its last line), and the run ends with one
table of every benchmark: measured, target, ratio against its same-run baseline, verdict. The exit
code is non-zero only when a benchmark failed to run or produced an invalid result (e.g. lost
writes); a missed target is a MISS in the table, not a failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.result import RESULT_FILE_ENV, Result, read_result, table

BENCHMARKS = {
    "p0": "bench.p0_command_handler",
    "p1": "bench.p1_command_path",
    "p2": "bench.p2_import",
    "p3": "bench.p3_projection_lag",
    "p4": "bench.p4_projection_rebuild",
    "p5": "bench.p5_abc",
    "p6": "bench.p6_fact_ingest",
    "p9": "bench.p9_embedded_scale",
}
# --quick (make bench-quick, CI): small sizes so that all of them take under two minutes on the
# two-core machine, embedded mode only (the Kafka and MongoDB-protocol modes are SKIP: their servers
# are pointed at a closed port; the full run measures them when they are up).
QUICK_ARGS = {
    "p1": ["--duration", "2", "--warmup", "0.5"],
    "p2": ["--rows", "3000", "--catch-up-timeout", "3"],
    "p3": ["--seconds", "3"],
    "p4": ["--events", "10000"],
    "p5": ["--lines", "1000000", "--runs", "3"],
    "p6": ["--rows", "200000"],
    "p9": ["--counterparties", "5000", "--searches", "40"],
}
QUICK_ENV = {
    "CRM_BENCH_KAFKA_BOOTSTRAP": "127.0.0.1:9",
    "CRM_BENCH_MONGO_ADDRESS": "127.0.0.1:9",
    "CRM_BENCH_MONGO_URI": "mongodb://127.0.0.1:9/?directConnection=true",
}
# What the table names as the target of a benchmark that hands back only its last line.
TARGETS = {
    "P0": "well ahead of eventsourcing",
    "P1": "≥ 1,500 cmd/s, p99 ≤ 25 ms, ≥ 0.7× baseline",
    "P2": "1M rows ≤ 300 s, view ≤ 60 s after",
    "P3": "p99 ≤ 200 ms embedded, ≤ 500 ms Kafka",
    "P4": "≥ 20,000 events/s",
    "P5": "≤ 500 ms and ≤ 1.2× hand-written SQL",
    "P6": "≥ 200,000 rows/s",
    "P9": "≤ 2 GB RSS, ready ≤ 10 s, search p99 ≤ 10 ms",
}


def run_one(name: str, quick: bool, workdir: Path) -> tuple[int, Result]:
    """Run one benchmark, echoing its output; returns its exit code and result."""
    command = [sys.executable, "-m", BENCHMARKS[name], *(["--quick", *QUICK_ARGS.get(name, [])] if quick else [])]
    result_file = workdir / f"{name}.json"
    env = {**os.environ, **(QUICK_ENV if quick else {}), RESULT_FILE_ENV: str(result_file)}
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    last = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1, env=env) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.strip():
                last = line.strip()
    code = process.returncode
    result = read_result(result_file)
    if result is None and last.startswith(name.upper() + " "):
        result = Result.from_line(last, TARGETS.get(name.upper(), ""))
    if result is None or code != 0:
        result = Result(
            id=name.upper(),
            measured=f"exit {code}: {(last[:60] + '…') if len(last) > 60 else last}",
            target=result.target if result else TARGETS.get(name.upper(), ""),
            ratio=result.ratio if result else None,
            verdict=result.verdict if result and result.verdict == "INVALID" else "FAILED",
            fields=result.fields if result else {},
        )
    return code, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the CRM benchmarks.")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"which to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs: a smoke test")
    args = parser.parse_args(argv)
    names = [name.lower() for name in args.names] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    started = time.monotonic()
    rows: list[tuple[str, Result, float]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="crm-bench-results-") as folder:
        for name in names:
            began = time.monotonic()
            code, result = run_one(name, args.quick, Path(folder))
            seconds = time.monotonic() - began
            print(f"== {name}: exit {code} after {seconds:.0f} s", flush=True)
            failed |= code != 0 or result.verdict in ("FAILED", "INVALID")
            rows.append((name, result, seconds))
    load = os.getloadavg()[0]
    print(
        f"\n== summary ({'quick' if args.quick else 'full'} sizes, {time.monotonic() - started:.0f} s,"
        f" load avg {load:.1f} at the end; ratio = measured / its baseline in this run)"
    )
    print(table(rows))
    for _name, result, _seconds in rows:
        print(result.line())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
