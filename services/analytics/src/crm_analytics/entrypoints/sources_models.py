"""Bodies of the report "Analysis of interactions and information sources". Amounts, quantities and
percentages are decimal strings, never JSON numbers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from crm_analytics.application.sources import Measures
from crm_analytics.entrypoints.abc_models import CURRENCY, WITHOUT_RATE, WithoutRateOut


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class MeasuresOut(BaseModel):
    """The measures of a row, in the reporting currency; returns subtract."""

    revenue: str = Field(description="Decimal text: revenue of sales minus revenue of returns")
    revenue_without_vat: str = Field(description="Decimal text: the same without VAT")
    profit: str = Field(description="Decimal text: revenue without VAT - cost")
    sales: int = Field(description="Sale facts (a return is not a sale and does not lower it)")
    quantity: str = Field(description="Decimal text: quantity sold minus quantity returned")
    incoming: int | None = Field(
        description="Incoming interactions (not cancelled) that started in the period; null on a detail row "
        "(interactions have no item or division)"
    )

    @classmethod
    def of(cls, m: Measures) -> MeasuresOut:
        return cls(
            revenue=format(m.revenue, "f"),
            revenue_without_vat=format(m.revenue_without_vat, "f"),
            profit=format(m.profit, "f"),
            sales=m.sales,
            quantity=format(m.quantity, "f"),
            incoming=m.incoming,
        )


class SharesOut(BaseModel):
    """Each measure in percent of the parent row's (a source: of the total; a counterparty: of its
    source; a detail: of its counterparty), decimal text with 2 decimals; null when the parent's value
    is not positive."""

    revenue: str | None
    revenue_without_vat: str | None
    profit: str | None
    sales: str | None
    quantity: str | None
    incoming: str | None

    @classmethod
    def of(cls, shares: dict[str, Decimal | None]) -> SharesOut:
        return cls(**{name: _text(shares.get(name)) for name in cls.model_fields})


class DetailRowOut(BaseModel):
    """An item or division of a counterparty's facts (`by`)."""

    detail: str = Field(description="The item or division code ('' when the facts carry none)")
    measures: MeasuresOut
    shares: SharesOut


class CounterpartyRowOut(BaseModel):
    """A counterparty under its source (or an ERP customer code no counterparty carries)."""

    place: int = Field(description="1 = the first of its source in the report's order")
    counterparty_id: str | None = Field(description="null: an unlinked customer code, or interactions of none")
    customer: str | None = Field(description="The ERP customer code of an unlinked row; null otherwise")
    measures: MeasuresOut
    shares: SharesOut
    details: list[DetailRowOut] = Field(description="By item or division when `by` is given; else empty")


class SourceRowOut(BaseModel):
    """An information source and the first of its counterparties."""

    place: int = Field(description="1 = the first in the report's order (the `sort` measure, greatest first)")
    source: str = Field(description="The code in the `sources` catalog; '' for no source")
    name: str | None = Field(description="Its name in the catalog as of `as_of`; null for no source or an unknown code")
    measures: MeasuresOut
    shares: SharesOut
    counterparties: int = Field(description="How many counterparty rows the source has")
    counterparty_rows: list[CounterpartyRowOut]
    more: str | None = Field(description="The URL of the next counterparty rows of this source; null when all are here")


class SourcesOut(BaseModel):
    """A page of source rows, with the total of every row in the caller's scope."""

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    by: Literal["item", "division"] | None
    sort: str
    as_of: datetime = Field(description="What the CRM knew then: events up to it, facts received by then")
    currency: str = Field(description=CURRENCY)
    sources: int = Field(description="How many source rows there are")
    total: MeasuresOut
    without_rate: list[WithoutRateOut] = Field(description=WITHOUT_RATE + " (in the caller's scope)")
    rows: list[SourceRowOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last")


class SeriesOut(BaseModel):
    """One source's revenue per bucket."""

    source: str = Field(description="The code; '' for no source")
    name: str | None
    values: list[str] = Field(description="Decimal text per bucket, in the order of `buckets`")


class HistoryOut(BaseModel):
    """Revenue per source per month or quarter (the chart)."""

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    bucket: Literal["month", "quarter"]
    as_of: datetime
    currency: str = Field(description=CURRENCY)
    buckets: list[date] = Field(description="The first day of each month or quarter from `from`'s to `to`'s")
    series: list[SeriesOut] = Field(description="The sources with facts in the period, the greatest revenue first")
    without_rate: list[WithoutRateOut] = Field(description=WITHOUT_RATE)
