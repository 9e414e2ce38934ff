"""What a server under measurement uses, read from /proc: its process and every descendant (``crm up``
runs its relays and projectors in a child process, whose CPU and memory count as the CRM's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def tree(pid: int) -> Iterator[int]:
    """``pid`` and its descendants that are alive now."""
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        yield current
        pending += [int(c) for c in children]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU used so far by ``pid`` and its living descendants."""
    total = 0.0
    for current in tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def tree_rss_kb(pid: int) -> tuple[int, int]:
    """Resident set and peak (VmRSS, VmHWM) of ``pid`` and its living descendants, in kB."""
    rss = peak = 0
    for current in tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for text in status.splitlines():
            if text.startswith("VmRSS:"):
                rss += int(text.split()[1])
            elif text.startswith("VmHWM:"):
                peak += int(text.split()[1])
    return rss, peak
