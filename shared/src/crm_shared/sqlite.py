"""SQLite connections for the embedded adapters: one per thread, opened with the same pragmas."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Literal


def connect(
    path: str, *, synchronous: Literal["FULL", "NORMAL"], busy_timeout_ms: int, pragmas: Sequence[str] = ()
) -> sqlite3.Connection:
    """A connection in WAL mode, autocommit (transactions are explicit), usable from any thread;
    ``pragmas`` are further settings (e.g. ``secure_delete=ON``), applied to it as well."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    for pragma in pragmas:
        conn.execute(f"PRAGMA {pragma}")
    return conn


class ThreadConnections:
    """Gives each thread (of an adapter's executor) its own connection, and closes them all at once."""

    def __init__(
        self, path: str, *, synchronous: Literal["FULL", "NORMAL"], busy_timeout_ms: int, pragmas: Sequence[str] = ()
    ) -> None:
        self._path = path
        self._pragmas = tuple(pragmas)
        self._synchronous: Literal["FULL", "NORMAL"] = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(
                self._path, synchronous=self._synchronous, busy_timeout_ms=self._busy_timeout_ms, pragmas=self._pragmas
            )
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close_all(self) -> None:
        """Close every connection opened so far (the executors must be shut down first)."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
