"""Contact information: typed entries (address, phone, e-mail, web page, other) of a kind defined by
administrators, at most one *main* entry per kind, each value validated and normalised by its type.

Shared by counterparties and contact persons. Each entry carries ``key``: the form under which it is
searched and compared for duplicates (E.164 for phones, the lower-cased address for e-mails).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

from crm_shared.errors import DomainError

ContactType = Literal["address", "phone", "email", "web", "other"]
CONTACT_TYPES: tuple[ContactType, ...] = get_args(ContactType)
MAX_VALUE = 500

# A practical subset of RFC 5322: one @, a dot-atom local part, a domain of LDH labels with a TLD.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True, slots=True)
class ContactEntry:
    """One entry: its kind (an administrator-defined code), type, shown value, search key, main flag."""

    kind: str
    type: ContactType
    value: str
    key: str
    main: bool = False
    comment: str = ""


def normalise(type_: ContactType, raw: str, default_country: str, *, field: str = "value") -> tuple[str, str]:
    """The value to show and the search key of ``raw`` as a ``type_`` entry, or a DomainError naming ``field``."""
    value = " ".join(raw.split())
    if not value:
        raise DomainError("must not be blank", field=field)
    if len(value) > MAX_VALUE:
        raise DomainError(f"at most {MAX_VALUE} characters", field=field)
    match type_:
        case "email":
            email = normalise_email(value, field=field)
            return email, email.casefold()
        case "phone":
            phone = normalise_phone(value, default_country, field=field)
            return phone, phone
        case "web":
            url = normalise_url(value, field=field)
            return url, url.casefold()
        case _:
            return value, value.casefold()


def normalise_email(value: str, *, field: str = "value") -> str:
    """An e-mail address with its domain in lower-case ASCII (IDNA), or a DomainError."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain or " " in value:
        raise DomainError(f"{value!r} is not an e-mail address", field=field)
    if len(local) > 64 or not _LOCAL.match(local):
        raise DomainError(f"{value!r}: the part before @ is not valid", field=field)
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        raise DomainError(f"{value!r}: the domain is not valid", field=field)
    return f"{local}@{ascii_domain}"


@functools.lru_cache(maxsize=8192)
def _ascii_domain(domain: str) -> str | None:
    """The domain in lower-case ASCII (IDNA), or None when it is not valid (domains repeat: cached)."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    return ascii_domain


def normalise_phone(value: str, default_country: str, *, field: str = "value") -> str:
    """A phone number in E.164 (``+359888123456``); numbers without ``+`` are read in ``default_country``."""
    try:
        number = phonenumbers.parse(value, default_country.upper())
    except phonenumbers.NumberParseException as exc:
        raise DomainError(f"{value!r} is not a phone number", field=field) from exc
    if not phonenumbers.is_valid_number(number):
        raise DomainError(f"{value!r} is not a valid phone number (default country {default_country})", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_url(value: str, *, field: str = "value") -> str:
    """An http(s) URL with a host; ``example.com`` becomes ``https://example.com``."""
    candidate = value if "://" in value else f"https://{value}"
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in candidate:
        raise DomainError(f"{value!r} is not a web address (http or https)", field=field)
    host = parts.hostname
    if "." not in host and host != "localhost":
        raise DomainError(f"{value!r} has no domain", field=field)
    netloc = parts.netloc.lower() if parts.username is None else parts.netloc
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def with_main_rule(entries: Sequence[ContactEntry]) -> list[ContactEntry]:
    """The entries with at most one main entry per kind: the first of a kind is main unless another is
    marked; two marked main entries of one kind are an error. Duplicate values of one kind are dropped."""
    seen: set[tuple[str, str]] = set()
    by_kind: dict[str, list[ContactEntry]] = {}
    for entry in entries:
        if (entry.kind, entry.key) in seen:
            continue
        seen.add((entry.kind, entry.key))
        by_kind.setdefault(entry.kind, []).append(entry)
    result: list[ContactEntry] = []
    for kind, of_kind in by_kind.items():
        marked = [e for e in of_kind if e.main]
        if len(marked) > 1:
            raise DomainError(f"only one main entry of kind {kind!r}", field="contact_info")
        main = marked[0] if marked else of_kind[0]
        # An entry already flagged right is kept as it is (entries are immutable).
        result.extend(e if e.main is (e is main) else replace(e, main=e is main) for e in of_kind)
    return result
