"""What both analytics adapters share: SQL files, parameters, and the wire formats in and out.

Sharing the wire formats is what makes the adapters interchangeable: both read results as
``JSONCompact`` (which names every column's ClickHouse type, so the decoding below is driven by the
type and not by the engine) and both write rows as an Arrow IPC stream built from the table's own
column types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa

from crm_shared.analytics.port import AnalyticsError

SESSION_SETTINGS: Mapping[str, str | int] = {
    "session_timezone": "UTC",
    # Quoted so that no JSON parser rounds them to a float or overflows.
    "output_format_json_quote_64bit_integers": 1,
    "output_format_json_quote_decimals": 1,
    "output_format_json_quote_denormals": 1,
    "output_format_decimal_trailing_zeros": 1,
    # An inserted block is written as sent, not merged first by the table's engine (Replacing/Summing
    # MergeTree): every read collapses with FINAL or sums anyway, and merging at insert cost a third
    # of a trade-fact write (P6).
    "optimize_on_insert": 0,
}
"""Settings every adapter applies to every statement; the result decoding relies on them."""

RESULT_FORMAT = "JSONCompact"
INSERT_FORMAT = "ArrowStream"

# --- SQL files ---------------------------------------------------------------------------------

_QUOTES = "'\"`"


def split_statements(text: str) -> list[str]:
    """Split SQL text on ``;`` that are outside strings, quoted names and comments.

    Handles ``'…'``, ``"…"`` and backquoted names (with backslash or doubled-quote escapes),
    ``--`` and ``#`` line comments and ``/* … */`` block comments. Each statement starts at its
    first token (comments before it are dropped), ends before its ``;``, and comment-only pieces
    are dropped.
    """
    statements: list[str] = []
    start: int | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i) or ch == "#":
            end = text.find("\n", i)
            i = n if end == -1 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch == ";":
            if start is not None:
                statements.append(text[start:i].strip())
            start = None
        elif not ch.isspace() and start is None:
            start = i
        if ch in _QUOTES:
            i += 1
            while i < n:
                if text[i] == "\\" or text.startswith(ch * 2, i):
                    i += 2
                elif text[i] == ch:
                    break
                else:
                    i += 1
        i += 1
    if start is not None:
        statements.append(text[start:].strip())
    return statements


def load_script(path: Path) -> list[str]:
    """Read a UTF-8 ``.sql`` file and return its statements (see :func:`split_statements`)."""
    return split_statements(path.read_text(encoding="utf-8"))


def load_query(path: Path) -> str:
    """Read a ``.sql`` file that holds exactly one statement and return it."""
    statements = load_script(path)
    if len(statements) != 1:
        raise AnalyticsError(f"{path} holds {len(statements)} statements, expected exactly one")
    return statements[0]


def quote_name(name: str) -> str:
    """Backquote a table name, or each part of ``database.table``, so no name can inject SQL."""
    return ".".join("`" + part.replace("\\", "\\\\").replace("`", "\\`") + "`" for part in name.split("."))


# --- parameters --------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:")


def wire_parameters(sql: str, parameters: Mapping[str, Any] | None) -> dict[str, str]:
    """The parameters that ``sql`` references, as the exact text the engine parses for each.

    ClickHouse reads a parameter with its type's escaped-text parser, so a ``str`` value is
    backslash-escaped while an Array/Tuple/Map literal is not (its strings are quoted inside).
    Unreferenced parameters are left out, so one mapping can serve a whole script, and a client
    never mistakes a statement without placeholders for one to format client-side.
    """
    if not parameters:
        return {}
    used = set(_PLACEHOLDER.findall(sql))
    return {name: _wire(value) for name, value in parameters.items() if name in used}


def _wire(value: Any) -> str:
    if value is None:
        return "\\N"
    text = _text(value)
    if isinstance(value, str):
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
        return moment.isoformat(" ", "microseconds" if moment.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_literal, value)) + ")"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return str(value)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    text = _text(value)
    if isinstance(value, int | float | Decimal | list | tuple | Mapping):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- results -----------------------------------------------------------------------------------

_Convert = Callable[[Any], Any]
_BIG_INTS = {"Int64", "UInt64", "Int128", "UInt128", "Int256", "UInt256"}


def _split_type(ch_type: str) -> tuple[str, str]:
    name, _, rest = ch_type.strip().partition("(")
    return name, rest[:-1]


def _split_pair(args: str) -> tuple[str, str]:
    """``K, V`` of ``Map(K, V)``, split at the comma outside parentheses."""
    depth = 0
    for i, char in enumerate(args):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            return args[:i].strip(), args[i + 1 :].strip()
    raise AnalyticsError(f"not a pair of types: {args}")


def _converter(ch_type: str) -> _Convert | None:
    name, args = _split_type(ch_type)
    if name == "LowCardinality":
        return _converter(args)
    if name == "Nullable":
        inner = _converter(args)
        return None if inner is None else (lambda v: None if v is None else inner(v))
    if name == "Array":
        item = _converter(args)
        return None if item is None else (lambda v: [item(x) for x in v])
    if name in _BIG_INTS:
        return int
    if name.startswith("Float"):
        return float
    if name.startswith("Decimal"):
        return Decimal
    if name in ("Date", "Date32"):
        return date.fromisoformat
    if name in ("DateTime", "DateTime64"):
        zone = re.search(r"'([^']+)'", args)
        tz: tzinfo = ZoneInfo(zone.group(1)) if zone else UTC
        return lambda v: datetime.fromisoformat(v).replace(tzinfo=tz)
    if name == "UUID":
        return UUID
    return None


def decode_rows(payload: bytes) -> list[dict[str, Any]]:
    """Turn a ``JSONCompact`` result into row dicts with the Python types listed in the port."""
    if not payload.strip():
        return []
    document = orjson.loads(payload)
    names = [column["name"] for column in document["meta"]]
    converters = [_converter(column["type"]) for column in document["meta"]]
    data: list[list[Any]] = document["data"]
    if not any(converters):
        return [dict(zip(names, row, strict=True)) for row in data]
    return [
        {
            name: value if convert is None else convert(value)
            for name, convert, value in zip(names, converters, row, strict=True)
        }
        for row in data
    ]


# --- inserts -----------------------------------------------------------------------------------

_ARROW_SCALARS: dict[str, pa.DataType] = {
    **{f"Int{bits}": getattr(pa, f"int{bits}")() for bits in (8, 16, 32, 64)},
    **{f"UInt{bits}": getattr(pa, f"uint{bits}")() for bits in (8, 16, 32, 64)},
    "Float32": pa.float32(),
    "Float64": pa.float64(),
    "Bool": pa.bool_(),
    "String": pa.string(),
    "Date": pa.date32(),
    "Date32": pa.date32(),
    # Arrow takes naive datetimes as UTC and converts aware ones to UTC, as the port promises.
    "DateTime": pa.timestamp("us"),
    "DateTime64": pa.timestamp("us"),
}
_DECIMAL_PRECISION = {"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}


def _arrow_type(ch_type: str) -> pa.DataType | None:
    name, args = _split_type(ch_type)
    if name in ("Nullable", "LowCardinality"):
        return _arrow_type(args)
    if name == "Array":
        item = _arrow_type(args)
        return None if item is None else pa.list_(item)
    if name == "Map":
        key, value = (_arrow_type(part) for part in _split_pair(args))
        return None if key is None or value is None else pa.map_(key, value)
    if name in _ARROW_SCALARS:
        return _ARROW_SCALARS[name]
    if name.startswith("Decimal"):
        parts = [int(part) for part in args.split(",")]
        precision, scale = (parts[0], parts[1]) if name == "Decimal" else (_DECIMAL_PRECISION[name], parts[0])
        return (pa.decimal128 if precision <= 38 else pa.decimal256)(precision, scale)
    return None


def _arrow_column(values: list[Any], arrow_type: pa.DataType | None) -> pa.Array:
    # Typed conversion is the fast path (inferring a Decimal column is ~20x slower). When the
    # values do not fit the type (strings for a Date, UUID objects…), hand Arrow's own guess or
    # the text form to the engine, which casts to the column type or names what is wrong.
    if arrow_type is not None:
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def describe_sql(table: str) -> str:
    """The statement whose result :func:`encode_rows` takes as ``column_types``."""
    return f"DESCRIBE TABLE {quote_name(table)}"


def encode_rows(columns: Sequence[str], described: list[dict[str, Any]], rows: Sequence[Sequence[Any]]) -> bytes:
    """Encode rows as an Arrow IPC stream, typed after the table's ``DESCRIBE`` rows."""
    width = len(columns)
    if any(len(row) != width for row in rows):
        raise AnalyticsError(f"every row must have {width} values, one per column {list(columns)}")
    types = {row["name"]: row["type"] for row in described}
    # zip(*rows) turns rows into columns at C speed (a Python loop per value costs as much as Arrow's
    # conversion of it).
    values = zip(*rows, strict=True) if rows else ((),) * width
    arrays = [
        _arrow_column(list(column_values), _arrow_type(types[column]) if column in types else None)
        for column, column_values in zip(columns, values, strict=True)
    ]
    return arrow_stream(pa.Table.from_arrays(arrays, names=list(columns)))


def arrow_stream(data: pa.Table) -> bytes:
    """``data`` as an Arrow IPC stream (:data:`INSERT_FORMAT`)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    stream: bytes = sink.getvalue().to_pybytes()
    return stream


def warm_up() -> None:
    """Pay pyarrow's one-off cost of its first conversion (it imports pandas, ~1 s) at open time."""
    pa.array([0], type=pa.uint8())


# --- errors ------------------------------------------------------------------------------------

_CODE = re.compile(r"Code: (\d+)\.")


def engine_error(exc: BaseException) -> AnalyticsError:
    """Wrap an engine or driver exception, keeping ClickHouse's message and error code."""
    if isinstance(exc, AnalyticsError):
        return exc
    message = str(exc).strip() or type(exc).__name__
    match = _CODE.search(message)
    return AnalyticsError(message, code=int(match.group(1)) if match else None)
