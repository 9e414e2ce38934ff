"""The servers `crm up` and `crm serve` run: once started, the start's heap is frozen out of the garbage
collector and young collections run after SERVER_YOUNG_OBJECTS new containers, not Python's 700."""

from __future__ import annotations

import asyncio
import gc

import uvicorn
from fastapi import FastAPI

from crm.cli import _Server
from crm_shared.collector import SERVER_YOUNG_OBJECTS


async def test_a_started_server_collects_young_objects_less_often() -> None:
    before = gc.get_threshold()
    server = _Server(uvicorn.Config(FastAPI(), host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):  # 10 s at most
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        assert gc.get_threshold() == (max(before[0], SERVER_YOUNG_OBJECTS), *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        server.should_exit = True
        await serving
        gc.unfreeze()
        gc.set_threshold(*before)
