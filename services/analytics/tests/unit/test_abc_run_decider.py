"""The run decider, given/when/then: creation (and its idempotent repeat), confirmation (once; rows
in chunks; markers checked), overrides (a reason required, only on a confirmed run, a known customer)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from crm_analytics.domain import abc_run as run
from crm_analytics.domain.abc import Period, Shares
from crm_shared.errors import DomainError, NotFound
from crm_shared.testing import DeciderSpec, like

spec = DeciderSpec(run.decide, run.evolve, None)
AT = datetime(2026, 3, 1, 8, tzinfo=UTC)
PERIOD = Period(date(2026, 2, 1), date(2026, 2, 28))


def create(run_id: str = "r1") -> run.CreateRun:
    return run.CreateRun(run_id, PERIOD, "revenue", Shares(), "EUR", "ana", AT)


def created(run_id: str = "r1") -> run.AbcRunCreated:
    (event,) = run.decide(create(run_id), None)
    assert isinstance(event, run.AbcRunCreated)
    return event


def row(place: int, customer: str, abc_class: str, previous: str | None) -> run.RunRow:
    return run.RunRow(
        customer=customer,
        place=place,
        value=Decimal("10.00"),
        share=Decimal("50.0000"),
        cumulative_value=Decimal("10.00"),
        cumulative_share=Decimal("50.0000"),
        abc_class=abc_class,  # type: ignore[arg-type]
        previous_class=previous,  # type: ignore[arg-type]
        marker=run.marker(abc_class, previous),
    )


def confirm(*rows: run.RunRow) -> run.ConfirmRun:
    return run.ConfirmRun("r1", rows, Decimal("20.00"), "r0", "ana", AT)


def confirmed(*rows: run.RunRow) -> list[run.AbcRunConfirmed | run.AbcRunRowsRecorded]:
    return run.decide(confirm(*rows), run.evolve(None, created()))  # type: ignore[return-value]


def test_markers() -> None:
    assert [run.marker(c, p) for c, p in (("A", "C"), ("B", "A"), ("B", "B"), ("C", None))] == [
        "up",
        "down",
        "same",
        "new",
    ]


def test_a_run_is_created_once_with_its_scheme() -> None:
    spec.given().when(create()).then(like(run.AbcRunCreated, run_id="r1", scheme="revenue:70/20/10:EUR"))
    spec.given(created()).when(create()).then_nothing()
    other = run.CreateRun("r1", PERIOD, "profit", Shares(), "EUR", "ana", AT)
    spec.given(created()).when(other).then_raises(DomainError, field="run_id")


def test_confirming_records_the_summary_then_the_rows_once() -> None:
    rows = (row(1, "K2", "A", "C"), row(2, "K1", "C", None))
    spec.given(created()).when(confirm(*rows)).then(
        like(run.AbcRunConfirmed, run_id="r1", customers=2, previous_run_id="r0"),
        like(run.AbcRunRowsRecorded, rows=list(rows)),
    )
    spec.given(created(), *confirmed(*rows)).when(confirm(*rows)).then_nothing()
    spec.given().when(confirm(*rows)).then_raises(NotFound)


def test_rows_are_recorded_in_chunks() -> None:
    rows = tuple(row(n + 1, f"K{n:05d}", "C", None) for n in range(run.ROWS_PER_EVENT + 1))
    events = run.decide(confirm(*rows), run.evolve(None, created()))
    assert [len(e.rows) for e in events if isinstance(e, run.AbcRunRowsRecorded)] == [run.ROWS_PER_EVENT, 1]


def test_a_marker_that_does_not_follow_from_the_classes_or_places_out_of_order_are_refused() -> None:
    wrong = row(1, "K1", "A", "C").model_copy(update={"marker": "down"})
    spec.given(created()).when(confirm(wrong)).then_raises(DomainError, field="rows")
    spec.given(created()).when(confirm(row(2, "K1", "A", None))).then_raises(DomainError, field="rows")


def test_an_override_needs_a_reason_a_confirmed_run_and_a_customer_of_it() -> None:
    rows = (row(1, "K2", "A", "C"), row(2, "K1", "C", "B"))
    history = (created(), *confirmed(*rows))

    def override(customer: str, abc_class: str, reason: str) -> run.OverrideClass:
        return run.OverrideClass("r1", customer, abc_class, reason, "boss", AT)  # type: ignore[arg-type]

    spec.given(*history).when(override("K1", "B", "  ")).then_raises(DomainError, field="reason")
    spec.given(created()).when(override("K1", "B", "key account")).then_raises(DomainError, field="state")
    spec.given(*history).when(override("K9", "B", "key account")).then_raises(DomainError, field="customer")
    spec.given(*history).when(override("K1", "C", "no change")).then_nothing()
    spec.given(*history).when(override("K1", "B", " key account ")).then(
        like(
            run.AbcClassOverridden,
            customer="K1",
            abc_class="B",
            computed_class="C",
            class_before="C",
            previous_class="B",
            marker="same",
            reason="key account",
        )
    )
    overridden = run.decide(override("K1", "A", "key account"), spec.given(*history).state)
    spec.given(*history, *overridden).then_state(
        lambda state: state.standings["K1"] == run.Standing("C", "A", "B") and state.overrides == 1
    )
