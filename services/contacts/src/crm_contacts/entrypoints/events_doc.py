"""The public event contracts, served: the AsyncAPI document and one JSON Schema per event type.

Generated from the contract models once, when the router is built (at startup), and kept in
memory; nothing is read from disk. The document's ``$ref``s are relative (``schemas/<type>.json``),
so they resolve against these URLs as they do in ``docs/events``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from crm_shared import asyncapi
from crm_shared.http import HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens

EventType = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]

_JSON_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}, "description": "The document"}
}


def build_router(tokens: CallerTokens) -> APIRouter:
    """The event documents; any signed-in caller may read them."""
    documents = {name: text.encode() for name, text in asyncapi.generate().items()}
    router = APIRouter(prefix="/api/v1/events", tags=["events"])
    authenticated = caller_dependency(tokens)

    @router.get("/asyncapi.json", response_class=Response, responses=_JSON_DOCUMENT)
    async def asyncapi_document(caller: Caller = authenticated) -> Response:
        """The AsyncAPI 3.0 document of every public topic, its events and dead-letter topic."""
        return Response(documents[asyncapi.ASYNCAPI_FILE], media_type="application/json")

    @router.get("/schemas/{event_type}.json", response_class=Response, responses=_JSON_DOCUMENT)
    async def event_schema(event_type: EventType, caller: Caller = authenticated) -> Response:
        """The JSON Schema (draft 2020-12) of one public event type's Kafka record."""
        body = documents.get(asyncapi.schema_path(event_type))
        if body is None:
            raise HttpProblem(404, "Not found", f"no public event type {event_type}")
        return Response(body, media_type="application/json")

    return router
