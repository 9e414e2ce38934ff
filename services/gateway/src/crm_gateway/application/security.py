"""Sign-in, sessions, throttling of password guesses, rate limits and API-key authentication.

Sessions are not events: they live in the read store (collection ``sessions``), keyed by the
SHA-256 of the random session token, so a leak of the store does not leak usable tokens. The
cookie carries the token; the CSRF token is returned at sign-in and must come back in
``X-CSRF-Token`` on every cookie-authenticated unsafe request.

Wrong passwords never lock an account and never touch its other credentials (API keys, sessions):
they slow down the *source* that sends them. After a few consecutive wrong passwords for a username
from one client address, that address must wait before its next attempt for that username, and the
wait doubles with every further failure up to a ceiling (:class:`SignInThrottle`). The owner signing
in from elsewhere is not affected, and an unknown username is throttled exactly like a known one, so
the delays do not reveal which usernames exist. Every refused attempt is in the audit trail. Only an
administrator locks an account.

Every request is authenticated against the user's current stream (not a view), so a lock, a role
change or a revoked key takes effect on the very next request. API keys, used by systems many
times a second, are resolved once and kept in a :class:`~crm_gateway.application.caller_cache.KeyCache`
that the owner's events empty: in the process that made the change at once, in the others within
a second.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from crm_gateway.application.caller_cache import KeyCache
from crm_gateway.application.passwords import Passwords
from crm_gateway.application.users import SYSTEM_ACTOR, Actor, UserCommands
from crm_gateway.domain import user as u
from crm_gateway.settings import GatewaySettings
from crm_shared.identity import Caller, Permission
from crm_shared.readstore import Delete, Document, Index, Put, Query, ReadStore

SESSIONS = "sessions"
FAILURES = "signin_failures"
API_KEY_PREFIX = "crm_"
# A session's expiry is pushed forward at most this often, so reads do not each cost a write.
_TOUCH_EVERY = timedelta(minutes=1)


class InvalidCredentials(Exception):
    """Unknown user or wrong password: one message for both, so usernames cannot be probed."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class AccountLocked(Exception):
    """The password was right but an administrator has locked the account."""

    def __init__(self, until: datetime | None) -> None:
        when = f" until {until.isoformat(timespec='minutes')}" if until else ""
        super().__init__(f"the account is locked{when}")
        self.until = until


class RateLimited(Exception):
    """Too many attempts; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many attempts; retry in {retry_after} s")
        self.retry_after = retry_after


class NotAuthenticated(Exception):
    """No valid session or API key."""


class CsrfRejected(Exception):
    """A cookie-authenticated unsafe request without the session's CSRF token."""


def sha256_hex(text: str) -> str:
    """The SHA-256 of a random token (enough for secrets with 256 bits of entropy)."""
    return hashlib.sha256(text.encode()).hexdigest()


def caller_of(user: u.User) -> Caller:
    """The caller a signed-in user acts as."""
    return Caller(user_id=user.id, roles=user.roles, groups=user.groups, name=user.name)


def caller_of_key(owner: u.User, key: u.ApiKey) -> Caller:
    """The caller an API key acts as: the key's grants, never more than its owner has now."""
    owner_caller = caller_of(owner)
    groups = key.groups if owner_caller.can(Permission.ALL_ACCESS_GROUPS) else key.groups & owner.groups
    roles = frozenset(r for r in key.roles if u.role_within(r, owner.roles))
    return Caller(user_id=f"apikey:{key.id}", roles=roles, groups=groups, name=key.name)


class TokenBuckets:
    """In-memory token buckets, one per key: ``per_minute`` attempts, refilled continuously.

    Per process: with several gateway replicas each allows the rate, which the lock-out (kept in
    the shared store) still bounds per account.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Take one token: 0 when allowed, else the seconds until the next token."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self._max_keys:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        # Buckets that have refilled completely hold no information: forget them.
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self._rate >= self._capacity]
        for key in full:
            del self._buckets[key]


class SignInThrottle:
    """Growing delays per username and client address after consecutive wrong passwords.

    Kept in the read store (collection ``signin_failures``, shared by gateway replicas): one document
    per (username, address) pair, keyed by a hash of the pair, with the count of consecutive failures
    and the earliest time of the next attempt. A success from that address forgets the pair.
    """

    def __init__(self, views: ReadStore, settings: GatewaySettings, clock: Callable[[], datetime]) -> None:
        self._views = views
        self._free = settings.signin_free_failures
        self._first = settings.signin_first_delay_seconds
        self._ceiling = settings.signin_max_delay_minutes * 60
        self._clock = clock

    @staticmethod
    def _key(username: str, ip: str | None) -> str:
        return sha256_hex(f"{username.casefold()}\n{ip or '-'}")

    async def wait(self, username: str, ip: str | None) -> int:
        """Whole seconds the address must still wait before trying ``username`` again (0: go ahead)."""
        document = await self._views.get(FAILURES, self._key(username, ip))
        if document is None or not document.get("not_before"):
            return 0
        left = (datetime.fromisoformat(document["not_before"]) - self._clock()).total_seconds()
        return max(0, math.ceil(left))

    async def failed(self, username: str, ip: str | None) -> None:
        """Count a wrong password; from the ``free``-th on, the next attempt waits (doubling)."""
        key = self._key(username, ip)
        for _ in range(10):  # read-modify-write guarded by the document version; a lost race retries
            current = await self._views.get(FAILURES, key)
            version = 0 if current is None else int(current["_version"])
            count = 1 + (0 if current is None else int(current["count"]))
            document: dict[str, object] = {"_id": key, "_version": version + 1, "user": username.casefold()}
            document["count"] = count
            if count >= self._free:
                delay = min(self._ceiling, self._first * 2 ** (count - self._free))
                document["not_before"] = (self._clock() + timedelta(seconds=delay)).isoformat()
            if await self._views.apply([Put(FAILURES, document)]):
                return

    async def succeeded(self, username: str, ip: str | None) -> None:
        """Forget the failures of ``username`` from this address."""
        current = await self._views.get(FAILURES, self._key(username, ip))
        if current is not None and int(current["count"]):
            await self._views.apply([self._cleared(current)])

    async def forget(self, username: str) -> None:
        """Forget the failures of ``username`` from every address (an administrator asked)."""
        after = None
        while True:
            page = await self._views.find(FAILURES, Query(equals={"user": username.casefold()}, after=after, limit=500))
            if failing := [d for d in page.items if int(d["count"])]:
                await self._views.apply([self._cleared(d) for d in failing])
            if page.next_after is None:
                return
            after = page.next_after

    @staticmethod
    def _cleared(document: Document) -> Put:
        # Kept with a count of 0 rather than deleted: the version guard must go on growing.
        version = int(document["_version"]) + 1
        return Put(FAILURES, {"_id": document["_id"], "_version": version, "user": document["user"], "count": 0})


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser session (from the read store)."""

    id: str
    user_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A successful sign-in: the user, the session token for the cookie and the CSRF token."""

    user: u.User
    token: str
    csrf_token: str


class Sessions:
    """Sessions in the read store, with an idle timeout."""

    def __init__(self, views: ReadStore, idle: timedelta, clock: Callable[[], datetime]) -> None:
        self._views = views
        self._idle = idle
        self._clock = clock

    async def prepare(self) -> None:
        """Create the indexes."""
        await self._views.ensure_indexes(SESSIONS, [Index(("user_id",))])
        await self._views.ensure_indexes(FAILURES, [Index(("user",))])

    async def create(self, user_id: str, ip: str | None) -> tuple[str, str]:
        """A new session for ``user_id``: ``(token, csrf_token)``."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._clock()
        document = {
            "_id": sha256_hex(token),
            "_version": 1,
            "user_id": user_id,
            "csrf_token": csrf,
            "ip": ip,
            "created_at": now.isoformat(),
            "last_seen_at": now.isoformat(),
            "expires_at": (now + self._idle).isoformat(),
        }
        await self._views.apply([Put(SESSIONS, document)])
        return token, csrf

    async def find(self, token: str) -> Session | None:
        """The live session of a token (its idle expiry pushed forward), or None."""
        document = await self._views.get(SESSIONS, sha256_hex(token))
        if document is None:
            return None
        now = self._clock()
        expires = datetime.fromisoformat(document["expires_at"])
        if expires <= now:
            await self._delete(document)
            return None
        if now - datetime.fromisoformat(document["last_seen_at"]) >= _TOUCH_EVERY:
            expires = now + self._idle
            touched = {
                **document,
                "_version": int(document["_version"]) + 1,
                "last_seen_at": now.isoformat(),
                "expires_at": expires.isoformat(),
            }
            await self._views.apply([Put(SESSIONS, touched)])
        return Session(str(document["_id"]), str(document["user_id"]), str(document["csrf_token"]), expires)

    async def end(self, token: str) -> str | None:
        """End the session of ``token``; returns its user id (None if there was none)."""
        document = await self._views.get(SESSIONS, sha256_hex(token))
        if document is None:
            return None
        await self._delete(document)
        return str(document["user_id"])

    async def end_all(self, user_id: str, keep_token: str | None = None) -> int:
        """End every session of a user (e.g. after a password change), but ``keep_token``'s."""
        keep = None if keep_token is None else sha256_hex(keep_token)
        ended = 0
        while True:
            page = await self._views.find(SESSIONS, Query(equals={"user_id": user_id}, limit=500))
            doomed = [d for d in page.items if d["_id"] != keep]
            if not doomed:
                return ended
            await self._views.apply([Delete(SESSIONS, str(d["_id"]), int(d["_version"]) + 1) for d in doomed])
            ended += len(doomed)

    async def _delete(self, document: Document) -> None:
        await self._views.apply([Delete(SESSIONS, str(document["_id"]), int(document["_version"]) + 1)])


class Authenticator:
    """Signs people in and turns session cookies and API keys into callers."""

    def __init__(
        self,
        users: UserCommands,
        passwords: Passwords,
        sessions: Sessions,
        views: ReadStore,
        settings: GatewaySettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        keys: KeyCache | None = None,
    ) -> None:
        self.users = users
        self.keys = keys
        self.passwords = passwords
        self.sessions = sessions
        self._views = views
        self._settings = settings
        self._clock = clock
        self._per_ip = TokenBuckets(settings.signin_rate_per_minute)
        self._per_username = TokenBuckets(settings.signin_rate_per_minute)
        self.throttle = SignInThrottle(views, settings, clock)

    def check_rate(self, ip: str | None, username: str) -> None:
        """Take an attempt from the client's bucket and from the bucket of this username from this
        client (never the username's alone: others' attempts must not shut its owner out);
        :class:`RateLimited` if either is empty."""
        source = ip or "-"
        waits = [self._per_ip.take(f"ip:{source}"), self._per_username.take(f"user:{username.casefold()}\n{source}")]
        if max(waits) > 0:
            raise RateLimited(max(1, math.ceil(max(waits))))

    async def sign_in(self, username: str, password: str, ip: str | None) -> SignedIn:
        """Check the password and open a session.

        Raises :class:`RateLimited` (too many attempts, or this address must still wait after wrong
        passwords for this username), :class:`InvalidCredentials` (the same for an unknown user and a
        wrong password) or :class:`AccountLocked` (only when the password was right, so a lock does
        not reveal that an account exists).
        """
        self.check_rate(ip, username)
        user_id = await self.users.user_id_of(username) if u.USERNAME_PATTERN.match(username) else None
        found = None if user_id is None else await self.users.get(user_id)
        user = None if found is None else found[0]
        actor = Actor(user.id if user else SYSTEM_ACTOR, ip)
        wait = await self.throttle.wait(username, ip)
        if wait:
            # Refused before the password is even checked, known username or not.
            failed = u.SignInFailed(username=username, user_id=user_id, reason="throttled", retry_after=wait)
            await self.users.record(failed, actor)
            raise RateLimited(wait)
        ok = await self.passwords.verify(None if user is None else user.password_hash, password)
        if user is None or not ok:
            reason: Literal["unknown_user", "locked", "wrong_password"] = (
                "unknown_user" if user is None else "locked" if user.is_locked(self._clock()) else "wrong_password"
            )
            await self.users.record(u.SignInFailed(username=username, user_id=user_id, reason=reason), actor)
            await self.throttle.failed(username, ip)
            raise InvalidCredentials()
        await self.throttle.succeeded(username, ip)
        if user.is_locked(self._clock()):
            await self.users.record(u.SignInFailed(username=username, user_id=user.id, reason="locked"), actor)
            raise AccountLocked(user.locked_until)
        token, csrf = await self.sessions.create(user.id, ip)
        await self.users.record(u.SignedIn(user_id=user.id, username=user.username), actor)
        return SignedIn(user, token, csrf)

    async def reset_failures(self, user_id: str) -> None:
        """Forget a user's failed sign-ins from every address (an administrator unlocked the account)."""
        found = await self.users.get(user_id)
        if found is not None:
            await self.throttle.forget(found[0].username)

    async def sign_out(self, token: str, ip: str | None) -> None:
        """End the session of ``token`` (nothing when there is none)."""
        user_id = await self.sessions.end(token)
        if user_id is not None:
            await self.users.record(u.SignedOut(user_id=user_id), Actor(user_id, ip))

    async def session_caller(self, token: str, *, csrf_token: str | None, unsafe: bool) -> Caller:
        """The caller of a session cookie; checks the CSRF token for unsafe methods.

        Raises :class:`NotAuthenticated` or :class:`CsrfRejected`.
        """
        session = await self.sessions.find(token)
        if session is None:
            raise NotAuthenticated("the session has ended; sign in again")
        if unsafe and not (csrf_token and hmac.compare_digest(csrf_token.encode(), session.csrf_token.encode())):
            raise CsrfRejected("send the session's CSRF token in X-CSRF-Token")
        found = await self.users.get(session.user_id)
        if found is None or found[0].is_locked(self._clock()):
            await self.sessions.end(token)
            raise NotAuthenticated("the session has ended; sign in again")
        return caller_of(found[0])

    async def api_key_caller(self, key: str) -> Caller:
        """The caller of an API key ``crm_<id>_<secret>``; :class:`NotAuthenticated` if not a live key."""
        parts = key.split("_", 2)
        if len(parts) != 3 or f"{parts[0]}_" != API_KEY_PREFIX or not parts[1].isalnum() or not parts[2]:
            raise NotAuthenticated("not an API key of this CRM")
        key_id, secret = parts[1], parts[2]
        digest = sha256_hex(secret)
        cached = None if self.keys is None else await self.keys.current(key_id)
        if cached is not None:
            if not hmac.compare_digest(digest, cached.secret_sha256):
                raise NotAuthenticated("unknown or revoked API key")
            return cached.caller
        generation = 0 if self.keys is None else self.keys.generation
        owner_id = await self.users.owner_of_key(key_id)
        found = None if owner_id is None else await self.users.get(owner_id)
        api_key = None if found is None else found[0].api_keys.get(key_id)
        if found is None or api_key is None or api_key.revoked:
            raise NotAuthenticated("unknown or revoked API key")
        if not hmac.compare_digest(digest, api_key.secret_sha256):
            raise NotAuthenticated("unknown or revoked API key")
        owner = found[0]
        if owner.is_locked(self._clock()):
            raise NotAuthenticated("the key's owner is locked")
        caller = caller_of_key(owner, api_key)
        if self.keys is not None and owner.locked_until is None:
            # A timed lock ends without an event, so the owner of one (past or present) is not cached.
            self.keys.put(key_id, owner.id, api_key.secret_sha256, caller, generation)
        return caller


def new_api_key() -> tuple[str, str, str]:
    """A fresh ``(key_id, secret, key)`` where key = ``crm_<id>_<secret>``, shown to its owner once."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return key_id, secret, f"{API_KEY_PREFIX}{key_id}_{secret}"
