"""Sales lines for the analytics benchmarks (P5, P6): seeded, generated in chunks, columnar.

One generator for both: ~50,000 customers drawn with a strong skew (a few buy most, as real ones do:
the customer index is ``CUSTOMERS * u ** SKEW`` for a uniform ``u``), 2,000 items, 4 divisions, 40
managers, two years of days, ~3 % returns, ~5 % of the lines in USD (the rest in EUR, the reporting
currency), money with 2 decimals and quantities with 3. Every line has its own id. Amounts are held as
integers of their smallest unit (cents, thousandths) so a chunk turns into an Arrow table without a
Python object per value (:func:`arrow_table`, for loading) or into the product's
:class:`~crm_analytics.domain.trade_fact.TradeFact` objects (:func:`trade_facts`, for the measured
write path).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa

from crm_analytics.domain.trade_fact import KINDS, TradeFact

CUSTOMERS = 50_000
SKEW = 3.0
ITEMS = 2_000
DIVISIONS = ("North", "South", "East", "West")
MANAGERS = 40
FIRST_DAY = date(2025, 1, 1)
DAYS = 730
RETURN_SHARE = 0.03
CURRENCIES = ("EUR", "USD")
OTHER_CURRENCY_SHARE = 0.05
VAT = 1.2
MARGIN = 0.7  # cost / revenue without VAT
CHUNK = 500_000
_EPOCH = date(1970, 1, 1)


def customer_code(index: int) -> str:
    return f"C{index:06d}"


_CUSTOMER_CODES = pa.array([customer_code(i) for i in range(CUSTOMERS)])
_ITEM_CODES = pa.array([f"ITEM-{i:05d}" for i in range(ITEMS)])
_MANAGER_CODES = pa.array([f"manager-{i:02d}" for i in range(MANAGERS)])


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines ``first`` … ``first + len - 1`` as columns (numpy arrays of codes and integer amounts)."""

    first: int
    kind: np.ndarray  # index into KINDS
    day: np.ndarray  # days since FIRST_DAY
    customer: np.ndarray
    item: np.ndarray
    division: np.ndarray
    manager: np.ndarray
    quantity: np.ndarray  # thousandths
    revenue: np.ndarray  # cents
    revenue_without_vat: np.ndarray
    cost: np.ndarray
    currency: np.ndarray  # index into CURRENCIES

    def __len__(self) -> int:
        return len(self.day)

    def ids(self) -> list[str]:
        return [f"S{i:010d}" for i in range(self.first, self.first + len(self))]


def chunks(total: int, seed: int, size: int = CHUNK) -> Iterator[Chunk]:
    """``total`` lines in chunks of at most ``size``; the same seed gives the same lines."""
    rng = np.random.default_rng(seed)
    for first in range(0, total, size):
        n = min(size, total - first)
        quantity = np.maximum(1, np.round(rng.lognormal(1.0, 1.0, n) * 1000)).astype(np.int64)
        price = np.round(rng.lognormal(3.0, 1.2, n), 2)  # per unit, with VAT
        revenue = np.maximum(1, np.round(quantity / 1000 * price * 100)).astype(np.int64)
        without_vat = np.round(revenue / VAT).astype(np.int64)
        yield Chunk(
            first=first,
            kind=(rng.random(n) < RETURN_SHARE).astype(np.int8),
            day=rng.integers(0, DAYS, n, dtype=np.int32),
            customer=(CUSTOMERS * rng.random(n) ** SKEW).astype(np.int32),
            item=rng.integers(0, ITEMS, n, dtype=np.int32),
            division=rng.integers(0, len(DIVISIONS), n, dtype=np.int8),
            manager=rng.integers(0, MANAGERS, n, dtype=np.int8),
            quantity=quantity,
            revenue=revenue,
            revenue_without_vat=without_vat,
            cost=np.round(without_vat * MARGIN).astype(np.int64),
            currency=(rng.random(n) < OTHER_CURRENCY_SHARE).astype(np.int8),
        )


def last_day() -> date:
    return FIRST_DAY + timedelta(days=DAYS - 1)


def trade_facts(chunk: Chunk) -> list[TradeFact]:
    """The chunk as the product's facts (Decimal amounts), as the API, Kafka or CSV paths make them."""
    days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
    customers = [customer_code(i) for i in range(CUSTOMERS)]
    items = _ITEM_CODES.to_pylist()
    managers = _MANAGER_CODES.to_pylist()
    return [
        TradeFact(
            id=fid,
            kind=KINDS[k],
            date=days[d],
            customer=customers[c],
            item=items[i],
            division=DIVISIONS[v],
            manager=managers[m],
            quantity=Decimal(q).scaleb(-3),
            revenue=Decimal(r).scaleb(-2),
            revenue_without_vat=Decimal(w).scaleb(-2),
            cost=Decimal(x).scaleb(-2),
            currency=CURRENCIES[u],
        )
        for fid, k, d, c, i, v, m, q, r, w, x, u in zip(
            chunk.ids(),
            chunk.kind.tolist(),
            chunk.day.tolist(),
            chunk.customer.tolist(),
            chunk.item.tolist(),
            chunk.division.tolist(),
            chunk.manager.tolist(),
            chunk.quantity.tolist(),
            chunk.revenue.tolist(),
            chunk.revenue_without_vat.tolist(),
            chunk.cost.tolist(),
            chunk.currency.tolist(),
            strict=True,
        )
    ]


def _decimal(units: np.ndarray, scale: int, precision: int = 18) -> pa.Array:
    """Non-negative integers of the smallest unit as Arrow decimals (their 128-bit unscaled values)."""
    wide = np.zeros((len(units), 2), dtype=np.int64)
    wide[:, 0] = units
    return pa.Array.from_buffers(pa.decimal128(precision, scale), len(units), [None, pa.py_buffer(wide)])


def _codes(indices: np.ndarray, dictionary: pa.Array) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary).cast(pa.string())


def arrow_table(chunk: Chunk, version: int) -> pa.Table:
    """The chunk as rows of ``trade_facts`` (column names and types), all with ``version``, for a bulk
    load that bypasses the product's write path."""
    days = (chunk.day.astype(np.int32) + (FIRST_DAY - _EPOCH).days).astype(np.int32)
    return pa.table(
        {
            "id": pa.array(chunk.ids()),
            "kind": _codes(chunk.kind, pa.array(KINDS)),
            "date": pa.Array.from_buffers(pa.date32(), len(days), [None, pa.py_buffer(days)]),
            "customer": _codes(chunk.customer, _CUSTOMER_CODES),
            "item": _codes(chunk.item, _ITEM_CODES),
            "division": _codes(chunk.division, pa.array(DIVISIONS)),
            "manager": _codes(chunk.manager, _MANAGER_CODES),
            "quantity": _decimal(chunk.quantity, 3),
            "revenue": _decimal(chunk.revenue, 2),
            "revenue_without_vat": _decimal(chunk.revenue_without_vat, 2),
            "cost": _decimal(chunk.cost, 2),
            "currency": _codes(chunk.currency, pa.array(CURRENCIES)),
            "version": pa.array(np.full(len(chunk), version, dtype=np.uint64)),
        }
    )


def arrow_stream(table: pa.Table) -> bytes:
    """An Arrow IPC stream of ``table`` (what chDB's ``FORMAT ArrowStream`` reads)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data
