"""crm_shared.dispatch: /api/v1/<prefix> goes straight to the owner's routes, and every answer is the
one FastAPI's own routing gives (path parameters, router dependencies, 405, redirects, 404, overrides,
the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header

from crm_shared.dispatch import ServiceDispatch, include_service


def tagged(x_tag: Annotated[str, Header()] = "none") -> str:
    return x_tag


def service_router(name: str, prefix: str) -> APIRouter:
    inner = APIRouter(prefix=f"/api/v1/{prefix}", tags=[name])

    @inner.get("/{item_id}")
    async def get_item(item_id: int, tag: Annotated[str, Depends(tagged)]) -> dict[str, object]:
        return {"service": name, "id": item_id, "tag": tag}

    @inner.post("", status_code=201)
    async def create() -> dict[str, str]:
        return {"service": name}

    outer = APIRouter()
    outer.include_router(inner, dependencies=[Depends(tagged)])
    return outer


def app(dispatched: bool) -> FastAPI:
    made = FastAPI()
    for name, prefix in (("first", "apples"), ("second", "pears")):
        router = service_router(name, prefix)
        if dispatched:
            include_service(made, (prefix,), router)
        else:
            made.include_router(router)
    return made


async def answers(made: FastAPI) -> list[tuple[int, str]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=made), base_url="http://t") as http:
        got = [
            await http.get("/api/v1/pears/7", headers={"x-tag": "a"}),
            await http.post("/api/v1/apples"),
            await http.delete("/api/v1/apples/1"),  # 405
            await http.get("/api/v1/pears/x"),  # not an int: 422
            await http.post("/api/v1/pears/"),  # redirected
            await http.get("/api/v1/plums/1"),  # no owner
        ]
    return [(r.status_code, r.text) for r in got]


async def test_dispatched_answers_are_the_same_as_fastapis() -> None:
    dispatched = app(dispatched=True)
    assert isinstance(dispatched.router.routes[0], ServiceDispatch)
    same = await answers(dispatched)
    assert same == await answers(app(dispatched=False))
    assert [status for status, _ in same] == [200, 201, 405, 422, 307, 404]
    assert dispatched.openapi()["paths"] == app(dispatched=False).openapi()["paths"]


async def test_dependency_overrides_are_honoured() -> None:
    made = app(dispatched=True)
    made.dependency_overrides[tagged] = lambda: "overridden"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=made), base_url="http://t") as http:
        answer = await http.get("/api/v1/apples/3")
    assert answer.json() == {"service": "first", "id": 3, "tag": "overridden"}
