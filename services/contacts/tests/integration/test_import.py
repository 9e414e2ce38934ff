"""Importing counterparties into the real embedded stores: idempotent re-runs, updates, tax-id
uniqueness inside a file and against existing counterparties, interrupted jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_contacts import bootstrap as contacts
from crm_contacts.application.csv_columns import RawPerson, Record, parse_row
from crm_contacts.application.imports import counterparty_id_of, person_id_of
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain import reference as ref
from crm_shared.adapters import open_bus
from crm_shared.directory import directory_messages
from crm_shared.identity import Caller, caller_of
from crm_shared.jobs import REPORT, Control, Job, Jobs, blob_key
from crm_shared.settings import KernelSettings

ADMIN = caller_of("admin", ["administrator"])
HEADER = "name;tax_id;relations;contact:phone;contact:email;comment\n"
DIRECTORY = directory_messages({"ivan": "Иван Петров"}, ("general", "north", "south", "secret"))
"""The gateway's directory as the local copy would have it (no gateway runs here)."""


def rows(n: int, *, comment: str = "") -> str:
    lines = []
    for i in range(n):
        tax = f"BG{100 + i}" if i % 3 else ""  # every third row has no tax id
        lines.append(f"Фирма {i};{tax};buyer;08881{i:05d};office{i}@firma.bg;{comment}\n")
    return HEADER + "".join(lines)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[contacts.ContactsService]:
    built = await contacts.build(KernelSettings(data_dir=tmp_path / "var"))
    await built.seed()
    await built.directory.runner.handle_batch(DIRECTORY)
    yield built
    await built.close()


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[contacts.ContactsService]:
    """A service whose relay and projector run, so its views follow the writes (persons need them)."""
    settings = KernelSettings(data_dir=tmp_path / "var")
    bus = await open_bus(settings, "crm")
    built = await contacts.build(settings)
    await built.seed()
    await built.directory.runner.handle_batch(DIRECTORY)
    await built.start_relay(bus)
    await built.start_projector(bus)
    yield built
    await built.close()
    await bus.stop()


async def run_import(
    service: contacts.ContactsService,
    tmp_path: Path,
    text: str | bytes,
    caller: Caller = ADMIN,
    batch: int = 7,
    workers: int | None = None,
) -> Job:
    path = tmp_path / "import.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    importer = service.importer(batch_size=batch, workers=workers)
    job = await service.jobs.create("import", caller, {"filename": path.name})

    async def work(control: Control) -> None:
        await importer.run(control, path, caller)

    return await service.jobs.run(job, work)


def id_of(**cells: str) -> str:
    return counterparty_id_of(parse_row(Record(2, {"name": "x", **cells})))


async def test_importing_the_same_file_twice_changes_nothing(service: contacts.ContactsService, tmp_path: Path) -> None:
    first = await run_import(service, tmp_path, rows(30))
    assert first.state == "succeeded", first.error
    assert (first.progress.accepted, first.progress.rejected, first.progress.unchanged) == (30, 0, 0)
    head = await service.store.head_position()
    again = await run_import(service, tmp_path, rows(30))
    assert (again.progress.accepted, again.progress.unchanged, again.progress.rejected) == (0, 30, 0)
    assert await service.store.head_position() == head
    card = await service.commands.load_state(id_of(tax_id="BG101"))
    assert card is not None and card.name == "Фирма 1"
    assert [(e.kind, e.value, e.main) for e in card.contact_info] == [
        ("phone", "+359888100001", True),
        ("email", "office1@firma.bg", True),
    ]


async def test_a_changed_row_updates_its_counterparty_and_a_manual_change_is_put_back(
    service: contacts.ContactsService, tmp_path: Path
) -> None:
    await run_import(service, tmp_path, rows(10))
    cid = id_of(tax_id="BG104")
    await service.commands.handle(cp.UpdateCounterparty(cid, {"name": "Renamed by hand"}), ADMIN)
    changed = rows(10).replace("Фирма 5;", "Фирма Пет;")
    job = await run_import(service, tmp_path, changed)
    assert (job.progress.accepted, job.progress.unchanged) == (2, 8)
    assert (await service.commands.load_state(cid)).name == "Фирма 4"  # type: ignore[union-attr]
    assert (await service.commands.load_state(id_of(tax_id="BG105"))).name == "Фирма Пет"  # type: ignore[union-attr]
    head = await service.store.head_position()
    assert (await run_import(service, tmp_path, changed)).progress.unchanged == 10
    assert await service.store.head_position() == head


async def test_a_tax_id_repeated_in_one_file_is_rejected_with_its_line(
    service: contacts.ContactsService, tmp_path: Path
) -> None:
    text = 'Name,Tax_Id\nАлфа,BG 123-45\n"Бета\nООД",x1\nГама,bg12345\n'
    job = await run_import(service, tmp_path, text)
    assert (job.progress.accepted, job.progress.rejected) == (2, 1)
    [rejected] = job.rejected
    assert (rejected.line, rejected.column, rejected.name) == (5, "tax_id", "Гама")
    assert "line 2" in rejected.reason
    report = (await service.blobs.get(blob_key(job.id, REPORT))).decode("utf-8-sig")
    assert report.splitlines()[1].startswith("5,tax_id,")


async def test_a_row_with_the_tax_id_of_an_existing_counterparty_updates_that_one(
    service: contacts.ContactsService, tmp_path: Path
) -> None:
    now = service.commands.now()
    existing = cp.RegisterCounterparty("by-hand", "Old name", ("buyer",), "BG777", "ivan", now)
    await service.commands.handle(existing, ADMIN)
    text = "name;tax_id\n" + "".join(f"Фирма {i};BG{900 + i}\n" for i in range(5)) + "New name;bg 777\n"
    text += "".join(f"Фирма {i};BG{950 + i}\n" for i in range(5))
    job = await run_import(service, tmp_path, text, batch=20)
    assert (job.progress.accepted, job.progress.rejected) == (11, 0)
    assert (await service.commands.load_state("by-hand")).name == "New name"  # type: ignore[union-attr]
    assert await service.store.read_stream(cp.stream_of(id_of(tax_id="BG777"))) == []
    holder = await service.store.read_stream(cp.tax_id_stream("BG777"))
    assert cp.holder_of([cp.catalog.decode(r) for r in holder]) == "by-hand"
    for i in range(5):  # the rest of the batch went in despite the clash
        assert await service.commands.load_state(id_of(tax_id=f"BG{950 + i}")) is not None


async def test_a_row_with_another_counterpartys_tax_id_under_its_own_id_is_rejected(
    service: contacts.ContactsService, tmp_path: Path
) -> None:
    now = service.commands.now()
    await service.commands.handle(cp.RegisterCounterparty("holder", "Holder", ("buyer",), "BG5", "ivan", now), ADMIN)
    job = await run_import(service, tmp_path, "id,name,tax_id\nother-1,Other,BG5\nother-2,Fine,BG6\n")
    assert (job.progress.accepted, job.progress.rejected) == (1, 1)
    assert job.rejected[0].column == "tax_id" and job.rejected[0].line == 2
    assert await service.commands.load_state("other-1") is None


async def test_bad_rows_are_reported_and_good_rows_written(service: contacts.ContactsService, tmp_path: Path) -> None:
    text = (
        "name,relations,contact:phone,group,access_group\n"
        "Good,buyer,0888123456,,\n"
        "Bad phone,buyer,12,,\n"
        "Bad relation,client,,,\n"
        "Unknown group,buyer,,nowhere,\n"
        ",buyer,,,\n"
        "Also good,supplier,,,north\n"
    )
    job = await run_import(service, tmp_path, text)
    assert job.state == "succeeded"
    assert job.progress.accepted == 2
    assert [(r.line, r.column) for r in job.rejected] == [
        (3, "contact:phone"),
        (4, "relations"),
        (5, "group"),
        (6, "name"),
    ]


async def test_rows_planned_in_a_worker_process_import_as_rows_planned_here(tmp_path: Path) -> None:
    text = (
        "id,name,tax_id,relations,contact:phone,contact:email,group,access_group,head_counterparty_id\n"
        ",Good,BG1,buyer,0888123456,a@b.bg,,,\n"
        ",Bad phone,BG2,buyer,12,,,,\n"
        ",Bad relation,BG3,client,,,,,\n"
        ",Unknown group,BG4,buyer,,,nowhere,,\n"
        ",,BG5,buyer,,,,,\n"
        ",Again,bg 1,buyer,,,,,\n"
        ",Hidden,BG6,buyer,,,,secret,\n"
        "head,Holding,BG7,,,,,,\n"
        "branch,Branch,BG8,,,,,,head\n"
        ",Existing renamed,BG9,,,,,,\n"
        ",No tax id,,other,0888765432,,,,\n"
    )
    manager = Caller(user_id="manager", roles=frozenset({"head_of_sales"}), groups=frozenset({"general"}))
    found = []
    for workers in (0, 1):
        service = await contacts.build(KernelSettings(data_dir=tmp_path / f"var{workers}"))
        try:
            await service.seed()
            await service.directory.runner.handle_batch(DIRECTORY)
            now = service.commands.now()
            await service.commands.handle(
                cp.RegisterCounterparty("x9", "Existing", ("buyer",), "BG9", "ivan", now), ADMIN
            )
            before = await service.store.head_position()
            job = await run_import(service, tmp_path, text, manager, batch=3, workers=workers)
            assert job.state == "succeeded", job.error
            events = await service.store.read_all(0, limit=10_000)
            head = await service.store.head_position()
            again = await run_import(service, tmp_path, text, manager, batch=3, workers=workers)
            assert await service.store.head_position() == head
            assert (again.progress.accepted, again.progress.unchanged) == (0, job.progress.accepted)
            found.append(
                (
                    (job.progress.accepted, job.progress.rejected, job.progress.unchanged),
                    [(r.line, r.column, r.reason, r.name) for r in job.rejected],
                    [(e.id, e.stream, e.type) for e in events if e.position > before],
                )
            )
            card = await service.commands.load_state(id_of(tax_id="BG1"))
            assert card is not None and [c.value for c in card.contact_info] == ["+359888123456", "a@b.bg"]
            assert (await service.commands.load_state("x9")).name == "Existing renamed"  # type: ignore[union-attr]
        finally:
            await service.close()
    assert found[0] == found[1]
    assert found[0][0] == (6, 5, 0)  # head_of_sales sees every access group


async def test_windows_1251_files_import(service: contacts.ContactsService, tmp_path: Path) -> None:
    job = await run_import(service, tmp_path, "name;tax_id\nФирма „Бета“;BG42\n".encode("cp1251"))
    assert job.progress.accepted == 1
    assert (await service.commands.load_state(id_of(tax_id="BG42"))).name == "Фирма „Бета“"  # type: ignore[union-attr]


async def test_a_file_with_an_unknown_contact_kind_fails_before_writing(
    service: contacts.ContactsService, tmp_path: Path
) -> None:
    head = await service.store.head_position()
    job = await run_import(service, tmp_path, "name,contact:fax\nA,123\n")
    assert job.state == "failed"
    assert job.error is not None and "contact:fax" in job.error
    assert await service.store.head_position() == head


async def test_a_head_counterparty_earlier_in_the_same_batch_is_found(
    service: contacts.ContactsService, tmp_path: Path
) -> None:
    job = await run_import(service, tmp_path, "id,name,head_counterparty_id\nhead,Holding,\nbranch,Branch,head\n")
    assert job.progress.accepted == 2, job.rejected
    assert (await service.commands.load_state("branch")).head_counterparty_id == "head"  # type: ignore[union-attr]


async def test_a_job_whose_process_died_is_marked_failed_on_start(
    service: contacts.ContactsService, tmp_path: Path
) -> None:
    job = await service.jobs.create("import", ADMIN, {})
    stale = replace(job, state="running", heartbeat=datetime.now(UTC) - timedelta(minutes=5))
    await service.jobs.save(stale)
    fresh = await service.jobs.create("import", ADMIN, {})
    await service.jobs.save(replace(fresh, state="running"))
    restarted = Jobs(service.state, service.blobs, tmp_path / "scratch")
    assert await restarted.prepare() == 1
    assert (await restarted.get(job.id, ADMIN)).state == "failed"  # type: ignore[union-attr]
    assert (await restarted.get(fresh.id, ADMIN)).state == "running"  # type: ignore[union-attr]
    assert await restarted.get(job.id, caller_of("someone", ["head_of_sales"])) is None


PERSONS = (
    "name;tax_id;contact:phone;person_first_name;person_last_name;person_position;person_role;person_email\n"
    "Алфа ООД;BG201;0888100001;Иван;Петров;Управител;decider;ivan@alfa.bg\n"
    "Алфа ООД;BG201;0888100001;Мария;Георгиева;Счетоводител;;maria@alfa.bg\n"
    "Бета ЕООД;BG202;;;;;;\n"
    "Гама АД;BG203;;Петър;;;;\n"
    "Гама АД;BG203;;;;Шофьор;;\n"
)


def person_of(first: str | None, last: str | None) -> RawPerson:
    return RawPerson(first, None, last, None, None, ())


async def test_contact_persons_are_registered_linked_and_a_rerun_changes_nothing(
    live: contacts.ContactsService, tmp_path: Path
) -> None:
    service = live
    await service.reference_commands.handle(ref.DefineEntry("person-roles", "decider", "Взема решения"), ADMIN)
    first = await run_import(service, tmp_path, PERSONS, batch=2)
    assert first.state == "succeeded", first.error
    assert (first.progress.accepted, first.progress.unchanged, first.progress.rejected) == (4, 0, 1)
    assert [(r.line, r.column) for r in first.rejected] == [(6, "person_first_name")]
    alfa = id_of(tax_id="BG201")
    ivan = (await service.persons.load_person(person_id_of(alfa, person_of("Иван", "Петров")))).state
    assert ivan is not None and ivan.owner == "admin" and not ivan.private
    assert [(x.counterparty_id, x.position, x.role) for x in ivan.links] == [(alfa, "Управител", "decider")]
    assert [(c.kind, c.value) for c in ivan.contact_info] == [("email", "ivan@alfa.bg")]
    maria = (await service.persons.load_person(person_id_of(alfa, person_of("мария", " георгиева ")))).state
    assert maria is not None and [x.counterparty_id for x in maria.links] == [alfa]
    petar = (await service.persons.load_person(person_id_of(id_of(tax_id="BG203"), person_of("Петър", None)))).state
    assert petar is not None and petar.first_name == "Петър"
    head = await service.store.head_position()
    again = await run_import(service, tmp_path, PERSONS, batch=2)
    assert (again.progress.accepted, again.progress.unchanged, again.progress.rejected) == (0, 4, 1)
    assert await service.store.head_position() == head


async def test_a_new_person_of_an_existing_counterparty_counts_its_row_as_accepted(
    live: contacts.ContactsService, tmp_path: Path
) -> None:
    service = live
    await run_import(service, tmp_path, "name;tax_id\nДелта ООД;BG301\n")
    job = await run_import(service, tmp_path, "name;tax_id;person_last_name\nДелта ООД;BG301;Колев\n")
    assert (job.progress.accepted, job.progress.unchanged, job.progress.rejected) == (1, 0, 0)
    kolev = (await service.persons.load_person(person_id_of(id_of(tax_id="BG301"), person_of(None, "Колев")))).state
    assert kolev is not None and kolev.last_name == "Колев"


async def test_a_bad_person_rejects_its_row_with_line_column_and_reason(
    live: contacts.ContactsService, tmp_path: Path
) -> None:
    head = await live.store.head_position()
    text = (
        "name;tax_id;person_last_name;person_role;person_email\n"
        "Епсилон ООД;BG401;Колев;;not-an-email\n"
        "Зета ООД;BG402;Колев;boss;\n"
    )
    job = await run_import(live, tmp_path, text)
    assert (job.progress.accepted, job.progress.rejected) == (0, 2)
    [email, role] = job.rejected
    assert (email.line, email.column, role.line, role.column) == (2, "person_email", 3, "person_role")
    assert "e-mail" in email.reason or "email" in email.reason, email.reason
    assert "boss" in role.reason
    assert await live.store.head_position() == head  # a row with a bad person writes nothing
