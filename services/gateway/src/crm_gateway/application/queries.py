"""Queries over the gateway's views: users, the user directory, access groups, API keys, the audit
trail (keyset pagination)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_gateway.projections.views import ACCESS_GROUPS, API_KEYS, AUDIT, USER_WORDS, USERS, username_key
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Page, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor
from crm_shared.text import matches_every_word, search_words

DIRECTORY_ROUNDS = 20
"""Pages of word entries read at most for one page of a directory search."""


class GatewayQueries:
    """Reads of the gateway's views."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner) -> None:
        self._views = views
        self._runner = runner

    async def users(self, *, search: str | None = None, limit: int = 50, cursor: str | None = None) -> Page:
        """Users sorted by username, optionally by username prefix (any case)."""
        prefix = ("username_key", username_key(search.strip())) if search and search.strip() else None
        query = Query(prefix=prefix, sort="username_key", after=decode_cursor(cursor), limit=limit)
        return await self._views.find(self._runner.collection(USERS), query)

    async def access_groups(
        self, *, include_retired: bool = False, limit: int = 100, cursor: str | None = None
    ) -> Page:
        """Access groups by code: the active ones, or (``include_retired``) all."""
        equals = {} if include_retired else {"retired": False}
        query = Query(equals=equals, sort="code", after=decode_cursor(cursor), limit=limit)
        return await self._views.find(self._runner.collection(ACCESS_GROUPS), query)

    async def granted_groups(self) -> set[str]:
        """Every access group given to a user or an API key (what the catalogue must hold at start)."""
        granted: set[str] = set()
        for base in (USERS, API_KEYS):
            after: tuple[Any, str] | None = None
            while True:
                page = await self._views.find(self._runner.collection(base), Query(after=after, limit=500))
                granted.update(str(group) for d in page.items for group in d.get("groups") or ())
                if page.next_after is None:
                    break
                after = page.next_after
        return granted

    async def users_by_id(self, ids: Sequence[str]) -> list[Document]:
        """The users of ``ids`` that exist, in the order asked (each once)."""
        wanted = list(dict.fromkeys(ids))
        found = await self._views.get_many(self._runner.collection(USERS), wanted) if wanted else {}
        return [found[i] for i in wanted if i in found]

    async def directory(self, *, q: str | None = None, limit: int = 20, cursor: str | None = None) -> Page:
        """Users for pickers: without ``q`` by name; with ``q`` those of whose name or username every
        word of ``q`` starts a word (any order, any case), found through the word entries of the
        longest word of ``q`` (each user once: at its first matching word)."""
        words = search_words(q or "")
        if not words:
            query = Query(sort="name_key", after=decode_cursor(cursor), limit=limit)
            return await self._views.find(self._runner.collection(USERS), query)
        driver = max(words, key=len)
        after = decode_cursor(cursor)
        found: list[Document] = []
        for _ in range(DIRECTORY_ROUNDS):
            page = await self._views.find(
                self._runner.collection(USER_WORDS),
                Query(prefix=("word", driver), sort="word", after=after, limit=max(limit * 2, 50)),
            )
            users = await self._views.get_many(
                self._runner.collection(USERS), list(dict.fromkeys(str(e["user_id"]) for e in page.items))
            )
            for entry in page.items:
                user = users.get(str(entry["user_id"]))
                after = (entry["word"], str(entry["_id"]))
                if user is None or not matches_every_word(q or "", str(user["name"]), str(user["username"])):
                    continue
                own = search_words(f"{user['name']} {user['username']}")
                if min((w for w in own if w.startswith(driver)), default=entry["word"]) != entry["word"]:
                    continue  # the user is listed at an earlier word of theirs
                found.append(user)
                if len(found) == limit:
                    return Page(found, after)
            if page.next_after is None:
                return Page(found, None)
        return Page(found, after)

    async def api_keys(self, *, user_id: str | None, limit: int = 100, cursor: str | None = None) -> Page:
        """API keys in issue order: one user's, or (``user_id`` None) everyone's."""
        equals = {} if user_id is None else {"user_id": user_id}
        query = Query(equals=equals, sort="issued_at", after=decode_cursor(cursor), limit=limit)
        return await self._views.find(self._runner.collection(API_KEYS), query)

    async def audit(
        self, *, user_id: str | None = None, actor: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Audit entries, newest first, optionally about one user or by one actor."""
        equals: dict[str, Any] = {}
        if user_id:
            equals["user_id"] = user_id
        if actor:
            equals["actor"] = actor
        query = Query(equals=equals, sort="order", after=decode_cursor(cursor), limit=limit)
        return await self._views.find(self._runner.collection(AUDIT), query)
