"""Given events, when a command, then events (or a refusal naming the field): the interaction decider."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm_interactions.domain import interaction as it
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
ID = "i-1"


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


def given(*events: DomainEvent) -> it.State:
    state: it.State = None
    for event in events:
        state = it.evolve(state, event)
    return state


def planned(reminder: int | None = None, **overrides: object) -> it.Interaction:
    state = given(*it.decide(plan(reminder, **overrides), None))
    assert state is not None
    return state


def refused(command: it.Command, state: it.State) -> str | None:
    with pytest.raises(DomainError) as caught:
        it.decide(command, state)
    return caught.value.field


# -- planning and recording -------------------------------------------------------------------------


def test_planning_records_every_field_with_the_reminder_time_and_a_thread_of_its_own() -> None:
    basis = it.Basis("order", "o-7", "Order 7")
    [event] = it.decide(
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
        ),
        None,
    )
    assert isinstance(event, it.InteractionPlanned)
    assert event.state == "planned"
    assert event.subject == "Offer for 2027"
    assert event.reminder == 15 and event.reminder_at == START - timedelta(minutes=15)
    assert event.thread_id == ID and event.follow_up_of is None
    assert event.participants == ["maria", "petar"]
    state = given(event)
    assert state is not None
    assert state.basis == basis and state.project == "P-2027" and state.third_parties == ("Mr Smith of Acme",)
    assert state.importance == "high" and state.contact_person_id == "p-1" and state.created_at == NOW


def test_every_lead_time_of_the_fixed_set_is_accepted_and_no_other() -> None:
    far = NOW + timedelta(days=30)
    for lead in it.REMINDER_LEADS:
        [event] = it.decide(plan(lead, start=far, end=None), None)
        assert isinstance(event, it.InteractionPlanned)
        assert event.reminder_at == far - timedelta(minutes=lead)
    assert it.REMINDER_LEADS == (5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 5760, 10080)
    assert refused(plan(20, start=far, end=None), None) == "reminder"


def test_a_reminder_that_would_fire_in_the_past_is_refused() -> None:
    soon = NOW + timedelta(minutes=10)
    assert refused(plan(15, start=soon, end=None), None) == "reminder"
    [event] = it.decide(plan(10, start=soon, end=None), None)  # fires right now: still in time
    assert isinstance(event, it.InteractionPlanned) and event.reminder_at == NOW
    # Without a reminder an interaction may be planned (entered late) for a time that has passed.
    assert it.decide(plan(None, start=NOW - timedelta(hours=1), end=None), None)


def test_the_end_is_not_before_the_start_and_defaults_to_it() -> None:
    assert refused(plan(end=START - timedelta(minutes=1)), None) == "end"
    [event] = it.decide(plan(end=None), None)
    assert isinstance(event, it.InteractionPlanned) and event.end == START


def test_a_counterparty_or_a_contact_person_is_needed_and_a_person_alone_will_do() -> None:
    assert refused(plan(counterparty_id=None), None) == "counterparty_id"
    [event] = it.decide(plan(counterparty_id=None, contact_person_id="p-1"), None)
    assert isinstance(event, it.InteractionPlanned) and event.counterparty_id is None


def test_blank_or_long_texts_are_refused_naming_the_field() -> None:
    assert refused(plan(subject="   "), None) == "subject"
    assert refused(plan(subject="x" * (it.MAX_SUBJECT + 1)), None) == "subject"
    assert refused(plan(description="x" * (it.MAX_DESCRIPTION + 1)), None) == "description"
    assert refused(plan(responsible=" "), None) == "responsible"
    assert refused(plan(participants=tuple(f"u{i}" for i in range(it.MAX_PEOPLE + 1))), None) == "participants"


def test_recording_one_that_happened_completes_it_at_once_and_its_source_is_provided() -> None:
    happened = NOW - timedelta(hours=2)
    command = it.RecordInteraction(
        draft(direction="incoming", start=happened, end=None, source="exhibition"), NOW, "Wants a demo", "demo"
    )
    recorded, provided = it.decide(command, None)
    assert isinstance(recorded, it.InteractionRecorded)
    assert recorded.state == "completed" and recorded.reminder is None and recorded.reminder_at is None
    assert (recorded.outcome, recorded.outcome_code) == ("Wants a demo", "demo")
    assert provided == it.InformationSourceProvided(
        interaction_id=ID, counterparty_id="c-1", source="exhibition", on=happened.date()
    )
    state = given(recorded, provided)
    assert state is not None
    assert state.state == "completed" and state.completed_at == NOW and state.source == "exhibition"


def test_a_recorded_interaction_cannot_start_in_the_future_beyond_clock_skew() -> None:
    assert refused(it.RecordInteraction(draft(start=NOW + timedelta(hours=1), end=None), NOW), None) == "start"
    assert it.decide(it.RecordInteraction(draft(start=NOW + timedelta(minutes=1), end=None), NOW), None)


def test_an_interaction_is_created_once_and_other_commands_need_one() -> None:
    with pytest.raises(AlreadyExists):
        it.decide(plan(), planned())
    with pytest.raises(NotFound):
        it.decide(it.Cancel(ID, "no", NOW), None)


# -- transitions ------------------------------------------------------------------------------------


def test_completing_a_planned_one_records_the_outcome_and_carries_the_facts() -> None:
    state = planned(15, participants=("maria",))
    [event] = it.decide(it.Complete(ID, " Signed ", NOW, "won"), state)
    assert isinstance(event, it.InteractionCompleted)
    assert (event.state, event.outcome, event.outcome_code, event.completed_at) == ("completed", "Signed", "won", NOW)
    # What the notifier and analytics need is on the event itself.
    assert (event.counterparty_id, event.responsible, event.kind, event.direction) == (
        "c-1",
        "ivan",
        "call",
        "outgoing",
    )
    assert event.start == START and event.reminder_at == START - timedelta(minutes=15)
    assert event.participants == ["maria"]
    after = it.evolve(state, event)
    assert after is not None and after.state == "completed" and after.outcome == "Signed"


def test_completing_needs_an_outcome() -> None:
    assert refused(it.Complete(ID, "  ", NOW), planned()) == "outcome"
    assert refused(it.Complete(ID, "ok", NOW, " "), planned()) == "outcome_code"


def test_only_a_planned_interaction_is_completed_cancelled_or_rescheduled() -> None:
    cancelled = it.evolve(planned(), it.decide(it.Cancel(ID, "Client ill", NOW), planned())[0])
    completed = it.evolve(planned(), it.decide(it.Complete(ID, "Done", NOW), planned())[0])
    assert cancelled is not None and cancelled.state == "cancelled" and cancelled.cancel_reason == "Client ill"
    for state in (cancelled, completed):
        assert refused(it.Complete(ID, "Done", NOW), state) == "state"
        assert refused(it.Cancel(ID, "why", NOW), state) == "state"
        assert refused(it.Reschedule(ID, START + timedelta(days=1), NOW), state) == "state"


def test_cancelling_needs_a_reason() -> None:
    assert refused(it.Cancel(ID, " ", NOW), planned()) == "reason"


def test_rescheduling_keeps_the_duration_and_lead_and_moves_the_reminder() -> None:
    state = planned(60)
    later = START + timedelta(days=1, hours=3)
    [event] = it.decide(it.Reschedule(ID, later, NOW), state)
    assert isinstance(event, it.InteractionRescheduled)
    assert (event.start, event.end, event.previous_start) == (later, later + timedelta(minutes=30), START)
    assert event.reminder == 60 and event.reminder_at == later - timedelta(hours=1)
    assert event.state == "planned" and event.counterparty_id == "c-1" and event.responsible == "ivan"
    after = it.evolve(state, event)
    assert after is not None and after.start == later and after.reminder_at == event.reminder_at


def test_rescheduling_can_drop_or_change_the_reminder_but_never_into_the_past() -> None:
    state = planned(60)
    soon = NOW + timedelta(minutes=30)
    assert refused(it.Reschedule(ID, soon, NOW), state) == "reminder"  # the kept hour's lead has passed
    [dropped] = it.decide(it.Reschedule(ID, soon, NOW, reminder=None), state)
    assert isinstance(dropped, it.InteractionRescheduled) and dropped.reminder_at is None
    [shorter] = it.decide(it.Reschedule(ID, soon, NOW, reminder=15), state)
    assert isinstance(shorter, it.InteractionRescheduled) and shorter.reminder_at == soon - timedelta(minutes=15)
    assert refused(it.Reschedule(ID, START, NOW, end=START - timedelta(minutes=1)), state) == "end"


def test_rescheduling_to_the_same_times_changes_nothing() -> None:
    state = planned(60)
    assert it.decide(it.Reschedule(ID, START, NOW, end=state.end), state) == []


# -- details, source, threads ---------------------------------------------------------------------


def test_changing_details_records_only_what_changed() -> None:
    state = planned()
    [event] = it.decide(
        it.ChangeDetails(
            ID,
            {
                "subject": "Offer for 2027",
                "importance": "high",
                "participants": ["maria"],
                "basis": it.Basis("letter", "l-1"),
                "description": "",
            },
        ),
        state,
    )
    assert isinstance(event, it.InteractionDetailsChanged)
    assert event.changes == {
        "importance": "high",
        "participants": ["maria"],
        "basis": {"type": "letter", "id": "l-1", "title": ""},
    }
    assert event.importance == "high" and event.participants == ["maria"]
    after = it.evolve(state, event)
    assert after is not None and after.basis == it.Basis("letter", "l-1") and after.participants == ("maria",)
    assert it.decide(it.ChangeDetails(ID, {"subject": "Offer for 2027"}), state) == []


def test_details_keep_a_party_refuse_unknown_fields_and_a_cancelled_interaction() -> None:
    state = planned()
    assert refused(it.ChangeDetails(ID, {"counterparty_id": None}), state) == "counterparty_id"
    assert it.decide(it.ChangeDetails(ID, {"counterparty_id": None, "contact_person_id": "p-1"}), state)
    assert refused(it.ChangeDetails(ID, {"start": START}), state) == "start"
    assert refused(it.ChangeDetails(ID, {"kind": None}), state) == "kind"
    cancelled = it.evolve(state, it.decide(it.Cancel(ID, "no", NOW), state)[0])
    assert refused(it.ChangeDetails(ID, {"subject": "x"}), cancelled) == "state"


def test_providing_the_source_needs_a_counterparty_and_defaults_to_the_interactions_day() -> None:
    state = planned()
    [event] = it.decide(it.ProvideSource(ID, "exhibition"), state)
    assert event == it.InformationSourceProvided(
        interaction_id=ID, counterparty_id="c-1", source="exhibition", on=START.date()
    )
    after = it.evolve(state, event)
    assert after is not None and (after.source, after.source_on) == ("exhibition", START.date())
    assert it.decide(it.ProvideSource(ID, "exhibition"), after) == []
    [again] = it.decide(it.ProvideSource(ID, "exhibition", date(2026, 1, 1)), after)
    assert isinstance(again, it.InformationSourceProvided) and again.on == date(2026, 1, 1)
    alone = planned(counterparty_id=None, contact_person_id="p-1")
    assert refused(it.ProvideSource(ID, "exhibition"), alone) == "counterparty_id"


def test_a_follow_up_joins_the_thread_of_a_completed_interaction_only() -> None:
    state = planned(thread_id="t-0")
    assert state.thread_id == "t-0"
    with pytest.raises(DomainError) as caught:
        it.follow_up_thread(state, ID)
    assert caught.value.field == "follow_up_of"
    with pytest.raises(DomainError):
        it.follow_up_thread(None, "nope")
    completed = it.evolve(state, it.decide(it.Complete(ID, "Done", NOW), state)[0])
    assert it.follow_up_thread(completed, ID) == "t-0"
    [event] = it.decide(plan(interaction_id="i-2", thread_id="t-0", follow_up_of=ID), None)
    assert isinstance(event, it.InteractionPlanned) and (event.thread_id, event.follow_up_of) == ("t-0", ID)


def test_takes_part_names_the_author_the_responsible_user_and_participants() -> None:
    state = planned(created_by="boss", participants=("maria",))
    assert state.sees("boss") and state.sees("ivan") and state.sees("maria")
    assert not state.sees("petar")
