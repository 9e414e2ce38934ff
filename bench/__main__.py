"""Run the benchmarks: ``python -m bench [p1|p3|p4 ...] [--quick]``.

Each benchmark runs in its own subprocess, so one that fails to run does not hide the others. Their
output is passed through; a summary of their last (machine-readable) lines follows. The exit code is
non-zero only when a benchmark failed to run or produced an invalid result (e.g. lost writes); a
missed target is reported as MISS on its line, not as a failure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHMARKS = {
    "p1": "bench.p1_command_path",
    "p2": "bench.p2_import",
    "p3": "bench.p3_projection_lag",
    "p4": "bench.p4_projection_rebuild",
}


def run_one(name: str, quick: bool) -> tuple[int, str]:
    """Run one benchmark, echoing its output; returns its exit code and last line."""
    command = [sys.executable, "-m", BENCHMARKS[name], *(["--quick"] if quick else [])]
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    last = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.strip():
                last = line.strip()
    code = process.returncode
    print(f"== {name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
    return code, last


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
    results = [(name, *run_one(name, args.quick)) for name in names]
    print("\n== summary")
    failed = False
    for name, code, last in results:
        ran = code == 0 and last.startswith(name.upper() + " ")
        failed |= not ran
        print(last if ran else f"{name.upper()} FAILED exit={code} last={last!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
