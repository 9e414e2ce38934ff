"""Given events, when a command, then events (or a refusal naming the field): the interaction decider."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm_interactions.domain import interaction as it
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.testing import DeciderSpec, like

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
ID = "i-1"
spec = DeciderSpec(it.decide, it.evolve, None)


def draft(**overrides: object) -> it.Draft:
    fields: dict[str, object] = {
        "interaction_id": ID,
        "kind": "call",
        "direction": "outgoing",
        "subject": "  Offer   for 2027 ",
        "start": START,
        "end": START + timedelta(minutes=30),
        "responsible": "ivan",
        "created_by": "ivan",
        "counterparty_id": "c-1",
    }
    fields.update(overrides)
    return it.Draft(**fields)  # type: ignore[arg-type]


def plan(reminder: int | None = None, **overrides: object) -> it.PlanInteraction:
    return it.PlanInteraction(draft(**overrides), NOW, reminder)


def planned(**overrides: object) -> it.InteractionPlanned:
    """The event ``plan()`` records (the first test holds the two together)."""
    fields: dict[str, object] = {
        "interaction_id": ID,
        "state": "planned",
        "kind": "call",
        "direction": "outgoing",
        "importance": "medium",
        "subject": "Offer for 2027",
        "counterparty_id": "c-1",
        "contact_person_id": None,
        "responsible": "ivan",
        "participants": [],
        "start": START,
        "end": START + timedelta(minutes=30),
        "reminder": None,
        "reminder_at": None,
        "thread_id": ID,
        "created_by": "ivan",
        "created_at": NOW,
    }
    fields.update(overrides)
    return it.InteractionPlanned.model_validate(fields)


def reminded(lead: int, **overrides: object) -> it.InteractionPlanned:
    """Planned with a reminder ``lead`` minutes before the start."""
    return planned(reminder=lead, reminder_at=START - timedelta(minutes=lead), **overrides)


# -- planning and recording -------------------------------------------------------------------------


def test_planning_records_every_field_with_the_reminder_time_and_a_thread_of_its_own() -> None:
    spec.given().when(plan()).then(planned())
    basis = it.Basis("order", "o-7", "Order 7")
    spec.given().when(
        plan(
            15,
            importance="high",
            participants=("maria", "maria", " petar "),
            third_parties=("Mr Smith of Acme",),
            basis=basis,
            project="P-2027",
            contact_person_id="p-1",
            description="short",
            content="long",
        )
    ).then(
        reminded(
            15,
            importance="high",
            participants=["maria", "petar"],
            third_parties=["Mr Smith of Acme"],
            basis={"type": "order", "id": "o-7", "title": "Order 7"},
            project="P-2027",
            contact_person_id="p-1",
            description="short",
            content="long",
            follow_up_of=None,
        )
    ).then_state(
        like(
            it.Interaction,
            basis=basis,
            project="P-2027",
            third_parties=("Mr Smith of Acme",),
            importance="high",
            contact_person_id="p-1",
            created_at=NOW,
        )
    )


def test_every_lead_time_of_the_fixed_set_is_accepted_and_no_other() -> None:
    far = NOW + timedelta(days=30)
    for lead in it.REMINDER_LEADS:
        spec.given().when(plan(lead, start=far, end=None)).then(
            like(it.InteractionPlanned, reminder_at=far - timedelta(minutes=lead))
        )
    assert it.REMINDER_LEADS == (5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 5760, 10080)
    spec.given().when(plan(20, start=far, end=None)).then_raises(DomainError, field="reminder")


def test_a_reminder_that_would_fire_in_the_past_is_refused() -> None:
    soon = NOW + timedelta(minutes=10)
    spec.given().when(plan(15, start=soon, end=None)).then_raises(DomainError, field="reminder")
    # Fires right now: still in time.
    spec.given().when(plan(10, start=soon, end=None)).then(like(it.InteractionPlanned, reminder_at=NOW))
    # Without a reminder an interaction may be planned (entered late) for a time that has passed.
    an_hour_ago = NOW - timedelta(hours=1)
    spec.given().when(plan(None, start=an_hour_ago, end=None)).then(like(it.InteractionPlanned, start=an_hour_ago))


def test_the_end_is_not_before_the_start_and_defaults_to_it() -> None:
    spec.given().when(plan(end=START - timedelta(minutes=1))).then_raises(DomainError, field="end")
    spec.given().when(plan(end=None)).then(like(it.InteractionPlanned, end=START))


def test_a_counterparty_or_a_contact_person_is_needed_and_a_person_alone_will_do() -> None:
    spec.given().when(plan(counterparty_id=None)).then_raises(DomainError, field="counterparty_id")
    spec.given().when(plan(counterparty_id=None, contact_person_id="p-1")).then(
        like(it.InteractionPlanned, counterparty_id=None)
    )


def test_blank_or_long_texts_are_refused_naming_the_field() -> None:
    spec.given().when(plan(subject="   ")).then_raises(DomainError, field="subject")
    spec.given().when(plan(subject="x" * (it.MAX_SUBJECT + 1))).then_raises(DomainError, field="subject")
    spec.given().when(plan(description="x" * (it.MAX_DESCRIPTION + 1))).then_raises(DomainError, field="description")
    spec.given().when(plan(responsible=" ")).then_raises(DomainError, field="responsible")
    spec.given().when(plan(participants=tuple(f"u{i}" for i in range(it.MAX_PEOPLE + 1)))).then_raises(
        DomainError, field="participants"
    )


def test_recording_one_that_happened_completes_it_at_once_and_its_source_is_provided() -> None:
    happened = NOW - timedelta(hours=2)
    command = it.RecordInteraction(
        draft(direction="incoming", start=happened, end=None, source="exhibition"), NOW, "Wants a demo", "demo"
    )
    spec.given().when(command).then(
        like(
            it.InteractionRecorded,
            state="completed",
            reminder=None,
            reminder_at=None,
            outcome="Wants a demo",
            outcome_code="demo",
        ),
        it.InformationSourceProvided(interaction_id=ID, counterparty_id="c-1", source="exhibition", on=happened.date()),
    ).then_state(like(it.Interaction, state="completed", completed_at=NOW, source="exhibition"))


def test_a_recorded_interaction_cannot_start_in_the_future_beyond_clock_skew() -> None:
    spec.given().when(it.RecordInteraction(draft(start=NOW + timedelta(hours=1), end=None), NOW)).then_raises(
        DomainError, field="start"
    )
    spec.given().when(it.RecordInteraction(draft(start=NOW + timedelta(minutes=1), end=None), NOW)).then(
        like(it.InteractionRecorded, start=NOW + timedelta(minutes=1))
    )


def test_an_interaction_is_created_once_and_other_commands_need_one() -> None:
    spec.given(planned()).when(plan()).then_raises(AlreadyExists)
    spec.given().when(it.Cancel(ID, "no", NOW)).then_raises(NotFound)


# -- transitions ------------------------------------------------------------------------------------


def test_completing_a_planned_one_records_the_outcome_and_carries_the_facts() -> None:
    spec.given(reminded(15, participants=["maria"])).when(it.Complete(ID, " Signed ", NOW, "won")).then(
        like(
            it.InteractionCompleted,
            state="completed",
            outcome="Signed",
            outcome_code="won",
            completed_at=NOW,
            # What the notifier and analytics need is on the event itself.
            counterparty_id="c-1",
            responsible="ivan",
            kind="call",
            direction="outgoing",
            start=START,
            reminder_at=START - timedelta(minutes=15),
            participants=["maria"],
        )
    ).then_state(like(it.Interaction, state="completed", outcome="Signed"))


def test_completing_needs_an_outcome() -> None:
    spec.given(planned()).when(it.Complete(ID, "  ", NOW)).then_raises(DomainError, field="outcome")
    spec.given(planned()).when(it.Complete(ID, "ok", NOW, " ")).then_raises(DomainError, field="outcome_code")


def test_only_a_planned_interaction_is_completed_cancelled_or_rescheduled() -> None:
    cancelling = spec.given(planned()).when(it.Cancel(ID, "Client ill", NOW))
    cancelling.then_state(like(it.Interaction, state="cancelled", cancel_reason="Client ill"))
    completing = spec.given(planned()).when(it.Complete(ID, "Done", NOW))
    for done in (cancelling, completing):
        history = spec.given(planned(), *done.events)
        history.when(it.Complete(ID, "Done", NOW)).then_raises(DomainError, field="state")
        history.when(it.Cancel(ID, "why", NOW)).then_raises(DomainError, field="state")
        history.when(it.Reschedule(ID, START + timedelta(days=1), NOW)).then_raises(DomainError, field="state")


def test_cancelling_needs_a_reason() -> None:
    spec.given(planned()).when(it.Cancel(ID, " ", NOW)).then_raises(DomainError, field="reason")


def test_rescheduling_keeps_the_duration_and_lead_and_moves_the_reminder() -> None:
    later = START + timedelta(days=1, hours=3)
    spec.given(reminded(60)).when(it.Reschedule(ID, later, NOW)).then(
        like(
            it.InteractionRescheduled,
            start=later,
            end=later + timedelta(minutes=30),
            previous_start=START,
            reminder=60,
            reminder_at=later - timedelta(hours=1),
            state="planned",
            counterparty_id="c-1",
            responsible="ivan",
        )
    ).then_state(like(it.Interaction, start=later, reminder_at=later - timedelta(hours=1)))


def test_rescheduling_can_drop_or_change_the_reminder_but_never_into_the_past() -> None:
    an_hour_ahead = spec.given(reminded(60))
    soon = NOW + timedelta(minutes=30)
    # The kept hour's lead has passed.
    an_hour_ahead.when(it.Reschedule(ID, soon, NOW)).then_raises(DomainError, field="reminder")
    an_hour_ahead.when(it.Reschedule(ID, soon, NOW, reminder=None)).then(
        like(it.InteractionRescheduled, reminder_at=None)
    )
    an_hour_ahead.when(it.Reschedule(ID, soon, NOW, reminder=15)).then(
        like(it.InteractionRescheduled, reminder_at=soon - timedelta(minutes=15))
    )
    an_hour_ahead.when(it.Reschedule(ID, START, NOW, end=START - timedelta(minutes=1))).then_raises(
        DomainError, field="end"
    )


def test_rescheduling_to_the_same_times_changes_nothing() -> None:
    spec.given(reminded(60)).when(it.Reschedule(ID, START, NOW, end=START + timedelta(minutes=30))).then_nothing()


# -- details, source, threads ---------------------------------------------------------------------


def test_changing_details_records_only_what_changed() -> None:
    spec.given(planned()).when(
        it.ChangeDetails(
            ID,
            {
                "subject": "Offer for 2027",
                "importance": "high",
                "participants": ["maria"],
                "basis": it.Basis("letter", "l-1"),
                "description": "",
            },
        )
    ).then(
        like(
            it.InteractionDetailsChanged,
            changes={
                "importance": "high",
                "participants": ["maria"],
                "basis": {"type": "letter", "id": "l-1", "title": ""},
            },
            importance="high",
            participants=["maria"],
        )
    ).then_state(like(it.Interaction, basis=it.Basis("letter", "l-1"), participants=("maria",)))
    spec.given(planned()).when(it.ChangeDetails(ID, {"subject": "Offer for 2027"})).then_nothing()


def test_details_keep_a_party_refuse_unknown_fields_and_a_cancelled_interaction() -> None:
    interaction = spec.given(planned())
    interaction.when(it.ChangeDetails(ID, {"counterparty_id": None})).then_raises(DomainError, field="counterparty_id")
    interaction.when(it.ChangeDetails(ID, {"counterparty_id": None, "contact_person_id": "p-1"})).then(
        like(it.InteractionDetailsChanged, changes={"counterparty_id": None, "contact_person_id": "p-1"})
    )
    interaction.when(it.ChangeDetails(ID, {"start": START})).then_raises(DomainError, field="start")
    interaction.when(it.ChangeDetails(ID, {"kind": None})).then_raises(DomainError, field="kind")
    cancelled = spec.given(planned(), *interaction.when(it.Cancel(ID, "no", NOW)).events)
    cancelled.when(it.ChangeDetails(ID, {"subject": "x"})).then_raises(DomainError, field="state")


def test_providing_the_source_needs_a_counterparty_and_defaults_to_the_interactions_day() -> None:
    provided = it.InformationSourceProvided(
        interaction_id=ID, counterparty_id="c-1", source="exhibition", on=START.date()
    )
    spec.given(planned()).when(it.ProvideSource(ID, "exhibition")).then(provided).then_state(
        like(it.Interaction, source="exhibition", source_on=START.date())
    )
    known = spec.given(planned(), provided)
    known.when(it.ProvideSource(ID, "exhibition")).then_nothing()
    known.when(it.ProvideSource(ID, "exhibition", date(2026, 1, 1))).then(
        like(it.InformationSourceProvided, on=date(2026, 1, 1))
    )
    spec.given(planned(counterparty_id=None, contact_person_id="p-1")).when(
        it.ProvideSource(ID, "exhibition")
    ).then_raises(DomainError, field="counterparty_id")


def test_a_follow_up_joins_the_thread_of_a_completed_interaction_only() -> None:
    threaded = spec.given(planned(thread_id="t-0")).then_state(like(it.Interaction, thread_id="t-0"))
    with pytest.raises(DomainError) as caught:
        it.follow_up_thread(threaded.state, ID)
    assert caught.value.field == "follow_up_of"
    with pytest.raises(DomainError):
        it.follow_up_thread(None, "nope")
    completed = spec.given(planned(thread_id="t-0"), *threaded.when(it.Complete(ID, "Done", NOW)).events)
    assert it.follow_up_thread(completed.state, ID) == "t-0"
    spec.given().when(plan(interaction_id="i-2", thread_id="t-0", follow_up_of=ID)).then(
        like(it.InteractionPlanned, thread_id="t-0", follow_up_of=ID)
    )


def test_takes_part_names_the_author_the_responsible_user_and_participants() -> None:
    def seen_by_those_who_take_part(state: it.State) -> None:
        assert state is not None
        assert state.sees("boss") and state.sees("ivan") and state.sees("maria")
        assert not state.sees("petar")

    spec.given(planned(created_by="boss", participants=["maria"])).then_state(seen_by_those_who_take_part)
