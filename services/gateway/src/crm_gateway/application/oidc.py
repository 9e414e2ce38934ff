"""OIDC sign-in: the authorization code flow with PKCE (S256), per OpenID Connect Core 1.0 and RFC 8725.

Two parts:

- :class:`OidcProvider` speaks the protocol with one identity provider: discovery (cached), its JWKS
  (cached; fetched again for an unknown key id), the token request, and the ID token's validation.
  It knows nothing of the CRM.
- :class:`OidcSignIn` is the CRM's side: pending sign-ins in the read store (one-time, 10 minutes),
  the CRM user bound to the provider's ``(iss, sub)``, the session and the audit trail. It reuses the
  gateway's user creation (:meth:`UserCommands.create_user`) and sessions (:class:`Sessions`).

An OIDC user's id is derived from ``(iss, sub)`` (UUID v5), so finding the user needs no lookup
table, and the binding never depends on a name or an e-mail address the provider lets people change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
import jwt

from crm_gateway.application.access_groups import AccessGroupCommands
from crm_gateway.application.security import AccountLocked, Authenticator, SignedIn, sha256_hex
from crm_gateway.application.users import SYSTEM_ACTOR, Actor, UserCommands
from crm_gateway.domain import user as u
from crm_gateway.settings import GatewaySettings, is_allowed_url
from crm_shared.errors import AlreadyExists, DomainError
from crm_shared.identity import ROLES, Role
from crm_shared.readstore import Delete, Put, ReadStore

log = logging.getLogger(__name__)

FLOWS = "oidc_flows"
"""Read-store collection of pending sign-ins, keyed by the SHA-256 of their ``state``."""
FLOW_LIFETIME = timedelta(minutes=10)
LEEWAY_SECONDS = 60
"""Clock skew tolerated between the provider and the gateway for ``exp`` and ``iat``."""
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""The only ID-token algorithms accepted: never ``none``, never HS* (whose key would be public)."""
NO_PASSWORD = "!oidc"  # noqa: S105 - a marker that is not a hash, not a password
"""The password hash of an OIDC user: not an Argon2 hash, so no password ever verifies against it."""
_USER_NAMESPACE = uuid.UUID("0b8f3c1e-6f0a-4b9e-9d1a-3f5e2c7a8b41")
_CACHE_SECONDS = 3600.0
# An unknown key id refetches the JWKS (the provider rotated its keys), but at most this often, so
# forged tokens with random key ids cannot make the gateway hammer the provider.
_JWKS_REFETCH_SECONDS = 60.0
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MAX_GROUPS = 1000


class OidcError(Exception):
    """An OIDC sign-in failed; ``code`` is a short reason for the audit trail, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FlowInvalid(OidcError):
    """The callback does not belong to a sign-in this browser started (or it was used or expired)."""


class IdentityRejected(OidcError):
    """The provider refused the sign-in, or its answer did not pass validation."""


class ProviderUnavailable(OidcError):
    """The provider could not be reached or answered something unusable (misconfiguration)."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """What the gateway uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    """ID-token algorithms both the provider lists and :data:`ASYMMETRIC_ALGORITHMS` allow."""
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """Where to send the browser, and the secrets the callback is checked against."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def pkce_challenge(code_verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: dict[str, str]) -> str:
    # The authorization endpoint may carry a query of its own (RFC 6749 §3.1): keep it.
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _clip(text: object, limit: int = 200) -> str:
    return str(text)[:limit]


class OidcProvider:
    """One identity provider: discovery, keys, the token request and ID-token validation."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        redirect_uri: str,
        *,
        client_secret: str | None = None,
        scopes: str = "openid",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._client_secret = client_secret
        self._scopes = scopes
        self._monotonic = monotonic
        self._discovery: tuple[float, Discovery] | None = None
        self._jwks: tuple[float, list[dict[str, Any]]] | None = None

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise ProviderUnavailable("provider_unreachable", f"could not read the provider's {what}: {exc}") from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable("provider_invalid", f"the provider's {what} is not a JSON object")
        return body

    async def discovery(self) -> Discovery:
        """The provider's discovery document (cached for an hour)."""
        now = self._monotonic()
        if self._discovery is not None and now - self._discovery[0] < _CACHE_SECONDS:
            return self._discovery[1]
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        body = await self._get_json(url, "discovery document")
        # OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
        if body.get("issuer") != self.issuer:
            raise ProviderUnavailable("provider_invalid", "the discovery document names another issuer")
        endpoints = {k: body.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
        for key, value in endpoints.items():
            if not isinstance(value, str) or not is_allowed_url(value):
                raise ProviderUnavailable("provider_invalid", f"the discovery document has no usable {key}")
        # OIDC Core §3.1.3.7: RS256 is the default when the provider does not say.
        listed = body.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in listed if a in ASYMMETRIC_ALGORITHMS)
        if not algorithms:
            raise ProviderUnavailable("provider_invalid", "the provider signs ID tokens with no asymmetric algorithm")
        methods = body.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        found = Discovery(
            issuer=self.issuer,
            authorization_endpoint=str(endpoints["authorization_endpoint"]),
            token_endpoint=str(endpoints["token_endpoint"]),
            jwks_uri=str(endpoints["jwks_uri"]),
            algorithms=algorithms,
            token_auth_methods=tuple(str(m) for m in methods),
        )
        self._discovery = (now, found)
        return found

    async def authorization_request(self) -> AuthorizationRequest:
        """A fresh ``state``, ``nonce`` and PKCE verifier, and the provider URL that asks for a code."""
        discovery = await self.discovery()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)  # 86 unreserved characters: within RFC 7636's 43-128
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self._scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        return AuthorizationRequest(_with_query(discovery.authorization_endpoint, params), state, nonce, code_verifier)

    async def redeem(self, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the code for tokens and return the validated ID token's claims."""
        discovery = await self.discovery()
        id_token = await self._token_request(discovery, code, code_verifier)
        return await self.validate_id_token(id_token, nonce)

    async def _token_request(self, discovery: Discovery, code: str, code_verifier: str) -> str:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        auth: httpx.BasicAuth | None = None
        secret = self._client_secret
        if secret is None:
            data["client_id"] = self.client_id  # a public client: PKCE is its proof
        elif "client_secret_basic" in discovery.token_auth_methods:
            # RFC 6749 §2.3.1: id and secret are form-encoded before they go into Basic.
            auth = httpx.BasicAuth(quote_plus(self.client_id), quote_plus(secret))
        elif "client_secret_post" in discovery.token_auth_methods:
            data |= {"client_id": self.client_id, "client_secret": secret}
        else:
            raise ProviderUnavailable(
                "provider_invalid", "the provider supports neither client_secret_basic nor client_secret_post"
            )
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
                response = await client.post(
                    discovery.token_endpoint,
                    data=data,
                    auth=auth or httpx.USE_CLIENT_DEFAULT,
                    headers={"Accept": "application/json"},
                )
            body = response.json() if response.content else {}
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise ProviderUnavailable("provider_unreachable", f"the token request failed: {exc}") from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable("provider_invalid", "the token response is not a JSON object")
        if response.status_code in (400, 401) and "error" in body:
            # RFC 6749 §5.2, e.g. invalid_grant for a used code or a PKCE verifier that does not match.
            description = f": {_clip(body['error_description'])}" if body.get("error_description") else ""
            raise IdentityRejected(
                "token_refused", f"the identity provider refused the code ({_clip(body['error'], 60)}{description})"
            )
        if response.status_code != 200:
            raise ProviderUnavailable("provider_unreachable", f"the token endpoint answered {response.status_code}")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise IdentityRejected("no_id_token", "the token response has no ID token (is the 'openid' scope granted?)")
        return id_token

    async def _keys(self, discovery: Discovery, *, refresh: bool) -> list[dict[str, Any]]:
        now = self._monotonic()
        if self._jwks is not None:
            age = now - self._jwks[0]
            if age < (_JWKS_REFETCH_SECONDS if refresh else _CACHE_SECONDS):
                return self._jwks[1]
        body = await self._get_json(discovery.jwks_uri, "key set")
        keys = [k for k in body.get("keys", []) if isinstance(k, dict)]
        self._jwks = (now, keys)
        return keys

    async def _signing_key(self, discovery: Discovery, header: dict[str, Any]) -> jwt.PyJWK:
        alg, kid = str(header["alg"]), header.get("kid")
        for refresh in (False, True):
            candidates = [
                k
                for k in await self._keys(discovery, refresh=refresh)
                if k.get("use", "sig") == "sig" and (kid is None or k.get("kid") == kid) and k.get("alg", alg) == alg
            ]
            # Without a key id the key must be unambiguous (OIDC Core §10.1).
            if len(candidates) == 1 or (kid is not None and candidates):
                try:
                    # PyJWK with the algorithm refuses a key of another type (an RSA key for ES256).
                    return jwt.PyJWK(candidates[0], algorithm=alg)
                except jwt.PyJWTError as exc:
                    raise IdentityRejected("bad_key", f"the provider's key does not fit {alg}: {exc}") from exc
        raise IdentityRejected("unknown_key", "the ID token is signed with a key the provider does not publish")

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token that passes OIDC Core §3.1.3.7, else :class:`IdentityRejected`.

        Checks the signature with the issuer's published key and an algorithm the discovery lists
        (asymmetric only), ``iss``, ``aud`` (and ``azp``), ``exp`` and ``iat`` with a small leeway,
        and the ``nonce`` of this sign-in.
        """
        discovery = await self.discovery()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise IdentityRejected("malformed_token", f"the ID token is malformed: {exc}") from exc
        # Pinned before anything is verified (RFC 8725 §3.1): the token does not choose the algorithm.
        if header.get("alg") not in discovery.algorithms:
            raise IdentityRejected(
                "algorithm_refused", f"the ID token algorithm {_clip(header.get('alg'), 20)!r} is not allowed"
            )
        key = await self._signing_key(discovery, header)
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=[str(header["alg"])],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise IdentityRejected(_REASONS.get(type(exc), "invalid_token"), f"the ID token is invalid: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != self.client_id:
            raise IdentityRejected("wrong_audience", "the ID token was issued to another client (azp)")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
            raise IdentityRejected("nonce_mismatch", "the ID token's nonce is not this sign-in's")
        # A token issued long before this sign-in started cannot belong to it.
        if time.time() - float(claims["iat"]) > FLOW_LIFETIME.total_seconds() + LEEWAY_SECONDS:
            raise IdentityRejected("stale_token", "the ID token was issued too long ago")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not 0 < len(sub) <= 255:
            raise IdentityRejected("invalid_token", "the ID token's subject is not a string of 1-255 characters")
        return claims


_REASONS: dict[type[Exception], str] = {
    jwt.ExpiredSignatureError: "expired_token",
    jwt.ImmatureSignatureError: "immature_token",
    jwt.InvalidSignatureError: "bad_signature",
    jwt.InvalidAudienceError: "wrong_audience",
    jwt.InvalidIssuerError: "wrong_issuer",
    jwt.MissingRequiredClaimError: "missing_claim",
    jwt.DecodeError: "malformed_token",
}


@dataclass(frozen=True, slots=True)
class _ViaOidc(Actor):
    """An actor whose events say, in their metadata, that they came from an OIDC sign-in."""

    detail: str | None = None

    def metadata(self) -> dict[str, Any]:
        """The actor's metadata plus ``via: oidc`` and, for a failure, its reason."""
        # Actor.metadata(self), not super(): zero-argument super() breaks in slotted dataclasses.
        return {**Actor.metadata(self), "via": "oidc", **({"detail": self.detail} if self.detail else {})}


def oidc_user_id(issuer: str, subject: str) -> str:
    """The CRM user id bound to a provider's subject: the same for every sign-in, no lookup needed."""
    return str(uuid.uuid5(_USER_NAMESPACE, f"{issuer}\n{subject}"))


class OidcSignIn:
    """Starts and finishes OIDC sign-ins: pending flows, the bound user, the session, the audit trail."""

    def __init__(
        self,
        provider: OidcProvider,
        settings: GatewaySettings,
        users: UserCommands,
        auth: Authenticator,
        views: ReadStore,
        catalogue: AccessGroupCommands,
    ) -> None:
        self.provider = provider
        self._settings = settings
        self._users = users
        self._auth = auth
        self._views = views
        self._catalogue = catalogue
        self._prepared = False

    async def _prepare(self) -> None:
        if not self._prepared:
            await self._views.ensure_indexes(FLOWS, [])
            self._prepared = True

    def _check_rate(self, ip: str | None) -> None:
        # No username is known before the ID token is checked: the client address is the only key.
        self._auth.check_rate(ip, f"oidc:{ip or '-'}")

    async def start(self, ip: str | None) -> AuthorizationRequest:
        """A new sign-in: remembers its nonce and verifier under its ``state`` for 10 minutes."""
        self._check_rate(ip)
        await self._prepare()
        request = await self.provider.authorization_request()
        now = self._users.now()
        flow = {
            "_id": sha256_hex(request.state),
            "_version": 1,
            "nonce": request.nonce,
            "code_verifier": request.code_verifier,
            "expires_at": (now + FLOW_LIFETIME).isoformat(),
        }
        await self._views.apply([Put(FLOWS, flow)])
        return request

    async def finish(
        self,
        *,
        state: str | None,
        browser_state: str | None,
        code: str | None,
        error: str | None,
        ip: str | None,
    ) -> SignedIn:
        """Check the callback, redeem the code, find or create the user and open a session.

        ``browser_state`` is the state the browser kept in its cookie: a callback must come back to
        the browser that started it, so nobody can sign a victim in to the attacker's account.
        Raises :class:`OidcError` (recorded in the audit trail), :class:`AccountLocked` or
        :class:`~crm_gateway.application.security.RateLimited`.
        """
        self._check_rate(ip)
        try:
            claims = await self._verified_claims(state, browser_state, code, error)
            user, refused = await self._bound_user(claims, ip)
        except OidcError as exc:
            log.info("gateway: OIDC sign-in refused (%s): %s", exc.code, exc)
            # The password path's event, so the trail shows it next to them; why is in the metadata.
            failed = u.SignInFailed(username="(oidc)", user_id=None, reason="unknown_user")
            await self._users.record(failed, _ViaOidc(SYSTEM_ACTOR, ip, detail=exc.code))
            raise
        actor = _ViaOidc(user.id, ip)
        if user.is_locked(self._users.now()):
            await self._users.record(u.SignInFailed(username=user.username, user_id=user.id, reason="locked"), actor)
            raise AccountLocked(user.locked_until)
        token, csrf = await self._auth.sessions.create(user.id, ip)
        signed_in = u.SignedIn(user_id=user.id, username=user.username, groups_refused=refused or None)
        await self._users.record(signed_in, actor)
        return SignedIn(user, token, csrf)

    async def _verified_claims(
        self, state: str | None, browser_state: str | None, code: str | None, error: str | None
    ) -> dict[str, Any]:
        if not state or not browser_state or not hmac.compare_digest(state.encode(), browser_state.encode()):
            raise FlowInvalid("state_mismatch", "this sign-in was not started in this browser; start it again")
        await self._prepare()
        flow = await self._views.get(FLOWS, sha256_hex(state))
        # Deleting with the version guard lets exactly one callback use a state, even concurrently.
        if flow is None or not await self._views.apply([Delete(FLOWS, str(flow["_id"]), int(flow["_version"]) + 1)]):
            raise FlowInvalid("unknown_state", "this sign-in is unknown or was used already; start it again")
        if datetime.fromisoformat(str(flow["expires_at"])) <= self._users.now():
            raise FlowInvalid("expired_state", "this sign-in took longer than 10 minutes; start it again")
        if error:
            raise IdentityRejected("provider_error", f"the identity provider answered {_clip(error, 60)!r}")
        if not code:
            raise FlowInvalid("no_code", "the identity provider sent no authorization code")
        return await self.provider.redeem(code, str(flow["code_verifier"]), str(flow["nonce"]))

    async def _bound_user(self, claims: dict[str, Any], ip: str | None) -> tuple[u.User, list[str]]:
        """The user bound to the token (created at the first sign-in, its claimed grants applied) and
        the claimed access groups that were not granted because the catalogue has no active one."""
        user_id = oidc_user_id(str(claims["iss"]), str(claims["sub"]))
        roles = self._claimed_roles(claims)
        claimed = self._claimed_groups(claims)
        actor = _ViaOidc(user_id, ip)
        found = await self._users.get(user_id)
        groups, refused = (None, []) if claimed is None else await self._catalogued(claimed, found)
        if found is None:
            return await self._create(user_id, claims, roles, groups, actor), refused
        if roles is None and groups is None:
            return found[0], refused
        # A configured claim makes the provider the source of truth: each sign-in applies it (a
        # grant is recorded only when something changed).
        command = u.UpdateUser(
            user_id,
            self._users.now(),
            roles=None if roles is None else frozenset(roles),
            groups=None if groups is None else frozenset(groups),
        )
        return (await self._users.apply(command, actor)).state, refused

    async def _catalogued(self, claimed: list[str], found: tuple[u.User, int] | None) -> tuple[list[str], list[str]]:
        """The claimed groups split into those granted and those refused: a group is granted when it
        is active in the catalogue, or retired but already held (as when an administrator grants:
        what a user held before stays, only new grants are checked). The refusal is logged with its
        count only (group names an identity provider sends may name people) and recorded in the
        audit trail on the sign-in."""
        held = found[0].groups if found is not None else frozenset()
        granted: list[str] = []
        refused: list[str] = []
        for code in claimed:
            entry = await self._catalogue.get(code)
            active = entry is not None and (not entry[0].retired or code in held)
            (granted if active else refused).append(code)
        if refused:
            log.warning(
                "gateway: OIDC sign-in: %d access group(s) in the token are not active in the catalogue; "
                "not granted (the audit trail names them)",
                len(refused),
            )
        return granted, refused

    async def _create(
        self,
        user_id: str,
        claims: dict[str, Any],
        roles: list[Role] | None,
        groups: list[str] | None,
        actor: Actor,
    ) -> u.User:
        fallback = "oidc-" + hashlib.sha256(user_id.encode()).hexdigest()[:20]
        candidates = [c for c in (claims.get("email"), claims.get("preferred_username")) if isinstance(c, str)]
        usernames = [c for c in candidates if u.USERNAME_PATTERN.match(c)] + [fallback]
        for username in dict.fromkeys(usernames):
            # A name someone already holds is skipped, never merged: an e-mail claim proves no
            # ownership of a CRM account.
            if username != fallback and await self._users.user_id_of(username) is not None:
                continue
            try:
                result = await self._users.create_user(
                    username=username,
                    name=_display_name(claims, username),
                    password_hash=NO_PASSWORD,
                    roles=self._settings.oidc_default_roles if roles is None else roles,
                    groups=groups or [],
                    language=_language(claims),
                    actor=actor,
                    user_id=user_id,
                )
            except AlreadyExists:
                # A concurrent first sign-in of the same person won the race: use its user.
                found = await self._users.get(user_id)
                if found is not None:
                    return found[0]
                continue
            except DomainError as exc:
                raise IdentityRejected(
                    "unusable_claims", f"the provider's claims do not make a valid user: {exc}"
                ) from exc
            log.info("gateway: created user %r at their first OIDC sign-in", username)
            return result.state
        raise IdentityRejected("username_taken", "no free username for this person; ask an administrator")

    def _claimed_roles(self, claims: dict[str, Any]) -> list[Role] | None:
        """The known roles in the configured roles claim (unknown names dropped), or None without one."""
        name = self._settings.oidc_roles_claim
        if not name:
            return None
        return [r for r in ROLES if r in _names(claims.get(name))]

    def _claimed_groups(self, claims: dict[str, Any]) -> list[str] | None:
        """The valid access groups in the configured groups claim, or None without one."""
        name = self._settings.oidc_groups_claim
        if not name:
            return None
        return sorted(g for g in _names(claims.get(name)) if u.GROUP_PATTERN.match(g))[:_MAX_GROUPS]


def _names(value: object) -> set[str]:
    """A claim holding names: a list of strings, or one string (space-separated)."""
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, Sequence):
        return {v for v in value if isinstance(v, str)}
    return set()


def _display_name(claims: dict[str, Any], username: str) -> str:
    given, family = claims.get("given_name"), claims.get("family_name")
    joined = " ".join(p for p in (given, family) if isinstance(p, str))
    for candidate in (claims.get("name"), joined, claims.get("preferred_username"), claims.get("email")):
        if isinstance(candidate, str) and candidate.split():
            return " ".join(candidate.split())[:200]
    return username


def _language(claims: dict[str, Any]) -> u.Language:
    locale = claims.get("locale")
    prefix = locale.replace("_", "-").split("-")[0].lower() if isinstance(locale, str) else ""
    for language in u.LANGUAGES:
        if prefix == language:
            return language
    return "bg"  # the default of users an administrator creates
