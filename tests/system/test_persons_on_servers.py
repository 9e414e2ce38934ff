"""Contact persons' journeys again on the scaled-out adapters (Kafka bus, MongoDB-protocol read models
and key store), imported from the embedded suite."""

from __future__ import annotations

import pytest
from tests.system.conftest import EmbeddedCrm
from tests.system.test_persons_http import (  # noqa: F401  (collected here, on the servers)
    catalogs,
    classification,
    test_export_holds_everything_and_erasure_shreds_it_everywhere,
    test_persons_follow_the_access_groups_of_their_counterparties,
    test_search_by_name_prefix_in_any_case_and_page,
    test_the_list_filters_by_category_or_property_with_the_name_search,
)

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]


@pytest.fixture
def embedded(scaled_out: EmbeddedCrm) -> EmbeddedCrm:
    return scaled_out
