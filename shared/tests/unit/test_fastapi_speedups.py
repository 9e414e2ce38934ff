"""FastAPI's per-request inspection remembered (crm_shared.fastapi_speedups): same answers, same behaviour."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Cookie, Depends, FastAPI, Header, Query, Request
from fastapi.dependencies import models, utils
from fastapi.security import HTTPBearer
from fastapi.testclient import TestClient
from pydantic import BaseModel

from crm_shared import fastapi_speedups


class Filter(BaseModel):
    kind: str = "any"
    limit: int = 10


bearer = HTTPBearer(auto_error=False)


async def who(request: Request) -> str:
    return request.headers.get("x-who", "nobody")


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/things")
    async def things(
        caller: Annotated[str, Depends(who)],
        credentials: Annotated[Any, Depends(bearer)],
        tags: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        flag: Annotated[bool, Query()] = False,
        key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=5)] = None,
        x_token: Annotated[str | None, Header()] = None,
        session: Annotated[str | None, Cookie()] = None,
    ) -> dict[str, Any]:
        return {
            "tags": tags,
            "flag": flag,
            "key": key,
            "x_token": x_token,
            "session": session,
            "caller": caller,
            "bearer": None if credentials is None else credentials.credentials,
        }

    @app.get("/filtered")
    async def filtered(f: Annotated[Filter, Query()]) -> dict[str, Any]:
        return f.model_dump()

    return app


def _calls(client: TestClient) -> list[tuple[int, Any]]:
    answers = [
        client.get("/things"),
        client.get(
            "/things?tags=a&tags=b&flag=true",
            headers={
                "Idempotency-Key": "k1",
                "X-Token": "t",
                "X-Who": "me",
                "Authorization": "Bearer abc",
                "Cookie": "session=s",
            },
        ),
        client.get("/things?flag=maybe"),
        client.get("/things", headers={"Idempotency-Key": "toolong"}),
        client.get("/filtered?kind=x&limit=3"),
        client.get("/filtered?limit=no"),
    ]
    return [(a.status_code, a.json()) for a in answers]


def test_remembered_answers_change_nothing() -> None:
    before = _calls(TestClient(_app()))
    assert fastapi_speedups.install()
    assert fastapi_speedups.install()  # once per process
    after = _calls(TestClient(_app()))
    assert after == before
    assert after[1] == (
        200,
        {"tags": ["a", "b"], "flag": True, "key": "k1", "x_token": "t", "session": "s"}
        | {"caller": "me", "bearer": "abc"},
    )
    assert [status for status, _ in after] == [200, 200, 422, 422, 200, 422]


def test_remembered_per_object() -> None:
    assert fastapi_speedups.install()
    app = _app()
    route = next(r for r in app.routes if getattr(r, "path", "") == "/things")
    dependant = route.dependant  # type: ignore[attr-defined]
    for field in dependant.query_params + dependant.header_params:
        original = utils._get_param_model.__wrapped_by_crm__  # type: ignore[attr-defined]
        assert utils._get_param_model(field) is original(field) is None
        assert utils._get_param_aliases(field) == utils._get_param_aliases(field)
        # A copy each time: a caller changing it changes nothing remembered.
        utils._get_param_aliases(field).clear()
        assert utils._get_param_aliases(field)
    kinds = {sub.call: models._is_security_scheme(dependant=sub) for sub in dependant.dependencies}
    assert sorted(kinds.values()) == [False, True]
