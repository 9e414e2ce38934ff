"""Request and response bodies of the ABC run routes. Amounts and shares are decimal strings, never
JSON numbers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_analytics.domain import abc_run as run
from crm_analytics.domain import trade_fact as tf
from crm_analytics.domain.abc import SHARES_PATTERN
from crm_analytics.entrypoints.abc_models import WITHOUT_RATE, AbcRowOut, ClassOut, WithoutRateOut
from crm_analytics.entrypoints.facts_models import FactDate

Class = Literal["A", "B", "C"]
Marker = Literal["up", "down", "same", "new"]
Code = Annotated[str, StringConstraints(pattern=tf.CODE_PATTERN, min_length=1, max_length=tf.MAX_CODE)]
RUN_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class RunIn(BaseModel):
    """A new run: its parameters (the ABC report's)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: FactDate = Field(alias="from", description="First day of the period")
    end: FactDate = Field(alias="to", description="Last day of the period (included)")
    by: Literal["revenue", "revenue_without_vat", "profit"] = Field(
        default="revenue", description="profit = revenue without VAT - cost"
    )
    shares: Annotated[str, StringConstraints(pattern=SHARES_PATTERN)] = Field(
        default="70/20/10", description="A/B/C in percent, summing to 100"
    )
    currency: Annotated[str, StringConstraints(pattern=tf.CURRENCY_PATTERN)] | None = Field(
        default=None,
        description="The reporting currency (CRM_ANALYTICS_REPORTING_CURRENCY), the only one accepted (422 "
        "naming currency otherwise); facts in other currencies are converted at the rate of their date",
    )


class OverrideIn(BaseModel):
    """A customer's class set by hand in a confirmed run."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    customer: Code = Field(description="The ERP's customer code")
    abc_class: Class = Field(alias="class", description="The class in force from now on")
    reason: str = Field(max_length=run.MAX_REASON, description="Why (required, not blank)")


class RunOut(BaseModel):
    """A run: its parameters, status and, once confirmed, its summary."""

    run_id: str
    scheme: str = Field(description="measure:shares:currency; runs of one scheme compare with each other")
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    by: Literal["revenue", "revenue_without_vat", "profit"]
    shares: str
    currency: str
    schedule: Literal["monthly", "quarterly"] | None = Field(description="Set on a run the service made itself")
    status: Literal["draft", "confirmed"]
    created_by: str
    created_at: str
    confirmed_by: str | None
    confirmed_at: str | None
    previous_run_id: str | None = Field(description="Where the previous classes come from")
    customers: int | None
    total: str | None = Field(description="Decimal text")
    classes: dict[Class, ClassOut] | None
    overrides: int = Field(description="Classes set by hand")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> RunOut:
        return cls(
            run_id=doc["run_id"],
            scheme=doc["scheme"],
            start=doc["period_from"],
            end=doc["period_to"],
            by=doc["measure"],
            shares=doc["shares"],
            currency=doc["currency"],
            schedule=doc.get("schedule"),
            status=doc["status"],
            created_by=doc["created_by"],
            created_at=doc["created_at"],
            confirmed_by=doc.get("confirmed_by"),
            confirmed_at=doc.get("confirmed_at"),
            previous_run_id=doc.get("previous_run_id"),
            customers=doc.get("customers"),
            total=doc.get("total"),
            classes=doc.get("classes"),
            overrides=int(doc.get("overrides") or 0),
        )


class RunListOut(BaseModel):
    """Runs, newest first."""

    items: list[RunOut]
    next_cursor: str | None


class OverrideOut(BaseModel):
    """The last override of a customer's class in a run."""

    abc_class: Class = Field(serialization_alias="class")
    class_before: Class
    reason: str
    by: str
    at: str


class RunRowOut(BaseModel):
    """A customer in a confirmed run: the computed class and the class in force (they differ when
    overridden), the previous class and the marker of the class in force."""

    run_id: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    scheme: str
    place: int
    customer: str
    counterparty_id: str | None = Field(description="The counterparty carrying the code (null: unlinked)")
    value: str
    share: str | None = Field(description="value in percent of the total; null when the total is not positive")
    cumulative_value: str
    cumulative_share: str | None
    computed_class: Class
    abc_class: Class = Field(serialization_alias="class", description="The class in force")
    previous_class: Class | None
    marker: Marker
    override: OverrideOut | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> RunRowOut:
        override = doc.get("override")
        return cls(
            run_id=doc["run_id"],
            start=doc["period_from"],
            end=doc["period_to"],
            scheme=doc["scheme"],
            place=doc["place"],
            customer=doc["customer"],
            counterparty_id=doc.get("counterparty_id"),
            value=doc["value"],
            share=doc.get("share"),
            cumulative_value=doc["cumulative_value"],
            cumulative_share=doc.get("cumulative_share"),
            computed_class=doc["computed_class"],
            abc_class=doc["abc_class"],
            previous_class=doc.get("previous_class"),
            marker=doc["marker"],
            override=None if override is None else OverrideOut(**override),
        )


class RunRowsOut(BaseModel):
    """A page of a run's rows."""

    items: list[RunRowOut]
    next_cursor: str | None


class PreviewRowOut(AbcRowOut):
    """A row of the preview: the report's, with the previous class and the marker."""

    share: str | None
    previous_class: Class | None
    marker: Marker


class PreviewOut(BaseModel):
    """A page of what confirming the run now would record, and the summary of all of it."""

    run: RunOut
    previous_run_id: str | None
    customers: int
    total: str
    classes: dict[Class, ClassOut]
    without_rate: list[WithoutRateOut] = Field(description=WITHOUT_RATE)
    rows: list[PreviewRowOut]
    next_cursor: str | None


class MoveOut(BaseModel):
    """How many customers went from a previous class (null: new, not in the previous run) to a class."""

    previous_class: Class | None
    abc_class: Class = Field(serialization_alias="class", description="The class in force")
    customers: int


class MovementOut(BaseModel):
    """A run's movement between classes: every pair of previous class (A, B, C, new) and class, zeros
    included, in that order. A confirmed run's recorded classes in force; a draft's as confirming it
    now would record them."""

    run: RunOut
    previous_run_id: str | None
    customers: int
    moves: list[MoveOut]


class UnlinkedOut(BaseModel):
    """A customer of the trade facts whose ERP code no counterparty carries yet."""

    customer: str
    facts: int
    last_date: date


class UnlinkedListOut(BaseModel):
    """Customers not linked to a counterparty, in code order."""

    items: list[UnlinkedOut]
    next_cursor: str | None
