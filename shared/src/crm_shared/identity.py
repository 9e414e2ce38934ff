"""Who is calling: roles, permissions, access groups, and the signed token that carries the caller
from the gateway to the services.

The gateway authenticates people (session cookie, OIDC) and systems (API keys), then forwards each
request with a short-lived token in :data:`CALLER_HEADER`, signed with a secret only the gateway and
the services hold. Services verify it on every request and never trust an unsigned header; a
missing, tampered or expired token is a 401.

Roles and what they may do:

============== ======================================================================================
role           permissions
============== ======================================================================================
administrator  everything, including users, roles, access groups, the audit trail, reference data
               (kinds, roles, properties, categories, sources, groups) and personal-data requests
head_of_sales  read, create, change, import, merge and export counterparties of every access group;
               read, plan and change their interactions; analytics reports; send trade facts
sales_manager  read, create and change counterparties of the access groups granted to them; read, plan
               and change their interactions
marketer       read and export counterparties of the access groups granted to them; read their interactions;
               analytics reports
read_only      read counterparties of the access groups granted to them and their interactions
============== ======================================================================================
"""

from __future__ import annotations

import enum
import functools
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import jwt

CALLER_HEADER = "X-CRM-Caller"
"""The request header with the signed caller token, set by the gateway."""

ACCESS_GROUP_CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""The form of a new access group's code (groups granted before the catalogue existed may have others)."""
Language = Literal["bg", "en"]
"""The languages of the web UI (and of names that differ by language)."""
LANGUAGES: tuple[Language, ...] = get_args(Language)
Role = Literal["administrator", "head_of_sales", "sales_manager", "marketer", "read_only"]
ROLES: tuple[Role, ...] = get_args(Role)


class Permission(enum.StrEnum):
    """What a role allows."""

    COUNTERPARTY_READ = "counterparty:read"
    COUNTERPARTY_WRITE = "counterparty:write"
    COUNTERPARTY_EXPORT = "counterparty:export"
    COUNTERPARTY_IMPORT = "counterparty:import"
    COUNTERPARTY_MERGE = "counterparty:merge"
    INTERACTION_READ = "interaction:read"
    INTERACTION_WRITE = "interaction:write"
    REFERENCE_ADMIN = "reference:admin"
    PERSONAL_DATA_ADMIN = "personal-data:admin"
    ALL_ACCESS_GROUPS = "access-groups:all"
    USERS_ADMIN = "users:admin"
    AUDIT_READ = "audit:read"
    ANALYTICS_READ = "analytics:read"
    """Reports and segmentations over every customer (ABC…)."""
    TRADE_FACTS_WRITE = "trade-facts:write"
    """Send the ERP's trade facts (sales, returns) to analytics, by API or CSV import."""
    ANALYTICS_CLASSIFY = "analytics:classify"
    """Create and confirm ABC classification runs, and override a customer's class with a reason."""


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "administrator": frozenset(Permission),
    "head_of_sales": frozenset(
        {
            _P.COUNTERPARTY_READ,
            _P.COUNTERPARTY_WRITE,
            _P.COUNTERPARTY_EXPORT,
            _P.COUNTERPARTY_IMPORT,
            _P.COUNTERPARTY_MERGE,
            _P.INTERACTION_READ,
            _P.INTERACTION_WRITE,
            _P.ALL_ACCESS_GROUPS,
            _P.ANALYTICS_READ,
            _P.TRADE_FACTS_WRITE,
            _P.ANALYTICS_CLASSIFY,
        }
    ),
    "sales_manager": frozenset(
        {_P.COUNTERPARTY_READ, _P.COUNTERPARTY_WRITE, _P.INTERACTION_READ, _P.INTERACTION_WRITE}
    ),
    "marketer": frozenset({_P.COUNTERPARTY_READ, _P.COUNTERPARTY_EXPORT, _P.INTERACTION_READ, _P.ANALYTICS_READ}),
    "read_only": frozenset({_P.COUNTERPARTY_READ, _P.INTERACTION_READ}),
}


@functools.lru_cache(maxsize=256)
def _permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    # Asked several times per request, and there are only 2^len(ROLES) sets of known roles.
    return frozenset(p for role in roles for p in ROLE_PERMISSIONS.get(role, ()))


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated person or system acting on the CRM."""

    user_id: str
    roles: frozenset[Role]
    groups: frozenset[str]
    name: str = ""

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything the caller's roles allow."""
        return _permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        """Whether a role of the caller grants ``permission``."""
        return permission in self.permissions

    def sees_group(self, group: str) -> bool:
        """Whether records of access group ``group`` are visible to the caller."""
        return self.can(Permission.ALL_ACCESS_GROUPS) or group in self.groups

    def visible_groups(self) -> frozenset[str] | None:
        """The access groups the caller may see, or None when it may see all."""
        return None if self.can(Permission.ALL_ACCESS_GROUPS) else self.groups


class InvalidCallerToken(Exception):
    """The caller token is missing, tampered with, expired or not meant for the services."""


class CallerTokens:
    """Issues and verifies caller tokens (HS256 JWTs with a short lifetime).

    A token verified once is remembered until it expires (the gateway forwards one token per caller
    for a while, so most requests skip the HMAC and the JSON decoding): the same string, checked with
    the same secret, cannot become valid or invalid before its ``exp``.
    """

    _AUDIENCE = "crm-services"
    _ISSUER = "crm-gateway"
    _REMEMBERED = 4096

    def __init__(self, secret: bytes, ttl_seconds: int = 60) -> None:
        if len(secret) < 32:
            raise ValueError("the caller-token secret must be at least 32 bytes")
        self._secret = secret
        self._ttl = ttl_seconds
        self._verified: dict[str, tuple[Caller, int]] = {}

    @property
    def ttl_seconds(self) -> int:
        """How long an issued token is valid."""
        return self._ttl

    def issue(self, caller: Caller) -> str:
        """A token for ``caller``, valid for the configured lifetime."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._ISSUER,
            "aud": self._AUDIENCE,
            "sub": caller.user_id,
            "name": caller.name,
            "roles": sorted(caller.roles),
            "groups": sorted(caller.groups),
            "iat": now,
            "exp": now + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Caller:
        """The caller a token names; raises :class:`InvalidCallerToken` otherwise."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[1]:  # PyJWT's rule: expired once exp <= now
                return known[0]
            del self._verified[token]
        try:
            # The algorithm is pinned: a token cannot choose "none" or another key type (RFC 8725).
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=self._AUDIENCE,
                issuer=self._ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidCallerToken(str(exc)) from exc
        roles = frozenset(r for r in claims.get("roles", []) if r in ROLES)
        caller = Caller(
            user_id=str(claims["sub"]),
            roles=roles,
            groups=frozenset(str(g) for g in claims.get("groups", [])),
            name=str(claims.get("name", "")),
        )
        if len(self._verified) >= self._REMEMBERED:
            self._verified.clear()
        self._verified[token] = (caller, int(claims["exp"]))
        return caller


def load_or_create_secret(path: Path) -> bytes:
    """The embedded mode's caller-token secret: made once, kept readable by its owner only."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(48)
    path.touch(mode=0o600)
    path.write_bytes(secret)
    return secret


def caller_of(user_id: str, roles: Iterable[Role], groups: Iterable[str] = (), name: str = "") -> Caller:
    """Shorthand for building a caller."""
    return Caller(user_id=user_id, roles=frozenset(roles), groups=frozenset(groups), name=name)
