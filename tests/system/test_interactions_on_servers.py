"""Interactions' journeys again on the scaled-out adapters: contacts' events reach the interactions
service's local copy over Apache Kafka, and every view is on the MongoDB protocol. The tests are the
embedded suite's, imported so that pytest runs them here with this module's ``embedded`` fixture."""

from __future__ import annotations

import pytest
from tests.system.conftest import EmbeddedCrm
from tests.system.test_interactions_http import (  # noqa: F401  (collected here, on the servers)
    test_a_counterparty_renamed_in_contacts_shows_its_new_name_here,
    test_an_access_group_changed_in_contacts_takes_effect_here,
    test_an_interaction_with_a_contact_person_only_is_seen_by_who_takes_part,
    test_bad_input_is_a_422_naming_the_field,
    test_plan_reschedule_complete_follow_up_and_the_timeline,
    test_roles_and_signing_in,
    test_the_calendar_shows_planned_interactions_a_user_takes_part_in,
    test_the_public_events_carry_what_the_notifier_needs,
    test_the_source_prompt_on_incoming_calls_of_buyers_and_recording_the_source,
    test_wrong_transitions_are_refused_naming_the_state,
)

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]


@pytest.fixture
def embedded(scaled_out: EmbeddedCrm) -> EmbeddedCrm:
    return scaled_out
