"""The rules of a trade fact and of the ABC parameters: pure, no store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm_analytics.domain.abc import Period, Shares, cumulative_share
from crm_analytics.domain.trade_fact import FactRejected, TradeFact, fact_of_cells
from crm_shared.errors import DomainError

REQUIRED = {"id": "S-1", "date": "2026-01-31", "customer": "C001", "quantity": "2", "revenue": "120.00"}


def test_optional_columns_take_their_defaults() -> None:
    fact = fact_of_cells(REQUIRED, "EUR")
    assert fact == TradeFact(
        id="S-1",
        date=date(2026, 1, 31),
        customer="C001",
        quantity=Decimal("2"),
        revenue=Decimal("120.00"),
        revenue_without_vat=Decimal("120.00"),
        cost=Decimal("0"),
        currency="EUR",
        discount=Decimal("0"),
    )
    assert fact.kind == "sale" and fact.sign == 1
    assert fact_of_cells({**REQUIRED, "kind": "return", "currency": "BGN"}, "EUR").sign == -1


def test_every_column_is_read_as_decimal_text() -> None:
    cells = {
        **REQUIRED,
        "kind": "sale",
        "item": "Стока №5",
        "division": "София",
        "manager": "Иван Петров",
        "quantity": "0.125",
        "revenue": "9999999999999999.99",
        "revenue_without_vat": "100.5",
        "cost": "80",
        "discount": "12.5",
    }
    fact = fact_of_cells(cells, "EUR")
    assert (fact.item, fact.division, fact.manager) == ("Стока №5", "София", "Иван Петров")
    assert fact.quantity == Decimal("0.125")
    assert fact.revenue == Decimal("9999999999999999.99")
    assert (fact.revenue_without_vat, fact.cost, fact.discount) == (Decimal("100.5"), Decimal("80"), Decimal("12.5"))


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("id", ""),
        ("id", " S-1"),
        ("id", "x" * 101),
        ("customer", "C\x01"),
        ("customer", ""),
        ("date", "31.01.2026"),
        ("date", "2026-02-30"),
        ("date", "1969-12-31"),
        ("date", "2149-01-01"),
        ("quantity", "-1"),
        ("quantity", "1.2345"),
        ("revenue", "1e3"),
        ("revenue", "12.345"),
        ("revenue", "-5.00"),
        ("revenue", "1,200.00"),
        ("revenue", "12345678901234567"),
        ("revenue", "NaN"),
        ("cost", "0.001"),
        ("discount", "-1.00"),
        ("discount", "ten"),
        ("discount", "5%"),
        ("kind", "refund"),
        ("currency", "eur"),
        ("item", "x" * 201),
    ],
)
def test_a_wrong_value_is_rejected_naming_its_column(column: str, text: str) -> None:
    with pytest.raises(FactRejected) as refused:
        fact_of_cells({**REQUIRED, column: text}, "EUR")
    assert refused.value.column == column
    assert refused.value.reason


def test_shares_parse_and_must_sum_to_100() -> None:
    assert Shares.parse("70/20/10") == Shares()
    assert Shares.parse("80/15/5") == Shares(Decimal(80), Decimal(15), Decimal(5))
    assert str(Shares.parse("72.5/20/7.50")) == "72.5/20/7.5"
    for wrong in ("70/20/20", "70/20", "a/b/c", "70/20/10/0", "-10/100/10", "70,20,10", "100.001/0/0"):
        with pytest.raises(DomainError) as refused:
            Shares.parse(wrong)
        assert refused.value.field == "shares"


def test_a_period_does_not_end_before_it_starts() -> None:
    Period(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(DomainError) as refused:
        Period(date(2026, 1, 2), date(2026, 1, 1))
    assert refused.value.field == "to"


def test_cumulative_share_in_percent_and_undefined_without_a_positive_total() -> None:
    assert cumulative_share(Decimal("1"), Decimal("3")) == Decimal("33.3333")
    assert cumulative_share(Decimal("3"), Decimal("3")) == Decimal("100.0000")
    assert cumulative_share(Decimal("-1"), Decimal("0")) is None
    assert cumulative_share(Decimal("1"), Decimal("-3")) is None
