"""``crm``: run the CRM.

    crm up [--data-dir DIR] [--host H] [--port P]      the whole CRM on embedded defaults
    crm serve gateway [--host H] [--port P]            distributed mode: the gateway (CRM_CONTACTS_URL=...)
    crm serve contacts-api [--host H] [--port P]       distributed mode: the contacts API alone
    crm serve contacts-relay | contacts-projector      distributed mode: a background role

Adapters come from ``CRM_*`` environment variables (see crm_shared.settings); ``up`` defaults to
the embedded ones with data under ``./var``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from crm import system
from crm_shared.settings import KernelSettings


def _serve(app: FastAPI, host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    # uvicorn handles Ctrl-C (SIGINT) and SIGTERM: it stops accepting, then runs the lifespan's
    # shutdown, which stops the background roles and closes the stores, so the data is kept. It then
    # re-raises the signal's KeyboardInterrupt, which here is the normal way to stop.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``crm`` command."""
    parser = argparse.ArgumentParser(prog="crm", description="Event-sourced CRM")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole CRM on one machine")
    up.add_argument("--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)

    serve = commands.add_parser("serve", help="run one service role (distributed mode)")
    serve.add_argument("role", choices=["gateway", "contacts-api", "contacts-relay", "contacts-projector"])
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)

    args = parser.parse_args(argv)
    settings = KernelSettings()
    if args.command == "up":
        if args.data_dir is not None:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        print(f"CRM starting: http://{args.host}:{args.port}/ (data in {settings.data_dir.resolve()})", flush=True)
        _serve(system.embedded_app(settings), args.host, args.port)
    elif args.role == "gateway":
        _serve(system.gateway_app(settings), args.host, args.port)
    elif args.role == "contacts-api":
        _serve(system.contacts_api_app(settings), args.host, args.port)
    else:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(system.run_worker(settings, args.role.removeprefix("contacts-")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
