"""Contact effectiveness and multi-touch attribution: the parameters and the rules of splitting a sale.

A **touch** is a completed interaction with a counterparty, dated by its end in the organisation's
time zone. The effectiveness report looks forward from each touch (the sales of its counterparty on
the touch's day and the ``window_days`` after it); attribution looks back from each sale (the touches
of its counterparty on the sale's day and the ``lookback_days`` before it) and splits the sale among
them by a model:

- ``first``: all to the earliest touch; ``last``: all to the latest;
- ``linear``: equal parts;
- ``position`` (40/20/40): one touch takes all, two take half each, three and more: 40 % to the first,
  40 % to the last and 20 % in equal parts to those between;
- ``time_decay``: each touch weighs 2^(−age / half_life), its age the days from the touch's day to the
  sale's, so a touch ``half_life_days`` older weighs half as much; parts in proportion to weights.

Touches are in the order of their end (then interaction id), which makes "first" and "last"
deterministic for touches of one day. Money is split exactly to the cent by the **largest remainder**:
each part is the exact share rounded down to the cent (of the sale's absolute amount), and the cents
left over go one each to the parts with the largest remainders (ties: the earlier touch), so the parts
always sum to the sale; a return (negative) is split like a sale and each part negated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction
from math import floor
from typing import Literal, get_args

from crm_analytics.domain.abc import Period
from crm_shared.errors import DomainError

Model = Literal["first", "last", "linear", "position", "time_decay"]
MODELS: tuple[Model, ...] = get_args(Model)
Grouping = Literal["kind", "manager", "source"]
GROUPINGS: tuple[Grouping, ...] = get_args(Grouping)

DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366
DEFAULT_LOOKBACK_DAYS = 90
MAX_LOOKBACK_DAYS = 730
DEFAULT_HALF_LIFE_DAYS = 7
MAX_HALF_LIFE_DAYS = 365
MAX_PERIOD_DAYS = 3660
"""The longest period a report covers (about ten years)."""

CENT = Decimal("0.01")
_PRECISION = 40
"""Significant digits of a time-decay weight: far beyond any amount's cents."""


def checked_period(start: date, end: date) -> Period:
    """The period ``start`` … ``end``, or :class:`DomainError` naming ``to`` when it is reversed or too long."""
    period = Period(start, end)
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise DomainError(f"the period must not be longer than {MAX_PERIOD_DAYS} days", field="to")
    return period


@dataclass(frozen=True, slots=True)
class EffectivenessQuery:
    """Touches of the period, each with the sales of the ``window_days`` after its day (its day included)."""

    period: Period
    window_days: int = DEFAULT_WINDOW_DAYS
    by: Grouping = "kind"

    def __post_init__(self) -> None:
        if not 0 <= self.window_days <= MAX_WINDOW_DAYS:
            raise DomainError(f"must be 0 to {MAX_WINDOW_DAYS} days", field="window_days")


@dataclass(frozen=True, slots=True)
class AttributionQuery:
    """Sales of the period, each split among the touches of the ``lookback_days`` before it."""

    period: Period
    model: Model = "linear"
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    half_life_days: int = DEFAULT_HALF_LIFE_DAYS
    by: Grouping = "kind"

    def __post_init__(self) -> None:
        if not 0 <= self.lookback_days <= MAX_LOOKBACK_DAYS:
            raise DomainError(f"must be 0 to {MAX_LOOKBACK_DAYS} days", field="lookback_days")
        if not 1 <= self.half_life_days <= MAX_HALF_LIFE_DAYS:
            raise DomainError(f"must be 1 to {MAX_HALF_LIFE_DAYS} days", field="half_life_days")


def weights(model: Model, ages: Sequence[int], half_life_days: int = DEFAULT_HALF_LIFE_DAYS) -> list[Fraction]:
    """The weight of each touch (in order, oldest first; ``ages`` in days before the sale), by ``model``,
    as exact fractions (time decay: 2^(−age / half-life) to 40 significant digits). Weights need not
    sum to 1: parts are in proportion to them."""
    count = len(ages)
    if count == 0:
        return []
    if model == "first":
        return [Fraction(1)] + [Fraction(0)] * (count - 1)
    if model == "last":
        return [Fraction(0)] * (count - 1) + [Fraction(1)]
    if model == "linear" or (model == "position" and count <= 2):
        return [Fraction(1)] * count
    if model == "position":
        return [Fraction(2, 5)] + [Fraction(1, 5 * (count - 2))] * (count - 2) + [Fraction(2, 5)]
    with localcontext() as context:
        context.prec = _PRECISION
        return [Fraction(Decimal(2) ** (Decimal(-age) / Decimal(half_life_days))) for age in ages]


def split(amount: Decimal, parts: Sequence[Fraction]) -> list[Decimal]:
    """``amount`` (to the cent) in parts proportional to ``parts`` (weights ≥ 0, not all 0), each to
    the cent, summing to ``amount`` exactly: each part's exact share of the amount's magnitude rounded
    down to the cent, the cents left over one each to the largest remainders (ties: the earlier part),
    negated for a negative amount. Exact rational arithmetic throughout."""
    total = sum(parts, Fraction(0))
    if total <= 0:
        raise ValueError("the weights must not all be zero")
    cents = Fraction(abs(amount)) * 100
    if cents.denominator != 1:
        raise ValueError(f"{amount} is not to the cent")
    exact = [cents * weight / total for weight in parts]
    whole = [floor(share) for share in exact]
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in order[: int(cents) - sum(whole)]:
        whole[i] += 1
    sign = -1 if amount < 0 else 1
    return [(Decimal(sign * c) / 100).quantize(CENT) for c in whole]
