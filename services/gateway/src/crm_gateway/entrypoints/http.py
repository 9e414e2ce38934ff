"""The gateway HTTP API under ``/api/v1``: sign-in and sessions, the caller's profile, API keys,
user administration, roles, the access-group catalogue, the user directory and the audit trail.

Every route but sign-in reads the caller from the signed ``X-CRM-Caller`` header that
:class:`~crm_gateway.entrypoints.identity.IdentityForwarding` sets, exactly as the other services
do: one path of trust.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_gateway.application.security import (
    AccountLocked,
    InvalidCredentials,
    RateLimited,
    caller_of,
    new_api_key,
    sha256_hex,
)
from crm_gateway.application.users import Actor, require_user
from crm_gateway.bootstrap import GatewayService
from crm_gateway.domain import access_group as g
from crm_gateway.domain import user as u
from crm_shared import inputs
from crm_shared.contracts.identity.access_group import CODE_PATTERN
from crm_shared.http import Cursor, HttpProblem, IfMatch, answered, etag
from crm_shared.identity import CALLER_HEADER, ROLE_PERMISSIONS, ROLES, Caller, CallerTokens, InvalidCallerToken, Role
from crm_shared.identity import Permission as P
from crm_shared.readstore import Document
from crm_shared.readstore.cursor import BadCursor, encode_cursor
from crm_shared.text import matches_every_word

SESSION_COOKIE = "crm_session"
CSRF_HEADER = "X-CSRF-Token"

Name = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, pattern=u.USERNAME_PATTERN.pattern)]
Password = Annotated[inputs.Text, StringConstraints(min_length=1, max_length=1024)]
"""A password to check (sign-in, the current one): any a user may have."""
NewPassword = Annotated[
    inputs.Text, StringConstraints(min_length=u.MIN_PASSWORD_LENGTH, max_length=u.MAX_PASSWORD_LENGTH)
]
"""A password to set: the policy of :func:`crm_gateway.domain.user.check_password`."""
Group = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
KeyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]
GroupCode = Annotated[str, Path(min_length=1, max_length=100, description="The access group's code")]
Limit = Annotated[int, Query(ge=1, le=500)]
Language = u.Language


class _Body(BaseModel):
    # Unknown or protected fields (id, permissions, password_hash, created_by...) are refused by name.
    model_config = ConfigDict(extra="forbid")


class SignInBody(_Body):
    """Credentials."""

    username: Annotated[inputs.Text, StringConstraints(min_length=1, max_length=200)]
    password: Password


class MeOut(BaseModel):
    """The signed-in caller."""

    id: str
    username: str
    name: str
    roles: list[str]
    groups: list[str]
    permissions: list[str]
    language: str
    csrf_token: str | None = None
    """The session's CSRF token (same-origin readers only), so a page opened after an OIDC redirect or
    in a new tab can make changes; absent for API keys."""


class SignInOut(BaseModel):
    """A new session: the user, and the CSRF token to send as ``X-CSRF-Token`` on unsafe requests."""

    user: MeOut
    csrf_token: str


class UpdateMeBody(_Body):
    """Own profile changes."""

    name: Name | None = None
    language: Language | None = None


class ChangeOwnPasswordBody(_Body):
    """A new password, proven by the current one."""

    current_password: Password
    new_password: NewPassword


class CreateApiKeyBody(_Body):
    """A key for a system, with some of the caller's roles and access groups."""

    name: Name
    roles: list[Role] = Field(min_length=1, max_length=len(ROLES))
    groups: list[Group] = Field(default_factory=list, max_length=1000)


class ApiKeyCreatedOut(BaseModel):
    """A new key. ``key`` is shown this once and never again."""

    id: str
    key: str
    name: str
    roles: list[str]
    groups: list[str]


class ApiKeyOut(BaseModel):
    """An API key, without its secret."""

    id: str
    user_id: str
    name: str
    roles: list[str]
    groups: list[str]
    issued_at: datetime
    revoked: bool
    revoked_at: datetime | None


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None


class CreateUserBody(_Body):
    """A new user."""

    username: Username
    name: Name
    password: NewPassword
    roles: list[Role] = Field(default_factory=list, max_length=len(ROLES))
    groups: list[Group] = Field(default_factory=list, max_length=1000)
    language: Language = "bg"


class UpdateUserBody(_Body):
    """Fields to change; absent fields stay. ``roles`` and ``groups`` are the full new sets."""

    name: Name | None = None
    language: Language | None = None
    roles: list[Role] | None = Field(default=None, max_length=len(ROLES))
    groups: list[Group] | None = Field(default=None, max_length=1000)
    locked: StrictBool | None = None


class SetPasswordBody(_Body):
    """A new password set by an administrator."""

    new_password: NewPassword


class UserOut(BaseModel):
    """A user as administrators see it (never the password hash)."""

    id: str
    username: str
    name: str
    roles: list[str]
    groups: list[str]
    language: str
    locked: bool
    locked_until: datetime | None
    created_at: datetime | None = None
    version: int


class UserPage(BaseModel):
    """One page of users; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[UserOut]
    next_cursor: str | None


class CreateAccessGroupBody(_Body):
    """A new access group: its stable code (what records and users store) and its display name."""

    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=CODE_PATTERN)]
    name: Name


class UpdateAccessGroupBody(_Body):
    """A new display name, and/or retire (true) or restore (false) the group."""

    name: Name | None = None
    retired: StrictBool | None = None


class AccessGroupOut(BaseModel):
    """An access group of the catalogue."""

    code: str
    name: str
    retired: bool
    version: int


class AccessGroupPage(BaseModel):
    """One page of access groups by code; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[AccessGroupOut]
    next_cursor: str | None


class DirectoryUserOut(BaseModel):
    """A user as pickers show it: never roles, groups or anything about signing in."""

    id: str
    username: str
    name: str
    active: bool
    """False while an administrator has retired (locked without an end) the user."""


class DirectoryPage(BaseModel):
    """One page of the user directory; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[DirectoryUserOut]
    next_cursor: str | None


class RoleOut(BaseModel):
    role: str
    permissions: list[str]


class AuditEntryOut(BaseModel):
    """One security event: who did what, when, from where, to whom."""

    id: str
    at: datetime
    action: str
    actor: str | None
    ip: str | None
    user_id: str | None
    username: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


def _me(caller: Caller, user: u.User | None) -> MeOut:
    return MeOut(
        id=caller.user_id,
        username=user.username if user else caller.user_id,
        name=user.name if user else caller.name,
        roles=sorted(caller.roles),
        groups=sorted(caller.groups),
        permissions=sorted(caller.permissions),
        language=user.language if user else "en",
    )


def _user_out(user: u.User, version: int, now: datetime) -> UserOut:
    locked = user.is_locked(now)
    return UserOut(
        id=user.id,
        username=user.username,
        name=user.name,
        roles=sorted(user.roles),
        groups=sorted(user.groups),
        language=user.language,
        locked=locked,
        locked_until=user.locked_until if locked else None,
        created_at=user.created_at,
        version=version,
    )


def _user_from_view(doc: Document, now: datetime) -> UserOut:
    until = datetime.fromisoformat(doc["locked_until"]) if doc.get("locked_until") else None
    locked = bool(doc.get("locked")) and (until is None or now < until)
    return UserOut(
        id=str(doc["_id"]),
        username=doc["username"],
        name=doc["name"],
        roles=list(doc.get("roles", [])),
        groups=list(doc.get("groups", [])),
        language=doc.get("language", "bg"),
        locked=locked,
        locked_until=until if locked else None,
        created_at=doc.get("created_at"),
        version=int(doc["_version"]),
    )


def _group_out(group: g.AccessGroup, version: int) -> AccessGroupOut:
    return AccessGroupOut(code=group.code, name=group.name, retired=group.retired, version=version)


def _group_from_view(doc: Document) -> AccessGroupOut:
    return AccessGroupOut(
        code=str(doc["_id"]), name=doc["name"], retired=bool(doc.get("retired")), version=int(doc["_version"])
    )


def _directory_user(doc: Document) -> DirectoryUserOut:
    retired = bool(doc.get("locked")) and not doc.get("locked_until")
    return DirectoryUserOut(id=str(doc["_id"]), username=doc["username"], name=doc["name"], active=not retired)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _no_store(response: Response) -> None:
    # The body holds a secret (a CSRF token or an API key): no cache may keep it.
    response.headers["Cache-Control"] = "no-store"


def _require(caller: Caller, permission: P) -> None:
    if not caller.can(permission):
        raise HttpProblem(403, "Forbidden", f"this needs the permission {permission.value}")


def _require_person(caller: Caller) -> None:
    if caller.user_id.startswith("apikey:"):
        raise HttpProblem(403, "Forbidden", "an API key cannot do this; sign in as a person")


def build_router(service: GatewayService, tokens: CallerTokens) -> APIRouter:
    """The gateway routes, bound to one wired service and the caller-token verifier."""
    router = APIRouter(prefix="/api/v1")

    def current_caller(request: Request) -> Caller:
        token = request.headers.get(CALLER_HEADER)
        if not token:
            raise HttpProblem(401, "Not authenticated", "sign in or send an API key")
        try:
            return tokens.verify(token)
        except InvalidCallerToken as exc:
            raise HttpProblem(401, "Not authenticated", "the caller token is invalid or expired") from exc

    # A variable, not Annotated[...]: postponed annotations cannot name a local alias.
    authenticated = Depends(current_caller)

    def actor(caller: Caller, request: Request) -> Actor:
        return Actor(caller.user_id, _ip(request))

    async def load_user(user_id: str) -> tuple[u.User, int]:
        return require_user(await service.users.get(user_id), user_id)

    # -- sign-in and sessions -----------------------------------------------------------------

    @router.post("/session", response_model=SignInOut, tags=["session"])
    async def sign_in(body: SignInBody, request: Request, response: Response) -> SignInOut:
        """Sign in: sets the ``crm_session`` cookie (HttpOnly, SameSite=Lax) and returns the CSRF token."""
        ip = _ip(request)
        try:
            signed = await service.auth.sign_in(body.username, body.password, ip)
        except RateLimited as exc:
            raise StarletteHTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc
        except InvalidCredentials as exc:
            raise StarletteHTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
        except AccountLocked as exc:
            raise StarletteHTTPException(423, str(exc)) from exc
        earlier = request.cookies.get(SESSION_COOKIE)
        if earlier:  # a new session id on every sign-in: no session fixation
            await service.auth.sessions.end(earlier)
        response.set_cookie(
            SESSION_COOKIE,
            signed.token,
            httponly=True,
            samesite="lax",
            path="/",
            secure=service.settings.secure_cookies,
        )
        _no_store(response)
        return SignInOut(user=_me(caller_of(signed.user), signed.user), csrf_token=signed.csrf_token)

    @router.delete("/session", status_code=204, tags=["session"])
    async def sign_out(request: Request, caller: Caller = authenticated) -> Response:
        """Sign out: ends the session and clears the cookie."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await service.auth.sign_out(token, _ip(request))
        response = Response(status_code=204)
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=service.settings.secure_cookies
        )
        return response

    # -- the caller's own profile ---------------------------------------------------------------

    async def acting_person(caller: Caller) -> str | None:
        """The user a caller acts for: themselves, or the owner of the API key it uses."""
        if caller.user_id.startswith("apikey:"):
            return await service.users.owner_of_key(caller.user_id.removeprefix("apikey:"))
        return caller.user_id

    @router.get("/me", response_model=MeOut, tags=["me"])
    async def get_me(request: Request, response: Response, caller: Caller = authenticated) -> MeOut:
        """Who is calling, with roles, access groups, permissions and language."""
        found = None if caller.user_id.startswith("apikey:") else await service.users.get(caller.user_id)
        me = _me(caller, found[0] if found else None)
        token = request.cookies.get(SESSION_COOKIE)
        session = await service.auth.sessions.find(token) if token else None
        if session is not None and session.user_id == caller.user_id:
            response.headers["Cache-Control"] = "no-store"
            me = me.model_copy(update={"csrf_token": session.csrf_token})
        return me

    @router.patch("/me", response_model=MeOut, tags=["me"])
    async def update_me(body: UpdateMeBody, request: Request, caller: Caller = authenticated) -> MeOut:
        """Change one's own name or language."""
        _require_person(caller)
        command = u.UpdateUser(caller.user_id, service.users.now(), name=body.name, language=body.language)
        result = await service.users.apply(command, actor(caller, request))
        return _me(caller, result.state)

    @router.post("/me/password", status_code=204, tags=["me"])
    async def change_own_password(
        body: ChangeOwnPasswordBody, request: Request, caller: Caller = authenticated
    ) -> Response:
        """Change one's own password; other sessions of the user end."""
        _require_person(caller)
        user, _ = await load_user(caller.user_id)
        try:
            service.auth.check_rate(_ip(request), user.username)
        except RateLimited as exc:
            raise StarletteHTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc
        if not await service.passwords.verify(user.password_hash, body.current_password):
            raise HttpProblem(422, "Wrong password", "the current password is wrong", "current_password")
        u.check_password(body.new_password, field="new_password")
        new_hash = await service.passwords.hash(body.new_password)
        await service.users.apply(u.ChangePassword(user.id, new_hash), actor(caller, request))
        await service.auth.sessions.end_all(user.id, keep_token=request.cookies.get(SESSION_COOKIE))
        return Response(status_code=204)

    # -- API keys -------------------------------------------------------------------------------

    @router.post("/api-keys", status_code=201, response_model=ApiKeyCreatedOut, tags=["api-keys"])
    async def issue_api_key(
        body: CreateApiKeyBody, request: Request, response: Response, caller: Caller = authenticated
    ) -> ApiKeyCreatedOut:
        """Issue a key for a system with some of your roles and groups. The key is shown only now."""
        _require_person(caller)
        await service.groups.require_active(body.groups)
        key_id, secret, key = new_api_key()
        command = u.IssueApiKey(
            user_id=caller.user_id,
            key_id=key_id,
            name=body.name,
            secret_sha256=sha256_hex(secret),
            roles=frozenset(body.roles),
            groups=frozenset(body.groups),
            all_groups=caller.can(P.ALL_ACCESS_GROUPS),
            now=service.users.now(),
        )
        result = await service.users.issue_api_key(command, actor(caller, request))
        issued = result.state.api_keys[key_id]
        _no_store(response)
        return ApiKeyCreatedOut(
            id=key_id, key=key, name=issued.name, roles=sorted(issued.roles), groups=sorted(issued.groups)
        )

    @router.get("/api-keys", response_model=ApiKeyPage, tags=["api-keys"])
    async def list_api_keys(caller: Caller = authenticated, limit: Limit = 100, cursor: Cursor = None) -> ApiKeyPage:
        """Your API keys; administrators see everyone's."""
        admin = caller.can(P.USERS_ADMIN)
        if not admin:
            _require_person(caller)
        try:
            page = await service.queries.api_keys(user_id=None if admin else caller.user_id, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        items = [
            ApiKeyOut(
                id=str(d["_id"]),
                user_id=d["user_id"],
                name=d["name"],
                roles=d["roles"],
                groups=d["groups"],
                issued_at=d["issued_at"],
                revoked=d["revoked"],
                revoked_at=d.get("revoked_at"),
            )
            for d in page.items
        ]
        return ApiKeyPage(items=items, next_cursor=encode_cursor(page.next_after))

    @router.delete("/api-keys/{key_id}", status_code=204, tags=["api-keys"])
    async def revoke_api_key(key_id: KeyId, request: Request, caller: Caller = authenticated) -> Response:
        """Revoke a key at once (yours, or any for administrators)."""
        owner = await service.users.owner_of_key(key_id)
        if owner is None or (owner != caller.user_id and not caller.can(P.USERS_ADMIN)):
            raise HttpProblem(404, "Not found", f"no API key {key_id}")
        await service.users.apply(u.RevokeApiKey(owner, key_id), actor(caller, request))
        return Response(status_code=204)

    # -- administration -------------------------------------------------------------------------

    @router.get("/roles", response_model=list[RoleOut], tags=["users"])
    async def list_roles(caller: Caller = authenticated) -> list[RoleOut]:
        """The roles and the permissions each grants."""
        _require(caller, P.USERS_ADMIN)
        return [RoleOut(role=r, permissions=sorted(p.value for p in ROLE_PERMISSIONS[r])) for r in ROLES]

    @router.get("/users", response_model=UserPage, tags=["users"])
    async def list_users(
        caller: Caller = authenticated,
        q: Annotated[inputs.Text | None, Query(max_length=64, description="Username prefix, any case")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> UserPage:
        """Users sorted by username, with prefix search and keyset pagination."""
        _require(caller, P.USERS_ADMIN)
        try:
            page = await service.queries.users(search=q, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        now = service.users.now()
        return UserPage(items=[_user_from_view(d, now) for d in page.items], next_cursor=encode_cursor(page.next_after))

    @router.post("/users", status_code=201, response_model=UserOut, tags=["users"])
    async def create_user(
        body: CreateUserBody, request: Request, response: Response, caller: Caller = authenticated
    ) -> UserOut:
        """Create a user. 409 naming ``username`` when it is taken (in any case)."""
        _require(caller, P.USERS_ADMIN)
        u.check_username(body.username)
        u.check_password(body.password)
        await service.groups.require_active(body.groups)
        result = await service.users.create_user(
            username=body.username,
            name=body.name,
            password_hash=await service.passwords.hash(body.password),
            roles=body.roles,
            groups=body.groups,
            language=body.language,
            actor=actor(caller, request),
        )
        answered(response, result)
        response.headers["Location"] = str(request.url_for("get_user", user_id=result.state.id).path)
        return _user_out(result.state, result.version, service.users.now())

    @router.get("/users/{user_id}", response_model=UserOut, tags=["users"])
    async def get_user(user_id: UserId, response: Response, caller: Caller = authenticated) -> UserOut:
        """One user; ``ETag`` is its version, to send back as ``If-Match``."""
        _require(caller, P.USERS_ADMIN)
        user, version = await load_user(user_id)
        response.headers["ETag"] = etag(version)
        return _user_out(user, version, service.users.now())

    @router.patch("/users/{user_id}", response_model=UserOut, tags=["users"])
    async def update_user(
        user_id: UserId,
        body: UpdateUserBody,
        request: Request,
        response: Response,
        caller: Caller = authenticated,
        if_match: IfMatch = None,
    ) -> UserOut:
        """Change name, language, roles, groups or the lock. A stale ``If-Match`` gets 412."""
        _require(caller, P.USERS_ADMIN)
        if user_id == await acting_person(caller):
            # An administrator cannot lock themselves out or drop their own administration rights,
            # signed in or through one of their API keys.
            if body.locked:
                raise HttpProblem(422, "Refused", "you cannot lock yourself", "locked")
            if body.roles is not None and "administrator" not in body.roles:
                raise HttpProblem(422, "Refused", "you cannot remove your own administrator role", "roles")
        if body.groups is not None:
            found = await service.users.get(user_id)
            if found is not None:  # a missing user answers 404 below
                await service.groups.require_active(body.groups, kept=found[0].groups)
        command = u.UpdateUser(
            user_id,
            service.users.now(),
            name=body.name,
            language=body.language,
            roles=None if body.roles is None else frozenset(body.roles),
            groups=None if body.groups is None else frozenset(body.groups),
            locked=body.locked,
        )
        result = await service.users.apply(command, actor(caller, request), if_match=if_match)
        if body.locked is False:
            await service.auth.reset_failures(user_id)
        answered(response, result)
        return _user_out(result.state, result.version, service.users.now())

    @router.post("/users/{user_id}/password", status_code=204, tags=["users"])
    async def set_password(
        user_id: UserId, body: SetPasswordBody, request: Request, caller: Caller = authenticated
    ) -> Response:
        """Set a user's password; the user's sessions end."""
        _require(caller, P.USERS_ADMIN)
        await load_user(user_id)
        u.check_password(body.new_password, field="new_password")
        new_hash = await service.passwords.hash(body.new_password)
        await service.users.apply(u.ChangePassword(user_id, new_hash), actor(caller, request))
        await service.auth.sessions.end_all(user_id, keep_token=request.cookies.get(SESSION_COOKIE))
        return Response(status_code=204)

    # -- the access-group catalogue ---------------------------------------------------------------

    @router.get("/access-groups", response_model=AccessGroupPage, tags=["access-groups"])
    async def list_access_groups(
        caller: Caller = authenticated,
        include_retired: Annotated[bool, Query(description="Retired groups too (administrators)")] = False,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> AccessGroupPage:
        """The access groups by code: the active ones for anyone signed in; retired ones too for
        administrators with ``include_retired=true``."""
        if include_retired:
            _require(caller, P.USERS_ADMIN)
        try:
            page = await service.queries.access_groups(include_retired=include_retired, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return AccessGroupPage(
            items=[_group_from_view(d) for d in page.items], next_cursor=encode_cursor(page.next_after)
        )

    @router.post("/access-groups", status_code=201, response_model=AccessGroupOut, tags=["access-groups"])
    async def create_access_group(
        body: CreateAccessGroupBody, request: Request, response: Response, caller: Caller = authenticated
    ) -> AccessGroupOut:
        """Define a group. 409 naming ``code`` when the code is taken (also by a retired group)."""
        _require(caller, P.USERS_ADMIN)
        result = await service.groups.apply(g.DefineGroup(body.code, body.name), actor(caller, request))
        answered(response, result)
        response.headers["Location"] = str(request.url_for("get_access_group", code=result.state.code).path)
        return _group_out(result.state, result.version)

    @router.get("/access-groups/{code}", response_model=AccessGroupOut, tags=["access-groups"])
    async def get_access_group(code: GroupCode, response: Response, caller: Caller = authenticated) -> AccessGroupOut:
        """One group; ``ETag`` is its version. A retired group is seen by administrators only."""
        found = await service.groups.get(code)
        if found is None or (found[0].retired and not caller.can(P.USERS_ADMIN)):
            raise HttpProblem(404, "Not found", f"no access group {code}")
        response.headers["ETag"] = etag(found[1])
        return _group_out(*found)

    @router.patch("/access-groups/{code}", response_model=AccessGroupOut, tags=["access-groups"])
    async def update_access_group(
        code: GroupCode,
        body: UpdateAccessGroupBody,
        request: Request,
        response: Response,
        caller: Caller = authenticated,
        if_match: IfMatch = None,
    ) -> AccessGroupOut:
        """Rename, retire (``retired: true``) or restore a group. A stale ``If-Match`` gets 412.
        Retiring keeps every record and grant that names the group; nothing new may name it."""
        _require(caller, P.USERS_ADMIN)
        command = g.ChangeGroup(code, name=body.name, retired=body.retired)
        result = await service.groups.apply(command, actor(caller, request), if_match=if_match)
        answered(response, result)
        return _group_out(result.state, result.version)

    # -- the user directory (pickers) -------------------------------------------------------------

    @router.get("/directory/users", response_model=DirectoryPage, tags=["directory"])
    async def directory_users(
        caller: Caller = authenticated,
        q: Annotated[
            str | None,
            Query(max_length=200, description="Every word must start a word of the name or the username"),
        ] = None,
        ids: Annotated[
            str | None, Query(max_length=5000, description="Comma-separated user ids to resolve (unknown ones absent)")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Cursor = None,
    ) -> DirectoryPage:
        """Users for pickers, for anyone signed in: id, username, name and whether active. ``q``: every
        word must match the start of a word of the name or the username, in any order and case;
        ``ids=a,b,c`` resolves ids to names. Without either: everyone by name."""
        if ids is not None:
            wanted = [i.strip() for i in ids.split(",") if i.strip()]
            if len(wanted) > 200:
                raise HttpProblem(422, "Too many ids", "at most 200 ids at once", "ids")
            docs = await service.queries.users_by_id(wanted)
            if q:
                docs = [d for d in docs if matches_every_word(q, str(d["name"]), str(d["username"]))]
            return DirectoryPage(items=[_directory_user(d) for d in docs], next_cursor=None)
        try:
            page = await service.queries.directory(q=q, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return DirectoryPage(items=[_directory_user(d) for d in page.items], next_cursor=encode_cursor(page.next_after))

    # -- audit trail ----------------------------------------------------------------------------

    @router.get("/audit", response_model=AuditPage, tags=["audit"])
    async def list_audit(
        caller: Caller = authenticated,
        user: Annotated[inputs.Text | None, Query(max_length=100, description="Entries about this user id")] = None,
        actor_id: Annotated[
            str | None, Query(alias="actor", max_length=100, description="Entries by this actor")
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AuditPage:
        """Security events, newest first: sign-ins, failures, lock-outs, grants, API keys."""
        _require(caller, P.AUDIT_READ)
        try:
            page = await service.queries.audit(user_id=user, actor=actor_id, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        items = [
            AuditEntryOut(
                id=str(d["_id"]),
                at=d["at"],
                action=d["action"],
                actor=d.get("actor"),
                ip=d.get("ip"),
                user_id=d.get("user_id"),
                username=d.get("username"),
                details=d.get("details", {}),
            )
            for d in page.items
        ]
        return AuditPage(items=items, next_cursor=encode_cursor(page.next_after))

    return router
