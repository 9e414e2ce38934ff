"""Texts of interactions about a contact person (ADR 15): sealed with the person's key in the event
store and the view, never in a public event, opened when read; once contacts publishes the person's
erasure the key is deleted and every text about them reads as erased, also after a rebuild."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_interactions.application.contacts import LocalContacts
from crm_interactions.application.interactions.commands import InteractionCommands
from crm_interactions.application.interactions.history import interaction_history
from crm_interactions.application.interactions.publishing import stored, translate
from crm_interactions.application.interactions.queries import Filters, InteractionQueries
from crm_interactions.application.interactions.texts import ErasuresFromContacts, PersonErased, person_keys
from crm_interactions.domain import interaction as it
from crm_interactions.projections.contacts import ContactsView
from crm_interactions.projections.interactions import COLLECTION, InteractionsView
from crm_shared import sealing
from crm_shared.contracts import contacts as public
from crm_shared.contracts.contacts import person
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.identity import caller_of
from crm_shared.integration import Envelope
from crm_shared.keys import SubjectKeys
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query
from crm_shared.readstore.sqlite import SqliteReadStore
from crm_shared.statestore.sqlite import SqliteStateStore

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ADMIN = caller_of("admin", ["administrator"])
SECRETS = ("Йорданка", "Фандъкова", "дъщеря", "Проект Фандъкова", "болна")


def plain(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def message(topic: str, ce_type: str, subject: str, version: int, data: dict[str, Any]) -> Any:
    contract = public.EVENT_TYPES[ce_type]
    return Envelope(
        id=str(uuid.uuid4()),
        type=ce_type,
        source=public.SOURCE,
        subject=subject,
        time=datetime.now(UTC),
        topic=topic,
        data=contract.model_validate(data).model_dump(mode="json"),
        stream=f"x-{subject}",
        stream_version=version,
        position=version + 1,
    ).to_message()


@dataclass
class World:
    store: SqliteEventStore
    views: SqliteReadStore
    state: SqliteStateStore
    keys: SubjectKeys
    contacts_runner: ProjectionRunner
    runner: ProjectionRunner
    commands: InteractionCommands
    queries: InteractionQueries

    async def sync(self) -> None:
        after = await self.views.checkpoint(self.runner.checkpoint_name) or 0
        await self.runner.catch_up(self.store, stored, after=after)

    async def erase(self, person_id: str) -> None:
        data = {"person_id": person_id, "erased_at": NOW.isoformat()}
        erased = message(person.TOPIC, "crm.contacts.PersonErased", person_id, 1, data)
        await self.contacts_runner.handle(erased)
        await ErasuresFromContacts(self.keys).handle(erased)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = await SqliteEventStore.open(tmp_path / "events.db")
    views = await SqliteReadStore.open(tmp_path / "views.db")
    state = await SqliteStateStore.open(tmp_path / "state.db")
    contacts_runner = ProjectionRunner(ContactsView(), views, service="interactions")
    for base, indexes in contacts_runner.projection.collections.items():
        await views.ensure_indexes(contacts_runner.collection(base), indexes)
    registered = {
        "counterparty_id": "c-1",
        "name": "Firm",
        "kind": "buyer",
        "main_manager": "admin",
        "registered_at": NOW.isoformat(),
    }
    await contacts_runner.handle(
        message(public.COUNTERPARTY_TOPIC, "crm.contacts.CounterpartyRegistered", "c-1", 0, registered)
    )
    for pid in ("p-1", "p-2"):
        data = {"person_id": pid, "owner": "admin", "private": False, "registered_at": NOW.isoformat()}
        await contacts_runner.handle(message(person.TOPIC, "crm.contacts.PersonRegistered", pid, 0, data))
    contacts = LocalContacts(views, contacts_runner)
    keys = person_keys(state)
    runner = ProjectionRunner(InteractionsView(), views, service="interactions")
    await runner.prepare()
    commands = InteractionCommands(store, contacts, clock=lambda: NOW, keys=keys)
    queries = InteractionQueries(views, runner, store, contacts, None, keys)
    yield World(store, views, state, keys, contacts_runner, runner, commands, queries)
    await state.close()
    await views.close()
    await store.close()


def draft(iid: str, contact: str | None = "p-1", **more: Any) -> it.Draft:
    return it.Draft(
        iid,
        "meeting",
        "outgoing",
        "Среща с Йорданка Фандъкова",
        NOW + timedelta(days=1),
        "admin",
        "admin",
        counterparty_id="c-1",
        contact_person_id=contact,
        description="Йорданка пита за дъщеря си",
        content="Писмо до Йорданка Фандъкова",
        third_parties=("съпругът на Йорданка",),
        basis=it.Basis("order", "o-1", "Поръчка на Фандъкова"),
        project="Проект Фандъкова",
        **more,
    )


async def test_texts_about_a_contact_person_are_sealed_withheld_and_opened_when_read(world: World) -> None:
    commands = world.commands
    await commands.handle(it.PlanInteraction(draft("i-1"), NOW), ADMIN)
    await commands.handle(it.Complete("i-1", "Йорданка е доволна", NOW, "won"), ADMIN)
    await commands.handle(it.PlanInteraction(draft("i-2"), NOW), ADMIN)
    await commands.handle(it.Cancel("i-2", "Йорданка е болна", NOW), ADMIN)
    await commands.handle(it.PlanInteraction(draft("i-3"), NOW), ADMIN)
    await commands.handle(it.ChangeDetails("i-3", {"subject": "Обаждане до Фандъкова", "importance": "high"}), ADMIN)
    await world.sync()

    events = await world.store.read_all(after=0)
    assert all(secret not in plain([e.data for e in events]) for secret in SECRETS)
    assert sealing.subjects_in([e.data for e in events]) == {"p-1"}
    published = [envelope.data for e in events for envelope in translate(e)]
    assert all(secret not in plain(published) for secret in SECRETS)
    assert all(p["subject"] == "" for p in published)
    changed = next(p for p in published if "changes" in p)
    assert changed["changes"] == {"importance": "high"} and changed["text_changed"] == ["subject"]
    completed = next(p for p in published if p.get("outcome_code"))
    assert (completed["outcome"], completed["outcome_code"]) == ("", "won")
    docs = (await world.views.find(world.runner.collection(COLLECTION), Query(limit=100))).items
    assert len(docs) == 3 and all(secret not in plain(docs) for secret in SECRETS)

    one = await world.queries.get("i-1", ADMIN)
    assert one is not None
    assert (one["subject"], one["outcome"], one["outcome_code"]) == (
        "Среща с Йорданка Фандъкова",
        "Йорданка е доволна",
        "won",
    )
    assert one["third_parties"] == ["съпругът на Йорданка"] and one["basis"]["title"] == "Поръчка на Фандъкова"
    assert (await world.queries.get("i-2", ADMIN) or {})["cancel_reason"] == "Йорданка е болна"
    page = await world.queries.find(ADMIN, Filters(counterparty_id="c-1"))
    assert {d["subject"] for d in page.items} == {"Среща с Йорданка Фандъкова", "Обаждане до Фандъкова"}
    history = await interaction_history(commands).changes("i-3", ADMIN)
    assert history is not None and "Обаждане до Фандъкова" in plain(history)


async def test_after_the_erasure_nothing_about_the_person_is_readable_and_nothing_new_is_written(
    world: World,
) -> None:
    commands = world.commands
    await commands.handle(it.PlanInteraction(draft("i-1"), NOW), ADMIN)
    await commands.handle(it.PlanInteraction(draft("i-2", contact="p-2"), NOW), ADMIN)
    await world.sync()
    await world.erase("p-1")
    assert await world.keys.key_of("p-1") is None and await world.keys.key_of("p-2") is not None
    await world.erase("p-1")  # a redelivery changes nothing

    shown = await world.queries.get("i-1", ADMIN)
    assert shown is not None and all(secret not in plain(shown) for secret in SECRETS)
    assert (shown["subject"], shown["third_parties"], shown["basis"]["title"]) == ("", [], "")
    assert (shown["kind"], shown["contact_person_id"], shown["counterparty_id"]) == ("meeting", "p-1", "c-1")
    other = await world.queries.get("i-2", ADMIN)  # another person's interaction keeps its text
    assert other is not None and other["subject"] == "Среща с Йорданка Фандъкова"
    history = await interaction_history(commands).changes("i-1", ADMIN)
    assert history is not None and all(secret not in plain(history) for secret in SECRETS)

    # Changes without text still work; new text about the erased person is refused.
    await commands.handle(it.Reschedule("i-1", NOW + timedelta(days=2), NOW), ADMIN)
    with pytest.raises(PersonErased) as refused:
        await commands.handle(it.ChangeDetails("i-1", {"description": "Йорданка отново"}), ADMIN)
    assert refused.value.field == "contact_person_id" and refused.value.status == 410
    # Naming another contact person, the interaction takes text again (sealed with that person's key).
    await commands.handle(it.ChangeDetails("i-1", {"contact_person_id": "p-2", "subject": "Нова тема"}), ADMIN)

    # A view rebuilt from the log reads the same: erased texts stay erased.
    for base in [*world.runner.projection.collections, "interactions_streams"]:
        await world.views.drop(world.runner.collection(base))
    await world.runner.catch_up(world.store, stored, after=0)
    rebuilt = await world.queries.get("i-1", ADMIN)
    assert rebuilt is not None and rebuilt["subject"] == "Нова тема" and rebuilt["description"] == ""
    assert all(secret not in plain(rebuilt) for secret in SECRETS)


async def test_a_key_brought_back_by_a_restored_backup_is_ignored_once_contacts_erased_the_person(
    world: World,
) -> None:
    await world.commands.handle(it.PlanInteraction(draft("i-1"), NOW), ADMIN)
    await world.sync()
    key = await world.keys.key_of("p-1")
    assert key is not None
    await world.erase("p-1")
    await world.state.put(world.keys.collection, "p-1", {"key": base64.b64encode(key).decode("ascii")})
    assert await world.keys.key_of("p-1") == key
    shown = await world.queries.get("i-1", ADMIN)
    assert shown is not None and shown["subject"] == ""


async def test_an_interaction_naming_no_contact_person_is_published_without_its_text(world: World) -> None:
    await world.commands.handle(it.PlanInteraction(draft("i-1", contact=None), NOW), ADMIN)
    [event] = await world.store.read_all(after=0)
    [published] = translate(event)
    assert all(secret not in plain(published.data) for secret in SECRETS)
    assert published.data["basis"] == {"type": "order", "id": "o-1", "title": ""}
