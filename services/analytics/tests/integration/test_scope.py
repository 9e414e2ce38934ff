"""The scope of a caller's reports: the whole for analytics readers, the counterparties of their access
groups (today's) for a sales manager, 403 for others; applied in SQL by ``SCOPE_SQL``."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from crm_analytics.application.scope import SCOPE_SQL, WHOLE, Scope, scope_of
from crm_analytics.projections.crm_events import CrmEventsFeed
from crm_shared.analytics import AnalyticsStore
from crm_shared.contracts.contacts import counterparty as cp
from crm_shared.errors import Forbidden
from crm_shared.identity import Caller

from .test_crm_events import T0, message, registered


def caller(*roles: str, groups: tuple[str, ...] = ()) -> Caller:
    return Caller("u", frozenset(roles), frozenset(groups))  # type: ignore[arg-type]


def test_who_sees_what() -> None:
    assert scope_of(caller("marketer")) == WHOLE
    assert scope_of(caller("head_of_sales")) == WHOLE
    assert scope_of(caller("sales_manager", groups=("north",))) == Scope(frozenset({"north"}))
    with pytest.raises(Forbidden):
        scope_of(caller())


async def test_the_scope_keeps_the_counterparties_of_the_groups_as_they_are_today(tables: AnalyticsStore) -> None:
    north, south, moved = (str(uuid.uuid4()) for _ in range(3))
    await CrmEventsFeed(tables).handle(
        [
            registered(north, "ana", group="north"),
            registered(south, "ana", group="south"),
            registered(moved, "ana", group="north"),
            message(
                cp.CounterpartyAccessGroupChanged(counterparty_id=moved, access_group="south"), T0 + timedelta(days=1)
            ),
        ]
    )
    rows = "SELECT arrayJoin({ids:Array(String)}) AS counterparty_id"
    ids = [north, south, moved, ""]  # "": a customer no counterparty carries

    async def seen(scope: Scope) -> set[str]:
        found = await tables.query(
            f"SELECT counterparty_id FROM ({rows}) WHERE {SCOPE_SQL}", {"ids": ids, **scope.parameters()}
        )
        return {r["counterparty_id"] for r in found}

    assert await seen(WHOLE) == set(ids)
    assert await seen(Scope(frozenset({"north"}))) == {north}
    assert await seen(Scope(frozenset({"south"}))) == {south, moved}
    assert await seen(Scope(frozenset())) == set()
