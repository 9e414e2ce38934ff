"""The counterparty register's journeys again on the scaled-out adapters (Kafka bus, MongoDB-protocol
read models). The tests are the embedded suite's, imported so that pytest runs them here with this
module's ``embedded`` fixture; only the adapters differ."""

from __future__ import annotations

import pytest
from tests.system.conftest import EmbeddedCrm
from tests.system.test_counterparty_register import (  # noqa: F401  (collected here, on the servers)
    catalogs,
    test_a_full_card_with_contact_information_normalised,
    test_archive_takes_it_out_of_lists_and_blocks_changes_until_restored,
    test_duplicates_on_create_in_the_report_and_merged,
    test_merge_and_reports_follow_roles_and_groups,
    test_search_by_word_email_phone_and_tax_id_and_filters,
)

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]


@pytest.fixture
def embedded(scaled_out: EmbeddedCrm) -> EmbeddedCrm:
    return scaled_out
