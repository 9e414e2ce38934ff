"""SQLite connections for the embedded adapters: one per thread, opened with the same pragmas."""

from __future__ import annotations

import sqlite3
import threading
from typing import Literal


def connect(path: str, *, synchronous: Literal["FULL", "NORMAL"], busy_timeout_ms: int) -> sqlite3.Connection:
    """A connection in WAL mode, autocommit (transactions are explicit), usable from any thread."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return conn


class ThreadConnections:
    """Gives each thread (of an adapter's executor) its own connection, and closes them all at once."""

    def __init__(self, path: str, *, synchronous: Literal["FULL", "NORMAL"], busy_timeout_ms: int) -> None:
        self._path = path
        self._synchronous: Literal["FULL", "NORMAL"] = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, synchronous=self._synchronous, busy_timeout_ms=self._busy_timeout_ms)
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
