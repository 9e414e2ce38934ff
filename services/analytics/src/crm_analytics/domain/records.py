"""The kinds of record the ERP sends (trade facts, orders, payments) and the currency rates facts are
converted with, each described once.

Every kind comes in the same ways — a batch over HTTP, a CSV file as a kernel job (and ``crm import``),
and the ERP's Kafka topic — and is kept the same way: the latest record received under its key
replaces the ones before (``ReplacingMergeTree(version)``, ADR 16), so redelivery and re-import count
once and a correction wins. The ingest code (``application/facts*.py``, ``projections/tables.py``,
``entrypoints/facts.py``, ``crm import``) is written once over a :class:`RecordKind`; adding a kind is
a domain module (the record, its CSV parsing, its message parsing), a table in ``schema.sql`` and an
entry in :data:`KINDS`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from crm_analytics.domain import currency_rate, order, payment, trade_fact
from crm_shared.contracts.erp import order as order_contract
from crm_shared.contracts.erp import payment as payment_contract
from crm_shared.contracts.erp import trade_fact as trade_fact_contract
from crm_shared.identity import Permission

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RecordKind(Generic[R]):
    """What the ways in need to know of one kind of ERP record ``R`` (a frozen dataclass whose fields
    include the table's columns)."""

    slug: str
    """Its name in paths and commands: ``POST /api/v1/analytics/<slug>``, ``/imports/<slug>``,
    ``crm import <slug>``, the import job's ``what``."""
    name: str
    """One record, in messages: ``invalid <name>: …`` (``trade fact``, ``order``)."""
    noun: str
    """One record, shortest: ``key: must be the <noun>'s id``."""
    items: str
    """The list field of the HTTP batch (``{"facts": [...]}``); errors name ``<items>.<index>.<field>``."""
    contract: type[BaseModel]
    """The published model that validates the HTTP batch's items and the topic's records."""
    of_message: Callable[[Any, str], R]
    """The record of a validated ``contract`` instance, optional fields defaulted (the second argument
    is the reporting currency)."""
    required_columns: tuple[str, ...]
    """Columns every CSV file of the kind has."""
    optional_columns: tuple[str, ...]
    of_cells: Callable[[Mapping[str, str], str], R]
    """The record of a CSV row (trimmed text by column), or ``FactRejected`` naming the wrong column."""
    table: str
    columns: tuple[str, ...]
    """The table's columns but ``version``, each a field of ``R`` of the same name."""
    topic: str | None = None
    """The ERP's Kafka topic of the kind (key = the contract's ``KAFKA_KEY``), if it has one."""
    permission: Permission = Permission.TRADE_FACTS_WRITE
    """What a caller needs to send records of the kind."""
    key: str = "`id`"
    """What identifies a record: one received again with the same replaces the one before."""
    max_batch: int = 5000
    """The most records one HTTP batch may hold."""
    _values: Callable[[Any], tuple[object, ...]] = field(init=False, repr=False, compare=False)

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return (*self.required_columns, *self.optional_columns)

    @property
    def what(self) -> str:
        """The records, in prose (``trade facts``)."""
        return self.slug.replace("-", " ")

    @property
    def group(self) -> str:
        """The analytics service's consumer group on the kind's topic (``analytics.<table>.v1``)."""
        return f"analytics.{self.table}.v1"

    def row(self, record: R) -> tuple[object, ...]:
        """The values of :attr:`columns` of ``record``, in order."""
        return self._values(record)

    def __post_init__(self) -> None:
        # One getter of every column: a batch's rows are built without a Python loop per value (issue
        # 14, P6). attrgetter of one name gives the value itself, not a tuple.
        get = operator.attrgetter(*self.columns)
        object.__setattr__(self, "_values", get if len(self.columns) > 1 else lambda record: (get(record),))


TRADE_FACTS: RecordKind[trade_fact.TradeFact] = RecordKind(
    slug="trade-facts",
    name="trade fact",
    noun="fact",
    items="facts",
    contract=trade_fact_contract.TradeFact,
    of_message=trade_fact.fact_of_message,
    required_columns=trade_fact.REQUIRED_COLUMNS,
    optional_columns=trade_fact.OPTIONAL_COLUMNS,
    of_cells=trade_fact.fact_of_cells,
    table="trade_facts",
    columns=(
        "id",
        "kind",
        "date",
        "customer",
        "item",
        "division",
        "manager",
        "quantity",
        "revenue",
        "revenue_without_vat",
        "cost",
        "discount",
        "currency",
    ),
    topic=trade_fact_contract.TOPIC,
)
ORDERS: RecordKind[order.Order] = RecordKind(
    slug="orders",
    name="order",
    noun="order",
    items="orders",
    contract=order_contract.Order,
    of_message=order.order_of_message,
    required_columns=order.REQUIRED_COLUMNS,
    optional_columns=order.OPTIONAL_COLUMNS,
    of_cells=order.order_of_cells,
    table="orders",
    columns=("id", "date", "customer", "manager", "amount", "currency", "due_date"),
    topic=order_contract.TOPIC,
)
PAYMENTS: RecordKind[payment.Payment] = RecordKind(
    slug="payments",
    name="payment",
    noun="payment",
    items="payments",
    contract=payment_contract.Payment,
    of_message=payment.payment_of_message,
    required_columns=payment.REQUIRED_COLUMNS,
    optional_columns=payment.OPTIONAL_COLUMNS,
    of_cells=payment.payment_of_cells,
    table="payments",
    columns=("id", "date", "customer", "order_id", "amount", "currency"),
    topic=payment_contract.TOPIC,
)

CURRENCY_RATES: RecordKind[currency_rate.Rate] = RecordKind(
    slug="currency-rates",
    name="currency rate",
    noun="rate",
    items="rates",
    contract=currency_rate.CurrencyRate,
    of_message=currency_rate.rate_of_message,
    required_columns=currency_rate.COLUMNS,
    optional_columns=(),
    of_cells=currency_rate.rate_of_cells,
    table="currency_rates",
    columns=("currency", "date", "rate"),
    key="`currency` and `date`",
    max_batch=10_000,
)

KINDS: tuple[RecordKind[Any], ...] = (TRADE_FACTS, ORDERS, PAYMENTS, CURRENCY_RATES)
"""Every kind, in the order routes and commands list them."""
BY_SLUG: dict[str, RecordKind[Any]] = {kind.slug: kind for kind in KINDS}
