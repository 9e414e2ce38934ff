"""Queries over the counterparty view, with read-your-writes.

The search box ``q`` finds counterparties by any word of the name (prefix, any case, Cyrillic and
Latin), an e-mail (when it has an ``@``), a phone (digits starting with ``+`` or ``0``) or a tax id
(digits, with or without its two-letter country prefix); with several words each must start a word
of the name, in any order (``Трейд ООД`` finds "Балкан Трейд ООД"); ``tax_id``,
``email`` and ``phone`` search one of them explicitly. Multi-valued criteria (words, tax ids, e-mails,
phones, categories, property values) go through the lookup collection; at most one of them per query,
combined with any of the list filters.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import phonenumbers

from crm_contacts.application.publishing import translate
from crm_contacts.domain.counterparty import DEFAULT_ACCESS_GROUP, normalise_tax_id
from crm_contacts.projections.abc_classes import CLASSES
from crm_contacts.projections.counterparties import (
    COLLECTION,
    KEY_NAME_SEPARATOR,
    KEYS,
    name_key,
    property_key,
    with_key,
    words_of,
)
from crm_contacts.projections.stages import STAGES, XYZ_CLASSES
from crm_shared.errors import DomainError, Forbidden
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller, Permission
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Page, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor

Sort = Literal["name", "registered_at"]
_PHONE = re.compile(r"^(\+|0)[\d\s()./-]{4,}$")
_TAX_ID = re.compile(r"^([A-Za-z]{2}\s*)?\d[\d\s-]{3,}$")


MAX_SCAN = 2000
"""Lookups a search by several words reads for one page at most (it then answers a shorter page
with a cursor to go on)."""
MAX_TRIPS = 40
"""List pages a page filtered by ABC class, stage or XYZ class reads at most."""
PROBE = 200
"""Lookups read per word to find the rarest word of a search by several words."""
_ANY_WORD = re.compile(r"[^\W_]+")


def query_words(q: str) -> list[str]:
    """The words of a search as typed (case-folded, of any length), each of which must start a word
    of the name."""
    return _ANY_WORD.findall(q.casefold())


def has_words(name: str, words: list[str]) -> bool:
    """Whether every one of ``words`` starts a word of ``name`` (in any order)."""
    names = _ANY_WORD.findall(name.casefold())
    return all(any(n.startswith(w) for n in names) for w in words)


def email_lookup(typed: str) -> tuple[str, str, bool]:
    """The lookup of a typed (partial) e-mail: ASCII as stored (the domain in IDNA, any case), an
    address with a Unicode domain by the Unicode form stored beside it for IDN domains."""
    text = typed.strip().casefold()
    if text.isascii():
        return ("email", text, False)
    return ("emailu", text, False)


def tax_lookup(typed: str) -> tuple[str, str, bool]:
    """The lookup of a typed (partial) tax id: with a country prefix as stored, without one by the
    number alone (so ``204567891`` finds ``BG204567891``)."""
    tax_id = normalise_tax_id(typed)
    if tax_id[:2].isalpha():
        return ("tax", tax_id, False)
    return ("taxnum", tax_id, False)


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters; ``None`` means any."""

    q: str | None = None
    tax_id: str | None = None
    email: str | None = None
    phone: str | None = None
    relation: str | None = None
    main_manager: str | None = None
    manager: str | None = None
    group: str | None = None
    region: str | None = None
    legal_form: str | None = None
    category: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    archived: bool | None = False
    external_code: str | None = None
    abc_class: str | None = None
    """The ABC class in force (the local copy of analytics' classes, :mod:`..projections.abc_classes`)."""
    stage: str | None = None
    """The relationship stage in force (the local copy of analytics' stages, :mod:`..projections.stages`)."""
    xyz_class: str | None = None
    """The XYZ class in force (the same copy)."""


class CounterpartyQueries:
    """Reads of the counterparty view (and of the ABC classes beside it)."""

    def __init__(
        self,
        views: ReadStore,
        runner: ProjectionRunner,
        store: EventStore,
        default_country: str,
        abc_classes: str | None = None,
        stages: str | None = None,
    ) -> None:
        self._views = views
        self._runner = runner
        self._store = store
        self._abc_classes = abc_classes
        """The collection of the counterparties' ABC classes (None: not kept, the cards have none)."""
        self._stages = stages
        """The collection of the counterparties' stages and XYZ classes (None: not kept)."""
        self._calling_code = str(phonenumbers.country_code_for_region(default_country.upper()))

    async def _wait(self, min_position: int | None) -> None:
        if min_position:
            await self._runner.wait_for(self._store, min_position, translate=translate)

    async def get(self, counterparty_id: str, caller: Caller, *, min_position: int | None = None) -> Document | None:
        """One counterparty, or None (also when it is outside the caller's access groups)."""
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading counterparties")
        await self._wait(min_position)
        doc = await self._views.get(self._runner.collection(COLLECTION), counterparty_id)
        if doc is None or not caller.sees_group(str(doc.get("access_group", DEFAULT_ACCESS_GROUP))):
            return None
        return doc

    async def list(
        self,
        caller: Caller,
        filters: Filters = Filters(),
        *,
        sort: Sort = "name",
        limit: int = 50,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> Page:
        """A page of the counterparties the caller may see that match ``filters``.

        ``abc_class``, ``stage`` and ``xyz_class`` are checked on each card of the list the other
        filters give (they are local copies of another service's data, kept apart from the cards), at
        most :data:`MAX_SCAN` cards and :data:`MAX_TRIPS` reads a page: a page may come shorter than
        ``limit``, with a cursor to go on."""
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading counterparties")
        checks = self._copy_checks(filters)
        await self._wait(min_position)
        after = None if cursor is None else decode_cursor(cursor)
        if not checks:
            return await self._page(caller, filters, sort, limit, after)
        found: builtins.list[Document] = []
        scanned = trips = 0
        while True:
            # Never more cards than the page still needs, so the next page starts where this one's
            # last list page ended, whichever collection that list pages through.
            page = await self._page(caller, filters, sort, limit - len(found), after)
            kept = page.items
            for read, name, value in checks:
                copies = await read([str(d["_id"]) for d in kept])
                kept = [d for d in kept if copies.get(str(d["_id"]), {}).get(name) == value]
            found += kept
            scanned, trips, after = scanned + len(page.items), trips + 1, page.next_after
            if after is None or len(found) >= limit or scanned >= MAX_SCAN or trips >= MAX_TRIPS:
                return Page(items=found, next_after=after)

    def _copy_checks(
        self, filters: Filters
    ) -> builtins.list[tuple[Callable[[builtins.list[str]], Awaitable[dict[str, Document]]], str, str]]:
        """The filters on the local copies of analytics' data: (read of the copy, field, value); a value
        outside its choices is a :class:`DomainError` naming the filter."""
        checks: builtins.list[tuple[Callable[[builtins.list[str]], Awaitable[dict[str, Document]]], str, str]] = []
        for name, value, choices, read in (
            ("abc_class", filters.abc_class, CLASSES, self.abc_of),
            ("stage", filters.stage, STAGES, self.stage_of),
            ("xyz_class", filters.xyz_class, XYZ_CLASSES, self.stage_of),
        ):
            if not value:
                continue
            if value not in choices:
                raise DomainError(f"{name} is one of {', '.join(choices)}", field=name)
            checks.append((read, name, value))
        return checks

    async def abc_of(self, ids: builtins.list[str]) -> dict[str, Document]:
        """The ABC classes in force of these counterparties (those never classified left out)."""
        return await self._copy_of(self._abc_classes, ids)

    async def stage_of(self, ids: builtins.list[str]) -> dict[str, Document]:
        """The stages and XYZ classes in force of these counterparties (those never staged left out)."""
        return await self._copy_of(self._stages, ids)

    async def _copy_of(self, collection: str | None, ids: builtins.list[str]) -> dict[str, Document]:
        if collection is None or not ids:
            return {}
        return await self._views.get_many(collection, ids)

    async def _page(
        self, caller: Caller, filters: Filters, sort: Sort, limit: int, after: tuple[Any, str] | None
    ) -> Page:
        groups = caller.visible_groups()
        within = None if groups is None else ("access_group", tuple(sorted(groups)))
        equals = self._equals(filters)
        lookup = self._lookup(filters)
        q = filters.q.strip() if filters.q else ""
        if not q:
            return await self._lookup_page(caller, filters, sort, limit, after, equals, within, lookup)
        # Whether q is an external code, asked beside the search itself (two reads at once, not one
        # after the other); in the rare case it is one, the search's page (or its error) is dropped.
        is_code = asyncio.ensure_future(self._is_code(q, equals, within))
        try:
            searched = await asyncio.gather(
                self._lookup_page(caller, filters, sort, limit, after, equals, within, lookup),
                return_exceptions=True,
            )
        except BaseException:  # this request cancelled: so is its probe
            is_code.cancel()
            await asyncio.gather(is_code, return_exceptions=True)
            raise
        if await is_code:
            return await self._lookup_page(caller, filters, sort, limit, after, equals, within, ("extcode", q, True))
        page = searched[0]
        if isinstance(page, BaseException):
            raise page
        return page

    async def _lookup_page(
        self,
        caller: Caller,
        filters: Filters,
        sort: Sort,
        limit: int,
        after: tuple[Any, str] | None,
        equals: dict[str, Any],
        within: tuple[str, tuple[str, ...]] | None,
        lookup: tuple[str, str, bool] | None,
    ) -> Page:
        if lookup is None or lookup[0] == "name":
            prefix = None if lookup is None else ("name_key", lookup[1])
            query = Query(equals, prefix, "name_key" if sort == "name" else sort, after, limit, within)
            return await self._views.find(self._runner.collection(COLLECTION), query)
        field_name, key, exact = lookup
        if exact:
            query = with_key(field_name, key, equals, after, limit, within)
        else:
            query = Query({**equals, "field": field_name}, ("key_name", key), "key_name", after, limit, within)
        words = query_words(filters.q) if filters.q and field_name == "word" else []
        if len(words) > 1:
            assert filters.q is not None
            query = await self._through_rarest_word(query, filters.q)
            return await self._all_words(query, words, caller, limit)
        page = await self._views.find(self._runner.collection(KEYS), query)
        ids = list(dict.fromkeys(str(d["counterparty_id"]) for d in page.items))
        # One read for the page's cards (not one round trip per card: 20 of them for a name prefix).
        found = await self._views.get_many(self._runner.collection(COLLECTION), ids)
        docs = [found.get(cid) for cid in ids]
        visible = [d for d in docs if d is not None and caller.sees_group(str(d.get("access_group")))]
        return Page(items=visible, next_after=page.next_after)

    async def _is_code(self, text: str, equals: Mapping[str, Any], within: tuple[str, tuple[str, ...]] | None) -> bool:
        """Whether a counterparty the list would show has ``text`` as an external code (of any system)."""
        query = with_key("extcode", text, equals, None, 1, within)
        return bool((await self._views.find(self._runner.collection(KEYS), query)).items)

    async def by_phone(self, phone: str, caller: Caller, *, limit: int = 20) -> builtins.list[Document]:
        """The active counterparties the caller may see with this phone number (E.164), by name."""
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading counterparties")
        groups = caller.visible_groups()
        within = None if groups is None else ("access_group", tuple(sorted(groups)))
        query = with_key("phone", phone, {"archived": False}, None, limit, within)
        page = await self._views.find(self._runner.collection(KEYS), query)
        ids = list(dict.fromkeys(str(d["counterparty_id"]) for d in page.items))
        found = await self._views.get_many(self._runner.collection(COLLECTION), ids)
        return [
            d
            for d in (found.get(cid) for cid in ids)
            if d is not None and caller.sees_group(str(d.get("access_group")))
        ]

    @staticmethod
    def _equals(filters: Filters) -> dict[str, Any]:
        equals: dict[str, Any] = {}
        if filters.archived is not None:
            equals["archived"] = filters.archived
        if filters.relation:
            equals[f"is_{filters.relation}"] = True
        for name in ("main_manager", "group", "region", "legal_form"):
            value = getattr(filters, name)
            if value:
                equals[name] = value
        return equals

    def _lookup(self, filters: Filters) -> tuple[str, str, bool] | None:
        """The one multi-valued criterion: (lookup field, key, exact match), or None for a list query."""
        criteria: list[tuple[str, str, bool]] = []
        if filters.tax_id:
            criteria.append(tax_lookup(filters.tax_id))
        if filters.email:
            criteria.append(email_lookup(filters.email))
        if filters.phone:
            criteria.append(("phone", self.phone_prefix(filters.phone), False))
        if filters.category:
            criteria.append(("category", filters.category, True))
        if filters.manager:
            criteria.append(("manager", filters.manager, True))
        if filters.external_code:
            criteria.append(("extcode", filters.external_code.strip(), True))
        for code, value in filters.properties.items():
            criteria.append((f"property:{code}", property_key(value), True))
        if filters.q and filters.q.strip():
            criteria.append(self._search(filters.q))
        if len(criteria) > 1:
            raise DomainError(
                "use at most one of q, tax_id, email, phone, manager, category, external_code, property.*"
                " (with any other filters)",
                field="q",
            )
        return criteria[0] if criteria else None

    def _search(self, q: str) -> tuple[str, str, bool]:
        text = q.strip()
        if "@" in text:
            return email_lookup(text)
        if _PHONE.match(text):  # numbers are written with + or a leading 0; tax ids never start with 0
            return ("phone", self.phone_prefix(text), False)
        if _TAX_ID.match(text):
            return tax_lookup(text)
        words = sorted(words_of(text), key=len, reverse=True)
        if not words:
            return ("name", name_key(text), False)
        # Several words: found through the rarest (the list chooses it), the others checked on the card
        # (each must start a word of the name, in any order).
        return ("word", words[0], False)

    async def _through_rarest_word(self, query: Query, q: str) -> Query:
        """The lookup query of the searched word that the fewest names start with, so that a page is
        found within MAX_SCAN lookups ("Фирма 00040" goes through "00040", not through "фирма" that
        half the register shares). Probes each word (at most PROBE lookups each); ties go to the
        longest. A next page keeps the word its cursor was made with."""
        candidates = sorted(words_of(q), key=lambda w: (-len(w), w))
        if len(candidates) < 2:
            return query
        if query.after is not None:
            key = str(query.after[0]).split(KEY_NAME_SEPARATOR, 1)[0]
            chosen = next((w for w in candidates if key.startswith(w)), candidates[0])
            return dataclasses.replace(query, prefix=("key_name", chosen))
        keys = self._runner.collection(KEYS)
        best, fewest = candidates[0], PROBE + 1
        for word in candidates:
            probe = await self._views.find(keys, dataclasses.replace(query, prefix=("key_name", word), limit=PROBE))
            found = len(probe.items) if probe.next_after is None else PROBE + 1
            if found < fewest:
                best, fewest = word, found
            if found == 0:
                break  # no name has it: the search finds nothing, at once
        return dataclasses.replace(query, prefix=("key_name", best))

    async def _all_words(self, query: Query, words: builtins.list[str], caller: Caller, limit: int) -> Page:
        """Up to ``limit`` cards from the lookups ``query`` finds whose name has a word starting with
        each of ``words``; where the next page starts (bounded: at most MAX_SCAN lookups a page)."""
        found: builtins.list[Document] = []
        after, scanned = query.after, 0
        cards = self._runner.collection(COLLECTION)
        while True:
            page = await self._views.find(
                self._runner.collection(KEYS), dataclasses.replace(query, after=after, limit=max(limit * 2, 50))
            )
            ids = list(dict.fromkeys(str(d["counterparty_id"]) for d in page.items))
            docs = await self._views.get_many(cards, ids)
            for i, lookup in enumerate(page.items):
                scanned += 1
                after = (lookup[query.sort], str(lookup["_id"]))
                card = docs.get(str(lookup["counterparty_id"]))
                if card is None or not caller.sees_group(str(card.get("access_group"))):
                    continue
                if has_words(str(card.get("name", "")), words) and card not in found:
                    found.append(card)
                    if len(found) == limit:
                        more = i + 1 < len(page.items) or page.next_after is not None
                        return Page(items=found, next_after=after if more else None)
            if page.next_after is None:
                return Page(items=found, next_after=None)
            if scanned >= MAX_SCAN:
                return Page(items=found, next_after=after)

    def phone_prefix(self, typed: str) -> str:
        """A typed (partial) phone number as the start of an E.164 number in the default country."""
        digits = "".join(ch for ch in typed if ch.isdigit())
        if typed.strip().startswith("+"):
            return f"+{digits}"
        if digits.startswith("00"):
            return f"+{digits[2:]}"
        if digits.startswith("0"):
            return f"+{self._calling_code}{digits[1:]}"
        return f"+{digits}"
