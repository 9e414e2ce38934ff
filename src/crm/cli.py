"""``crm``: run the CRM.

    crm up [--data-dir DIR] [--host H] [--port P]      the whole CRM on embedded defaults (with its background
                                                       process of relays and projectors; --one-process: none)
    crm serve gateway [--host H] [--port P]            distributed mode: the gateway (CRM_CONTACTS_URL=...)
    crm serve contacts-api [--host H] [--port P]       distributed mode: the contacts API alone
    crm serve contacts-relay | contacts-projector      distributed mode: a background role
    crm serve <service>-api | -relay | -projector      the same for each service of crm.services
    crm import counterparties FILE [--data-dir DIR]    import a CSV file (see crm_contacts.application.csv_columns)
    crm import trade-facts|orders|payments|currency-rates FILE [--data-dir DIR]   the ERP's records, or rates
    crm report abc --from D --to D [--by ...] [--shares 70/20/10]          the ABC classification
    crm report abc-backtest --to D [--periodicity month] [--periods 12] [--as-known now|then] [--by ...]
    crm report xyz --to D [--periodicity month] [--periods 6] [--by ...]   relationship stages and XYZ
    crm report xyz-backtest --to D [--step month] [--runs 12] [--as-known now|then] [xyz's options]
    crm report sources --from D --to D [--by item|division] [--as-of T]    interactions and information sources
    crm report managers --from D --to D [--credit at_the_time|current] [--as-of T]   the sales-manager comparison
    crm report effectiveness --from D --to D [--window-days 30] [--by kind|manager|source] [--as-of T]
    crm report attribution --from D --to D [--model linear] [--lookback-days 90] [--half-life-days 7] [--by ...]
                                                       every report: [--format csv|json] [--data-dir DIR], rows on
                                                       stdout, a summary on stderr, exit 2 naming a bad option
    crm export counterparties FILE [--format csv|vcard] [--q ...] export the register (or its persons as vCard)
    crm republish SERVICE [--after POSITION]           its history onto its topics again, for a new consumer
    crm rebuild analytics [--data-dir DIR]             analytics tables that are not primary data, from the event logs

Adapters come from ``CRM_*`` environment variables (see crm_shared.settings); ``up`` defaults to
the embedded ones with data under ``./var``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import shutil
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from crm import (
    background,
    rebuild,
    report_abc,
    report_attribution,
    report_backtest,
    report_managers,
    report_sources,
    report_xyz,
    services,
    system,
)
from crm_analytics import bootstrap as analytics
from crm_analytics.domain.records import BY_SLUG, RecordKind
from crm_contacts import bootstrap as contacts
from crm_contacts.application.counterparties.queries import Filters
from crm_contacts.application.exports import CounterpartyExport
from crm_contacts.projections.counterparties import COLLECTION
from crm_gateway.application.publishing import translate as gateway_directory
from crm_shared import collector
from crm_shared.adapters import open_blob_store, open_bus
from crm_shared.identity import Caller, caller_of
from crm_shared.jobs import REPORT, Control, Job, JobKind, Progress, blob_key
from crm_shared.settings import KernelSettings


class _Server(uvicorn.Server):
    """uvicorn's server; once the app has started, what the start made (modules, routes, schemas,
    the services: most of the heap, kept as long as the process) is frozen out of the garbage
    collector's full passes, which otherwise walk all of it every so often and hold up the requests
    of that moment for tens of milliseconds (P9's search p99).

    Then the collector runs after :data:`~crm_shared.collector.SERVER_YOUNG_OBJECTS` new containers,
    not 700: each request makes hundreds (the request, its models, its event, its answer), so with the default the
    collector ran once every four commands or so, sent what lived across a few requests (caches, the
    followers' batches) to the older generations, and walked them there again. Measured under P1's
    load (crm up, 32 clients, three pairs at load 4-7): collection 0.22 ms of CPU per command (about
    40 % of it in four full passes of 35-49 ms each per six seconds) with 700, 0.02-0.04 ms with
    10,000; the process's CPU per command 2.16-2.28 -> 1.76-1.90 ms. A young collection then walks
    up to 10,000 objects (~5 ms) instead of 700, about once a second under that load."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        collector.settle_started_process()


def _serve(app: FastAPI, host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on", access_log=False)
    server = _Server(config)
    # uvicorn handles Ctrl-C (SIGINT) and SIGTERM: it stops accepting, then runs the lifespan's
    # shutdown, which stops the background roles and closes the stores, so the data is kept. It then
    # re-raises the signal's KeyboardInterrupt, which here is the normal way to stop.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


# -- crm import / crm export: jobs run here, on the data directory `crm up` uses ----------------------


def _operator() -> str:
    return f"cli:{getpass.getuser()}"


def _progress_line(progress: Progress, verb: str, elapsed: float) -> None:
    total = f"/{progress.total:,}" if progress.total else ""
    print(
        f"\r{verb} {progress.done:,}{total} rows: {progress.accepted:,} accepted, {progress.rejected:,} rejected,"
        f" {progress.unchanged:,} unchanged ({progress.done / max(elapsed, 1e-9):,.0f} rows/s) ",
        end="",
        file=sys.stderr,
        flush=True,
    )


async def _show_progress(progress: Progress, verb: str, started: float) -> None:
    while True:
        _progress_line(progress, verb, time.monotonic() - started)
        await asyncio.sleep(0.5)


JobWork = Callable[[contacts.ContactsService, Control, Caller], Awaitable[None]]


async def _run_job(settings: KernelSettings, kind: JobKind, params: dict[str, object], verb: str, work: JobWork) -> Job:
    """Run one job of the contacts service in this process, with a progress line on stderr."""
    service = await contacts.build(settings)
    caller = caller_of(_operator(), ["administrator"], name="command line")
    try:
        await service.seed()
        await _directory_up_to_date(settings, service)
        job = await service.jobs.create(kind, caller, params)
        started = time.monotonic()
        shown = asyncio.create_task(_show_progress(job.progress, verb, started))
        try:
            return await service.jobs.run(job, lambda control: work(service, control, caller))
        finally:
            shown.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shown
            _progress_line(job.progress, verb, time.monotonic() - started)
            print(file=sys.stderr)
    finally:
        await service.close()


async def _directory_up_to_date(settings: KernelSettings, service: contacts.ContactsService) -> None:
    """Bring contacts' copy of the directory (users, access groups) up to the gateway's log here and
    now: no relay runs for a command, and a fresh data directory gets the gateway's first-start data
    (its ``general`` group, its administrator) as ``crm up`` would make it."""
    gateway = await services.FRONT.build(settings)
    try:
        await gateway.seed()
        runner = service.directory.runner
        after = await service.views.checkpoint(runner.checkpoint_name) or 0
        await runner.catch_up(gateway.store, gateway_directory, after=after)
    finally:
        await gateway.close()


def _import_counterparties(settings: KernelSettings, file: Path) -> int:
    if not file.is_file():
        print(f"crm import: no file {file}", file=sys.stderr)
        return 2

    async def work(service: contacts.ContactsService, control: Control, caller: Caller) -> None:
        importer = service.importer(views_follow_the_bus=False)
        await importer.run(control, file, caller)

    job = asyncio.run(_run_job(settings, "import", {"filename": file.name}, "imported", work))
    if job.state != "succeeded":
        print(f"crm import: the import {job.state}: {job.error or ''}", file=sys.stderr)
        return 2
    if job.progress.rejected:
        report = settings.data_dir / contacts.SERVICE / "reports" / f"{job.id}.csv"
        asyncio.run(_download(settings, blob_key(job.id, REPORT), report))
        print(f"crm import: {job.progress.rejected:,} rows rejected; see {report.resolve()}", file=sys.stderr)
        return 1
    return 0


async def _download(settings: KernelSettings, key: str, target: Path) -> None:
    """Copy a blob of the contacts service (e.g. a job's report) to a local file."""
    blobs = await open_blob_store(settings, contacts.SERVICE)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        await blobs.get_file(key, target)
    finally:
        await blobs.close()


async def _catch_up_views(settings: KernelSettings) -> None:
    """An export reads the views, which `crm up` keeps current; without it they are brought up to the
    event log first."""
    service = await contacts.build(settings)
    try:
        await service.catch_up_views()
    finally:
        await service.close()


def _export_counterparties(settings: KernelSettings, file: Path, args: argparse.Namespace) -> int:
    vcard = args.format == "vcard" or (args.format is None and file.suffix.lower() in (".vcf", ".vcard"))
    filters = Filters(
        q=args.q,
        relation=args.relation,
        main_manager=args.main_manager,
        manager=args.manager,
        group=args.group,
        region=args.region,
        category=args.category,
        archived=None if args.archived == "any" else args.archived == "true",
    )

    async def work(service: contacts.ContactsService, control: Control, caller: Caller) -> None:
        exporter = CounterpartyExport(
            service.store,
            service.queries,
            service.reference,
            service.person_queries,
            service.views,
            service.runner.collection(COLLECTION),
        )
        target = control.scratch / "export"
        await exporter.run(control, caller, filters, "vcard" if vcard else "csv", target, args.delimiter)
        shutil.copyfile(target, file)

    params: dict[str, object] = {"format": "vcard" if vcard else "csv", "file": str(file)}
    asyncio.run(_catch_up_views(settings))
    job = asyncio.run(_run_job(settings, "export", params, "exported", work))
    if job.state != "succeeded":
        print(f"crm export: the export {job.state}: {job.error or ''}", file=sys.stderr)
        return 2
    print(f"crm export: {job.progress.done:,} counterparties written to {file}", file=sys.stderr)
    return 0


REPORTS = {
    command.name: command
    for command in (
        report_abc.COMMAND,
        report_backtest.ABC_COMMAND,
        report_xyz.COMMAND,
        report_backtest.XYZ_COMMAND,
        report_sources.COMMAND,
        report_managers.COMMAND,
        report_attribution.EFFECTIVENESS,
        report_attribution.ATTRIBUTION,
    )
}
"""``crm report <name>``: each written with ``crm.reports``."""


# -- crm import <kind of record> / crm report: analytics on the data directory `crm up` uses --------
# chDB locks its directory for one process: while `crm up` runs on it, use the HTTP API instead.


def _import_records(settings: KernelSettings, file: Path, kind: RecordKind[Any]) -> int:
    if not file.is_file():
        print(f"crm import: no file {file}", file=sys.stderr)
        return 2

    async def run() -> tuple[Job, Path | None]:
        service = await analytics.build(settings)
        caller = caller_of(_operator(), ["administrator"], name="command line")
        try:
            job = await service.jobs.create("import", caller, {"filename": file.name, "what": kind.slug})
            started = time.monotonic()
            shown = asyncio.create_task(_show_progress(job.progress, "imported", started))
            try:
                job = await service.jobs.run(job, lambda control: service.importer.run(control, file, caller, kind))
            finally:
                shown.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await shown
                _progress_line(job.progress, "imported", time.monotonic() - started)
                print(file=sys.stderr)
            report = None
            if job.report:
                report = settings.data_dir / analytics.SERVICE / "reports" / f"{job.id}.csv"
                await service.jobs.download(job, REPORT, report)
            return job, report
        finally:
            await service.close()

    job, report = asyncio.run(run())
    if job.state != "succeeded":
        print(f"crm import: the import {job.state}: {job.error or ''}", file=sys.stderr)
        return 2
    if report is not None:
        print(f"crm import: {job.progress.rejected:,} rows rejected; see {report.resolve()}", file=sys.stderr)
        return 1
    return 0


# -- crm republish: a service's history onto its topics again, for a consumer that starts late ----


def _republish(settings: KernelSettings, name: str, after: int) -> int:
    service = {s.name: s for s in services.everything()}[name]

    async def run() -> int:
        bus = await open_bus(settings, f"crm-{name}-republish")
        try:
            wired = await service.build(settings)
            try:
                started = time.monotonic()

                def progress(position: int, head: int, published: int) -> None:
                    elapsed = time.monotonic() - started
                    print(
                        f"\rcrm republish: position {position:,} of {head:,}, {published:,} messages, {elapsed:.0f} s",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )

                count: int = await wired.relay(bus).republish(after=after, on_progress=progress)
                return count
            finally:
                await wired.close()
        finally:
            await bus.stop()

    count = asyncio.run(run())
    print(f"\ncrm republish: {count:,} messages of {name} published again (same ce_id as before)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``crm`` command."""
    parser = argparse.ArgumentParser(prog="crm", description="Event-sourced CRM")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole CRM on one machine")
    up.add_argument("--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--one-process",
        action="store_true",
        help="run every relay and projector in this process (default: those that may, in a background process)",
    )

    serve = commands.add_parser("serve", help="run one service role (distributed mode)")
    roles = [f"{service.name}-{role}" for service in services.BEHIND for role in services.ROLES]
    serve.add_argument("role", choices=["gateway", *roles])
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)

    for verb, doing in (("import", "import from a CSV file"), ("export", "export to a CSV (or vCard) file")):
        sub = commands.add_parser(verb, help=f"{doing}, on the embedded data directory (as `crm up`)")
        sub.add_argument("what", choices=["counterparties", *BY_SLUG] if verb == "import" else ["counterparties"])
        sub.add_argument("file", type=Path)
        sub.add_argument(
            "--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)"
        )
        if verb == "export":
            sub.add_argument("--format", choices=["csv", "vcard"], default=None, help="default: by the file's suffix")
            sub.add_argument("--delimiter", choices=[",", ";", "\t"], default=",")
            sub.add_argument("--relation", choices=["buyer", "supplier", "other"], default=None)
            for name in ("q", "main-manager", "manager", "group", "region", "category"):
                sub.add_argument(f"--{name}", default=None)
            sub.add_argument("--archived", choices=["false", "true", "any"], default="false")

    report_of = commands.add_parser("report", help="an analytics report on stdout, on the embedded data directory")
    reports = report_of.add_subparsers(dest="what", required=True)
    for command in REPORTS.values():
        command.add_arguments(reports.add_parser(command.name, help=command.help))

    republish = commands.add_parser(
        "republish",
        help="publish a service's history from its event store onto its topics again, for a new consumer "
        "(the same events, with the same ce_id: consumers that dedupe take nothing twice)",
    )
    republish.add_argument("service", choices=[s.name for s in services.everything()])
    republish.add_argument(
        "--after", type=int, default=0, help="start after this log position (default: the beginning)"
    )
    republish.add_argument(
        "--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)"
    )

    rebuild_of = commands.add_parser("rebuild", help="rebuild a service's derived tables from the event logs")
    rebuild_of.add_argument("what", choices=["analytics"])
    rebuild_of.add_argument(
        "--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)"
    )

    args = parser.parse_args(argv)
    settings = KernelSettings()
    if args.command == "rebuild":
        if args.data_dir is not None:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        asyncio.run(rebuild.rebuild_analytics(settings))
        return 0
    if args.command == "republish":
        if args.data_dir is not None:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        return _republish(settings, args.service, args.after)
    if args.command in ("import", "export", "report"):
        if args.data_dir is not None:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        if args.command == "report":
            return REPORTS[args.what].run(settings, args)
        if args.command == "import" and args.what in BY_SLUG:
            return _import_records(settings, args.file, BY_SLUG[args.what])
        if args.command == "import":
            return _import_counterparties(settings, args.file)
        return _export_counterparties(settings, args.file, args)
    if args.command == "up":
        if args.data_dir is not None:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        print(f"CRM starting: http://{args.host}:{args.port}/ (data in {settings.data_dir.resolve()})", flush=True)
        apart = () if args.one_process else background.apart(services.BEHIND)
        child = background.BackgroundProcess(settings, apart) if apart else None
        _serve(system.embedded_app(settings, background=child), args.host, args.port)
    elif args.role == "gateway":
        _serve(system.gateway_app(settings), args.host, args.port)
    else:
        service, _, role = args.role.rpartition("-")
        if role == "api":
            _serve(system.api_app(settings, service), args.host, args.port)
        else:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(system.run_worker(settings, role, service))
    return 0


if __name__ == "__main__":
    sys.exit(main())
