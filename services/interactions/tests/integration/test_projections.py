"""The views of interactions on real SQLite stores and the embedded bus: the local copy of contacts'
topics, the interaction lists and calendar (replays and redeliveries harmless, rebuild equals live),
visibility by the counterparty's access group now, pagination and the source prompt."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_interactions.application.contacts import LocalContacts
from crm_interactions.application.interactions.commands import InteractionCommands
from crm_interactions.application.interactions.publishing import stored
from crm_interactions.application.interactions.queries import Filters, InteractionQueries
from crm_interactions.domain import interaction as it
from crm_interactions.projections.contacts import COUNTERPARTIES, SOURCES, ContactsView
from crm_interactions.projections.interactions import CALENDAR, COLLECTION, InteractionsView
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.bus.port import Message
from crm_shared.contracts import contacts as public
from crm_shared.contracts.contacts import person, reference
from crm_shared.errors import DomainError, NotFound
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.identity import caller_of
from crm_shared.integration import Envelope
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query
from crm_shared.readstore.sqlite import SqliteReadStore

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ADMIN = caller_of("admin", ["administrator"])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteEventStore]:
    opened = await SqliteEventStore.open(tmp_path / "events.db")
    yield opened
    await opened.close()


@pytest.fixture
async def views(tmp_path: Path) -> AsyncIterator[SqliteReadStore]:
    opened = await SqliteReadStore.open(tmp_path / "views.db")
    yield opened
    await opened.close()


class Contacts:
    """Messages as the contacts service publishes them, one stream version counter per subject."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.position = 0

    def message(self, topic: str, ce_type: str, subject: str, data: dict[str, Any]) -> Message:
        contract = public.EVENT_TYPES[ce_type]
        version = self.versions.get(subject, -1) + 1
        self.versions[subject] = version
        self.position += 1
        prefix = {public.COUNTERPARTY_TOPIC: "counterparty", reference.TOPIC: "reference", person.TOPIC: "person"}
        return Envelope(
            id=str(uuid.uuid4()),
            type=ce_type,
            source=public.SOURCE,
            subject=subject,
            time=datetime.now(UTC),
            topic=topic,
            data=contract.model_validate(data).model_dump(mode="json"),
            stream=f"{prefix[topic]}-{subject}",
            stream_version=version,
            position=self.position,
        ).to_message()

    def counterparty(self, ce_type: str, cid: str, **data: Any) -> Message:
        return self.message(public.COUNTERPARTY_TOPIC, f"crm.contacts.{ce_type}", cid, {"counterparty_id": cid, **data})

    def registered(
        self, cid: str, name: str, group: str = "general", relations: tuple[str, ...] = ("buyer",)
    ) -> Message:
        return self.counterparty(
            "CounterpartyRegistered",
            cid,
            name=name,
            kind=relations[0],
            relations=list(relations),
            main_manager="ivan",
            registered_at=NOW,
            access_group=group,
        )

    def source_entry(self, code: str, days: int, ce_type: str = "ReferenceEntryDefined") -> Message:
        data = {"catalog": "sources", "code": code, "name": code.title(), "attributes": {"actuality_days": days}}
        return self.message(reference.TOPIC, f"crm.contacts.{ce_type}", f"sources:{code}", data)


async def contacts_runner(views: SqliteReadStore) -> ProjectionRunner:
    runner = ProjectionRunner(ContactsView(), views, service="interactions")
    for base, indexes in runner.projection.collections.items():
        await views.ensure_indexes(runner.collection(base), indexes)
    return runner


# -- the local copy of contacts ---------------------------------------------------------------------


async def test_the_local_contacts_view_keeps_names_groups_relations_sources_and_persons(views: SqliteReadStore) -> None:
    runner = await contacts_runner(views)
    contacts = LocalContacts(views, runner)
    feed = Contacts()
    renamed_early = feed.counterparty("CounterpartyRenamed", "c-0", name="Before its registration")
    messages = [
        feed.registered("c-1", "Ромашка ООД"),
        feed.counterparty("CounterpartyRenamed", "c-1", name="Лайка АД"),
        feed.counterparty("CounterpartyAccessGroupChanged", "c-1", access_group="north"),
        feed.counterparty("CounterpartyRelationsChanged", "c-1", relations=["buyer", "supplier"]),
        feed.counterparty("InformationSourceRecorded", "c-1", source="exhibition", on="2026-01-10"),
        feed.counterparty("InformationSourceRecorded", "c-1", source="call", on="2026-03-01"),
        feed.counterparty("CounterpartyArchived", "c-1", reason="closed"),
        feed.source_entry("exhibition", 90),
        feed.source_entry("exhibition", 30, "ReferenceEntryChanged"),
        feed.message(
            reference.TOPIC,
            "crm.contacts.ReferenceEntryDefined",
            "regions:north",
            {"catalog": "regions", "code": "north", "name": "N"},
        ),
        feed.message(
            person.TOPIC,
            "crm.contacts.PersonRegistered",
            "p-1",
            {"person_id": "p-1", "owner": "maria", "private": True, "registered_at": NOW.isoformat()},
        ),
        renamed_early,
    ]
    for message in messages:
        await runner.handle(message)
    # Redelivered, older messages change nothing.
    await runner.handle(messages[1])
    await runner.handle(messages[0])

    card = await contacts.counterparty("c-1")
    assert card is not None
    assert (card["name"], card["access_group"], card["relations"], card["archived"]) == (
        "Лайка АД",
        "north",
        ["buyer", "supplier"],
        True,
    )
    assert card["sources"] == [{"source": "exhibition", "on": "2026-01-10"}, {"source": "call", "on": "2026-03-01"}]
    assert card["_version"] == 6
    assert await contacts.counterparty("c-0") is None  # a change before the registration is not a card
    assert (await contacts.source("exhibition") or {})["actuality_days"] == 30
    assert await views.count(runner.collection(SOURCES)) == 1  # only the sources catalog is kept
    assert (await contacts.person("p-1") or {})["owner"] == "maria"
    with pytest.raises(DomainError) as caught:
        await contacts.require_person("p-1", caller_of("ivan", ["sales_manager"]))
    assert caught.value.field == "contact_person_id"
    await contacts.require_person("p-1", caller_of("maria", ["sales_manager"]))
    with pytest.raises(DomainError) as caught:
        await contacts.require_counterparty("c-1", ADMIN)
    assert caught.value.field == "counterparty_id" and "archived" in str(caught.value)


async def test_the_local_view_follows_the_bus_with_its_own_group_and_survives_redelivery(
    tmp_path: Path, views: SqliteReadStore
) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db", poll_interval=0.01)
    await bus.start()
    feed = Contacts()
    first = [feed.registered(f"c-{i}", f"Firm {i}") for i in range(20)]
    await bus.publish(first)  # published before the view existed: a new group reads from the beginning
    runner = await contacts_runner(views)
    await runner.follow(bus)
    renames = [feed.counterparty("CounterpartyRenamed", f"c-{i}", name=f"Firm {i} Ltd") for i in range(20)]
    await bus.publish([*renames, *renames[:5]])  # some twice
    contacts = LocalContacts(views, runner)
    async with asyncio.timeout(10):
        while True:
            if (await contacts.counterparty("c-19") or {}).get("name") == "Firm 19 Ltd":
                break
            await asyncio.sleep(0.02)
    await runner.stop()
    names = {d["_id"]: d["name"] for d in (await views.find(runner.collection(COUNTERPARTIES), Query(limit=100))).items}
    assert names == {f"c-{i}": f"Firm {i} Ltd" for i in range(20)}
    assert runner.group == "interactions.contacts.v1"
    await bus.stop()


async def test_the_source_prompt_says_missing_or_expired_for_incoming_interactions_of_buyers(
    views: SqliteReadStore,
) -> None:
    runner = await contacts_runner(views)
    contacts = LocalContacts(views, runner)
    feed = Contacts()
    for message in [
        feed.registered("buyer", "Buyer"),
        feed.registered("supplier", "Supplier", relations=("supplier",)),
        feed.registered("kept", "Kept"),
        feed.counterparty("InformationSourceRecorded", "kept", source="forever", on="2020-01-01"),
        feed.registered("dated", "Dated"),
        feed.counterparty("InformationSourceRecorded", "dated", source="exhibition", on="2026-01-10"),
        feed.source_entry("exhibition", 30),
        feed.source_entry("forever", 0),
    ]:
        await runner.handle(message)

    def interaction(cid: str, direction: str = "incoming", source: str | None = None) -> dict[str, Any]:
        return {"counterparty_id": cid, "direction": direction, "source": source}

    assert await contacts.source_prompt(interaction("buyer"), date(2026, 2, 1)) == {"reason": "missing"}
    assert await contacts.source_prompt(interaction("buyer", "outgoing"), date(2026, 2, 1)) is None
    assert await contacts.source_prompt(interaction("buyer", source="call"), date(2026, 2, 1)) is None
    assert await contacts.source_prompt(interaction("supplier"), date(2026, 2, 1)) is None
    assert await contacts.source_prompt(interaction("kept"), date(2030, 1, 1)) is None  # 0 days: never expires
    # Valid through on + 30 days (2026-02-09), expired from the day after.
    assert await contacts.source_prompt(interaction("dated"), date(2026, 2, 9)) is None
    assert await contacts.source_prompt(interaction("dated"), date(2026, 2, 10)) == {
        "reason": "expired",
        "last_source": "exhibition",
        "expired_on": "2026-02-09",
    }
    assert await contacts.source_prompt(interaction("dated"), date(2026, 1, 9)) == {"reason": "missing"}


# -- the interaction view ---------------------------------------------------------------------------


async def seeded(store: SqliteEventStore, views: SqliteReadStore, n: int = 12) -> InteractionCommands:
    """Counterparties c-0 (general), c-1 (north), c-2 (south), and ``n`` interactions spread over them
    and over days, some rescheduled, completed, cancelled or with changed participants."""
    runner = await contacts_runner(views)
    feed = Contacts()
    for i, group in enumerate(("general", "north", "south")):
        await runner.handle(feed.registered(f"c-{i}", f"Firm {i}", group))
    commands = InteractionCommands(store, LocalContacts(views, runner), clock=lambda: NOW)
    for i in range(n):
        iid = f"i-{i:02d}"
        start = NOW + timedelta(days=i % 5, hours=i)
        draft = it.Draft(iid, "call", "outgoing", f"Call {i}", start, "ivan", "ivan", counterparty_id=f"c-{i % 3}")
        await commands.handle(it.PlanInteraction(draft, NOW), ADMIN)
        if i % 4 == 1:
            await commands.handle(it.Reschedule(iid, start + timedelta(hours=1), NOW), ADMIN)
        if i % 4 == 2:
            await commands.handle(it.Complete(iid, "Done", NOW, "won"), ADMIN)
        if i % 4 == 3:
            await commands.handle(it.ChangeDetails(iid, {"participants": ["maria"]}), ADMIN)
            await commands.handle(it.ChangeDetails(iid, {"participants": ["petar"], "responsible": "maria"}), ADMIN)
    return commands


async def everything(views: SqliteReadStore, collection: str) -> list[dict[str, Any]]:
    return (await views.find(collection, Query(limit=10_000))).items


async def test_redelivered_and_interleaved_messages_give_the_view_a_rebuild_gives(
    store: SqliteEventStore, views: SqliteReadStore, tmp_path: Path
) -> None:
    await seeded(store, views)
    messages = [env.to_message() for e in await store.read_all(after=0) for env in stored(e)]
    live = ProjectionRunner(InteractionsView(), views, service="interactions")
    await live.prepare()
    rng = random.Random(5)
    lanes: dict[str, list[Message]] = {}
    for m in messages + messages:
        lanes.setdefault(m.headers["crm_stream"], []).append(m)
    queue = list(lanes.values())
    while queue:
        lane = rng.choice(queue)
        await live.handle(lane.pop(0))
        if not lane:
            queue.remove(lane)
    replay_views = await SqliteReadStore.open(tmp_path / "replay.db")
    replay = ProjectionRunner(InteractionsView(), replay_views, service="interactions")
    assert await replay.rebuild_if_needed(store, stored) == len(messages)
    for base in (COLLECTION, CALENDAR):
        assert await everything(views, live.collection(base)) == await everything(replay_views, replay.collection(base))
    await replay_views.close()

    docs = {d["_id"]: d for d in await everything(views, live.collection(COLLECTION))}
    assert docs["i-02"]["state"] == "completed" and docs["i-02"]["outcome_code"] == "won"
    assert docs["i-01"]["start"] != docs["i-01"]["created_at"]
    calendar = {d["_id"]: d["state"] for d in await everything(views, live.collection(CALENDAR))}
    # i-03: ivan handed it to maria; maria took part, then petar instead.
    assert calendar["i-03|maria"] == "planned" and calendar["i-03|petar"] == "planned"
    assert calendar["i-03|ivan"] == "left"
    assert calendar["i-02|ivan"] == "completed"


async def test_lists_page_by_start_and_show_only_what_the_callers_groups_see_now(
    store: SqliteEventStore, views: SqliteReadStore
) -> None:
    commands = await seeded(store, views, n=30)
    runner = ProjectionRunner(InteractionsView(), views, service="interactions")
    await runner.rebuild_if_needed(store, stored)
    contacts = commands._contacts
    queries = InteractionQueries(views, runner, store, contacts)

    async def walk(caller: Any, filters: Filters | None = None, order: str = "asc", limit: int = 4) -> list[str]:
        seen, cursor = [], None
        for _ in range(100):
            page = await queries.find(caller, filters or Filters(), order=order, limit=limit, cursor=cursor)  # type: ignore[arg-type]
            assert len(page.items) <= limit
            seen.extend(str(d["_id"]) for d in page.items)
            cursor = page.next_cursor
            if cursor is None:
                return seen
        raise AssertionError("endless pages")

    docs = await everything(views, runner.collection(COLLECTION))
    by_start = [str(d["_id"]) for d in sorted(docs, key=lambda d: (d["start_key"], d["_id"]))]
    assert await walk(ADMIN) == by_start
    newest_first = sorted(docs, key=lambda d: (d["start_rkey"], d["_id"]))  # ties: by id either way
    assert await walk(ADMIN, order="desc") == [str(d["_id"]) for d in newest_first]
    north = caller_of("n", ["sales_manager"], ["north"])
    in_north = [i for i in by_start if int(i[2:]) % 3 == 1]
    assert await walk(north) == in_north
    assert await walk(north, limit=1) == in_north
    named = await queries.find(north, limit=50)
    assert {d["counterparty_name"] for d in named.items} == {"Firm 1"}

    low, high = NOW + timedelta(days=1), NOW + timedelta(days=3)
    period = [d for d in docs if low.strftime("%Y%m%d%H") <= d["start_key"][:10] < high.strftime("%Y%m%d%H")]
    expected = sorted(period, key=lambda d: (d["start_key"], d["_id"]))
    assert await walk(ADMIN, Filters(start_from=low, start_to=high)) == [str(d["_id"]) for d in expected]
    assert await walk(ADMIN, Filters(start_from=low, start_to=high), order="desc") == [
        str(d["_id"]) for d in sorted(period, key=lambda d: (d["start_rkey"], d["_id"]))
    ]
    # The period is [from, to): one starting exactly at ``to`` is out, in either order.
    edge = datetime.fromisoformat(str(expected[-1]["start"]))
    before_edge = [str(d["_id"]) for d in expected if d["start_key"] < expected[-1]["start_key"]]
    assert await walk(ADMIN, Filters(start_from=low, start_to=edge)) == before_edge
    assert sorted(await walk(ADMIN, Filters(start_from=low, start_to=edge), order="desc")) == sorted(before_edge)
    assert await walk(ADMIN, Filters(state="completed", counterparty_id="c-2")) == [
        i for i in by_start if int(i[2:]) % 4 == 2 and int(i[2:]) % 3 == 2
    ]

    # The counterparty moves from north to south in contacts: the north manager loses its interactions.
    feed = Contacts()
    feed.versions["c-1"] = 0
    await contacts.runner.handle(feed.counterparty("CounterpartyAccessGroupChanged", "c-1", access_group="south"))
    assert await walk(north) == []
    assert await queries.get("i-01", north) is None
    with pytest.raises(NotFound):
        await commands.handle(it.Cancel("i-01", "no", NOW), north)
    south = caller_of("s", ["sales_manager"], ["south"])
    assert len(await walk(south)) == len([i for i in by_start if int(i[2:]) % 3 in (1, 2)])


async def test_an_interaction_with_only_a_contact_person_is_seen_by_who_takes_part(
    store: SqliteEventStore, views: SqliteReadStore
) -> None:
    runner = await contacts_runner(views)
    feed = Contacts()
    await runner.handle(
        feed.message(
            person.TOPIC,
            "crm.contacts.PersonRegistered",
            "p-1",
            {"person_id": "p-1", "owner": "ivan", "private": False, "registered_at": NOW.isoformat()},
        )
    )
    contacts = LocalContacts(views, runner)
    commands = InteractionCommands(store, contacts, clock=lambda: NOW)
    author = caller_of("ivan", ["sales_manager"], ["general"])
    draft = it.Draft(
        "i-1",
        "meeting",
        "outgoing",
        "Lunch",
        NOW + timedelta(days=1),
        "maria",
        "ivan",
        contact_person_id="p-1",
        participants=("petar",),
    )
    await commands.handle(it.PlanInteraction(draft, NOW), author)
    view = ProjectionRunner(InteractionsView(), views, service="interactions")
    await view.rebuild_if_needed(store, stored)
    queries = InteractionQueries(views, view, store, contacts)
    for user, sees in (("ivan", True), ("maria", True), ("petar", True), ("other", False)):
        caller = caller_of(user, ["sales_manager"], ["general"])
        assert (await queries.get("i-1", caller) is not None) is sees, user
    assert await queries.get("i-1", caller_of("boss", ["head_of_sales"])) is not None
    with pytest.raises(DomainError) as caught:
        bad = it.Draft(
            "i-2", "call", "outgoing", "x", NOW + timedelta(days=1), "ivan", "ivan", contact_person_id="p-404"
        )
        await commands.handle(it.PlanInteraction(bad, NOW), author)
    assert caught.value.field == "contact_person_id"
