"""The background process of ``crm up``: the relays and projectors of the services that may run apart
from their API (:attr:`crm_shared.service.Service.background_apart`), in a child process.

One event loop is what limits ``crm up`` under load: every command's event is also relayed to the
bus, projected into its service's views and taken into other services' local copies, and in one
process all of that shares the loop with the requests (about half of its CPU per command, bench P1).
In a child process it runs on the machine's other core, and the API's loop serves requests only.
Nothing else changes: the two processes share the embedded stores' files as the distributed roles
do (SQLite serialises the writers and each reader sees the others' commits), a read that asks for
its writes (``?min_position=``) waits for the view's checkpoint in the store, and the local copies
are read from the store. A service whose embedded store is one process's alone keeps its relay and
projector in ``crm up``'s own process.

The child is ``python -m crm.background NAME...``. The parent starts it first (its start-up runs
beside the parent's), is ready when the child says so on its standard output, and starts it again
if it dies. The child stops when its standard input closes: the parent closes it at shutdown, and
the system closes it when the parent dies, so no child outlives its ``crm up``. It ignores Ctrl-C
(the terminal sends it to both): the parent stops it after the requests.

The first line the parent writes on that pipe is the run key (:mod:`crm_shared.bus.trust`): the two
processes take each other's events on the bus without verifying their signatures, which would cost
the parent ~150 µs of CPU per event its analytics takes in.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import math
import os
import secrets
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from crm_shared import collector, observability
from crm_shared.adapters import open_bus
from crm_shared.service import Service, Wired
from crm_shared.settings import KernelSettings

log = logging.getLogger(__name__)

READY = b"ready\n"
"""What the child writes on its standard output once its relays and projectors run."""
RESTART_AFTER = 1.0
"""Seconds before a child that died is started again."""
RESTART_MAX = 30.0
"""Seconds at most between two starts of a child that keeps dying within that time of its start."""
STOP_WITHIN = 30.0
"""Seconds the child has to stop once asked, before it is killed."""


def apart(everything: Sequence[Service[Any]]) -> tuple[str, ...]:
    """The names of the services whose relay and projector may run in the background process."""
    return tuple(service.name for service in everything if service.background_apart)


class BackgroundProcess:
    """The child process that runs the relays and projectors of :attr:`names` for ``crm up``."""

    def __init__(self, settings: KernelSettings, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self._settings = settings
        self._process: asyncio.subprocess.Process | None = None
        self._watching: asyncio.Task[None] | None = None
        self._stopping = False
        self.run_key = secrets.token_bytes(32)
        """The bus's run key of this ``crm up``: the parent's bus takes it too."""

    async def spawn(self) -> None:
        """Start the child (its start-up runs beside the caller's); :meth:`ready` waits for it."""
        env = {**os.environ, "CRM_DATA_DIR": str(self._settings.data_dir.resolve())}
        command = [sys.executable, "-m", "crm.background", *self.names]
        self._process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
        )
        assert self._process.stdin is not None
        self._process.stdin.write(self.run_key.hex().encode() + b"\n")
        await self._process.stdin.drain()

    async def ready(self) -> None:
        """Wait until the child runs every relay and projector, then watch it (a child that dies is
        started again); RuntimeError when it ends before."""
        process = self._process
        assert process is not None and process.stdout is not None
        line = await process.stdout.readline()
        if line != READY:
            await process.wait()
            raise RuntimeError(f"the background process stopped while starting (exit code {process.returncode})")
        if self._watching is None:
            self._watching = asyncio.create_task(self._watch(), name="crm-background-watch")

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RESTART_AFTER
        while True:
            process = self._process
            assert process is not None
            started = loop.time()
            code = await process.wait()
            if self._stopping:
                return
            # One that keeps dying soon after its start is started again less and less often.
            delay = RESTART_AFTER if loop.time() - started > RESTART_MAX else min(delay * 2, RESTART_MAX)
            log.error("the background process ended (exit code %s); starting it again in %.0f s", code, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self.spawn()
                await self.ready()
            except (OSError, RuntimeError) as exc:
                log.error("the background process did not start again: %s", exc)

    async def stop(self) -> None:
        """Ask the child to stop (its standard input closes), and wait for it (killed if it takes longer
        than :data:`STOP_WITHIN`)."""
        self._stopping = True
        if self._watching is not None:
            self._watching.cancel()
            await asyncio.gather(self._watching, return_exceptions=True)
        process = self._process
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            async with asyncio.timeout(STOP_WITHIN):
                await process.wait()
        except TimeoutError:
            log.error("the background process did not stop within %.0f s; killing it", STOP_WITHIN)
            process.kill()
            await process.wait()


def service_named(name: str) -> Service[Any]:
    """The service ``name`` from its own module (``crm_<name>.service``, object ``<NAME>``), without the
    registry's imports of every other service: the child starts sooner (the registry's import of
    analytics alone costs it ~2 s of CPU). ``tests/architecture`` checks that this finds the registry's."""
    service: Service[Any] = getattr(importlib.import_module(f"crm_{name}.service"), name.upper())
    return service


async def run(settings: KernelSettings, names: Sequence[str], run_key: bytes) -> None:
    """The child: build the services named, start their relays and projectors on one bus (with the
    parent's ``run_key``), say so on standard output, and run until standard input closes (or
    SIGTERM); then close everything."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops this process, after the requests
    observability.setup("crm-background", settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    bus = await open_bus(settings, "crm-background", retry_for=math.inf, run_key=run_key)
    running: list[Wired] = []
    try:
        for name in names:
            wired: Wired = await service_named(name).build(settings)
            running.append(wired)
        for wired in running:
            await wired.start_relay(bus)
            await wired.start_projector(bus)
        collector.settle_started_process()
        sys.stdout.buffer.write(READY)
        sys.stdout.buffer.flush()
        # Nobody reads the pipe any more: a stray print goes to standard error instead of filling it.
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

        def wait_for_the_end_of_stdin() -> None:  # a daemon thread: it never holds up the exit
            sys.stdin.buffer.read()
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_the_end_of_stdin, name="crm-background-stdin", daemon=True).start()
        await stop.wait()
    finally:
        for wired in reversed(running):
            try:
                await wired.close()
            except Exception:
                log.exception("the background process: a service did not close cleanly")
        await bus.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m crm.background NAME...``: the child (settings from the ``CRM_*`` environment)."""
    parser = argparse.ArgumentParser(prog="python -m crm.background", description=__doc__.split("\n")[0])
    parser.add_argument("services", nargs="+", help="whose relays and projectors to run")
    args = parser.parse_args(argv)
    try:
        run_key = bytes.fromhex(sys.stdin.buffer.readline().decode("ascii").strip())
    except ValueError:
        run_key = b""
    if len(run_key) < 16:
        parser.error("standard input must start with the run key (hex) that crm up hands over")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(KernelSettings(), args.services, run_key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
