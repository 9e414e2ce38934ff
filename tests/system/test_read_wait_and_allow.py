"""``?min_position=`` beyond the head waits its bounded time, then 504 with Retry-After; a 405 lists
every method of the path in ``Allow``, as the OpenAPI document does."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

WAIT = 0.5


async def test_a_position_beyond_the_head_is_504_with_retry_after_after_the_bounded_wait(
    embedded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_READ_WAIT_SECONDS", str(WAIT))
    crm: httpx.AsyncClient = await embedded.start()
    created = await crm.post(
        "/api/v1/counterparties", json={"name": "Ромашка ООД", "relations": ["buyer"], "main_manager": "ivan"}
    )
    head = int(created.headers["X-Commit-Position"])
    for url in ("/api/v1/counterparties", created.headers["Location"], "/api/v1/persons", "/api/v1/interactions"):
        started = time.monotonic()
        response = await crm.get(url, params={"min_position": head + 1000})
        assert time.monotonic() - started >= WAIT * 0.9, url
        assert response.status_code == 504, response.text
        assert response.headers["Retry-After"] == "1"
        assert response.headers["content-type"] == "application/problem+json"
        assert "has not reached" in response.json()["detail"]
    caught_up = await crm.get("/api/v1/counterparties", params={"min_position": head})
    assert caught_up.status_code == 200
    document = (await crm.get("/openapi.json")).json()
    answers = document["paths"]["/api/v1/counterparties"]["get"]["responses"]
    assert "Retry-After" in answers["504"]["headers"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v1/counterparties", "GET, POST"),
        ("PUT", "/api/v1/counterparties/some-id", "GET, PATCH"),
        ("OPTIONS", "/api/v1/counterparties/duplicates", "GET"),
        ("DELETE", "/api/v1/me", "GET, PATCH"),
        ("PUT", "/api/v1/session", "POST, DELETE"),
        ("PUT", "/api/v1/reference/sources", "GET, POST"),
    ],
)
async def test_a_405_lists_every_method_of_the_path(crm: httpx.AsyncClient, method: str, path: str, allow: str) -> None:
    response = await crm.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    documented = (await crm.get("/openapi.json")).json()["paths"].get(path)
    if documented is not None:
        assert {m.upper() for m in documented} == set(allow.split(", "))
