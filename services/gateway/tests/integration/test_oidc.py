"""OIDC sign-in against a real (tiny) identity provider: a FastAPI app served by uvicorn on a free
loopback port, with an RSA key made here. Nothing of httpx or PyJWT is mocked: the gateway fetches
discovery and keys and redeems codes over HTTP, and the browser's redirects are followed by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlencode, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from crm_gateway.application.oidc import NO_PASSWORD, oidc_user_id
from crm_gateway.domain import user as u
from crm_gateway.entrypoints.identity import PUBLIC_PREFIXES, IdentityForwarding
from crm_gateway.entrypoints.oidc import PUBLIC_PATHS, STATE_COOKIE, build_oidc_router
from crm_gateway.entrypoints.oidc import PUBLIC_PREFIXES as OIDC_PREFIXES

CLIENT_ID = "crm"
CLIENT_SECRET = "client-secret-1"
GATEWAY = "http://gateway.test"
REDIRECT_URI = f"{GATEWAY}/auth/oidc/callback"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """An OIDC provider that consents at once. ``mode`` makes it misbehave in one chosen way."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.issuer = ""
        self.mode = "ok"
        self.claims: dict[str, Any] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.token_requests = 0
        self.app = self._app()

    def reset(self) -> None:
        self.mode = "ok"
        self.claims = {"sub": "ada-1", "name": "Ada Lovelace", "email": "ada@example.com", "locale": "en-GB"}
        self.codes.clear()
        self.token_requests = 0

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce, **self.claims}
        match self.mode:
            case "wrong_audience":
                claims["aud"] = "another-client"
            case "expired":
                claims |= {"iat": now - 7200, "exp": now - 3600}
            case "nonce_mismatch":
                claims["nonce"] = "not-the-nonce"
            case "wrong_issuer":
                claims["iss"] = "https://evil.example"
        if self.mode in ("alg_none", "hs256_with_public_key"):
            alg = "none" if self.mode == "alg_none" else "HS256"
            signing_input = f"{_b64(json.dumps({'alg': alg, 'typ': 'JWT', 'kid': self.kid}).encode())}."
            signing_input += _b64(json.dumps(claims).encode())
            # HS256 "signed" with the public key: the classic key-confusion attack (RFC 8725 §2.1).
            signature = b"" if alg == "none" else hmac.digest(self.public_pem(), signing_input.encode(), "sha256")
            return f"{signing_input}.{_b64(signature)}"
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        if self.mode == "tampered":
            head, body, sig = token.split(".")
            middle = len(sig) // 2
            flipped = "A" if sig[middle] != "A" else "B"
            token = f"{head}.{body}.{sig[:middle]}{flipped}{sig[middle + 1 :]}"
        return token

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
            assert q["redirect_uri"] == REDIRECT_URI and q["code_challenge_method"] == "S256"
            assert "openid" in q["scope"].split()
            code = secrets.token_urlsafe(16)
            challenge = q["code_challenge"] if self.mode != "pkce_mismatch" else _b64(hashlib.sha256(b"x").digest())
            self.codes[code] = {"challenge": challenge, "nonce": q["nonce"], "redirect_uri": q["redirect_uri"]}
            query = urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            self.token_requests += 1
            form = dict(parse_qsl((await request.body()).decode()))
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            client_id, _, secret = (
                base64.b64decode(credentials).decode().partition(":") if credentials else ("", "", "")
            )
            if scheme != "Basic" or (unquote_plus(client_id), unquote_plus(secret)) != (CLIENT_ID, CLIENT_SECRET):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(form.get("code", ""), None)  # one-time
            if form.get("grant_type") != "authorization_code" or grant is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest()) != grant["challenge"]:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "PKCE verification failed"}, status_code=400
                )
            return JSONResponse(
                {
                    "access_token": "at",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": self.id_token(grant["nonce"]),
                }
            )

        return app


@pytest.fixture(scope="module")
def running_provider() -> Iterator[Provider]:
    provider = Provider()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    provider.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(provider.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test provider did not start"
        time.sleep(0.02)
    yield provider
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def provider(running_provider: Provider) -> Provider:
    running_provider.reset()
    return running_provider


class Browser:
    """A browser on the gateway (own cookie jar) that follows the sign-in redirects by hand."""

    def __init__(self, gw: Any, provider: Provider) -> None:
        outer = IdentityForwarding(
            gw.app,
            lambda: gw.app.state.gateway,
            gw.tokens,
            # What the lead adds to the middleware's lists (see entrypoints/oidc.py).
            public_prefixes=(*PUBLIC_PREFIXES, *OIDC_PREFIXES, *PUBLIC_PATHS),
        )
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url=GATEWAY)
        self.provider = provider

    async def start(self) -> str:
        """Start a sign-in and let the provider consent; returns the callback URL it redirects to."""
        login = await self.client.get("/auth/oidc/login")
        assert login.status_code == 302, login.text
        assert login.headers["cache-control"] == "no-store"
        authorize = login.headers["location"]
        assert authorize.startswith(f"{self.provider.issuer}/authorize?")
        params = parse_qs(urlsplit(authorize).query)
        assert len(params["code_challenge"][0]) == 43 and params["code_challenge_method"] == ["S256"]
        assert params["state"] and params["nonce"] and params["state"] != params["nonce"]
        async with httpx.AsyncClient() as idp:
            consent = await idp.get(authorize)
        assert consent.status_code == 302, consent.text
        callback = consent.headers["location"]
        assert callback.startswith(REDIRECT_URI)
        return str(callback)

    async def sign_in(self) -> httpx.Response:
        """The whole round trip: login → provider → callback."""
        return await self.client.get(await self.start())

    async def me(self) -> httpx.Response:
        return await self.client.get("/api/v1/me")


@pytest.fixture
async def oidc_gw(make_gateway: Any, provider: Provider) -> Any:
    return await start_gateway(make_gateway, provider)


async def start_gateway(make_gateway: Any, provider: Provider, **settings: Any) -> Any:
    gw = await make_gateway(
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_redirect_uri=REDIRECT_URI,
        **settings,
    )
    gw.app.include_router(build_oidc_router(gw.service))
    return gw


@pytest.fixture
async def browsers(oidc_gw: Any, provider: Provider) -> AsyncIterator[list[Browser]]:
    made = [Browser(oidc_gw, provider) for _ in range(2)]
    yield made
    for browser in made:
        await browser.client.aclose()


async def audit_of(gw: Any, user_id: str | None = None) -> list[dict[str, Any]]:
    csrf = await gw.admin()
    assert csrf
    query = f"?user={user_id}&limit=100" if user_id else "?limit=100"
    response = await gw.client.get(f"/api/v1/audit{query}")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_first_sign_in_creates_the_user_and_the_second_reuses_it(
    oidc_gw: Any, browsers: list[Browser], provider: Provider
) -> None:
    first, second = browsers
    response = await first.sign_in()
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/"
    assert first.client.cookies.get("crm_session")
    assert first.client.cookies.get(STATE_COOKIE) is None  # one-time: forgotten at the callback
    me = (await first.me()).json()
    assert me["id"] == oidc_user_id(provider.issuer, "ada-1")
    assert (me["username"], me["name"], me["roles"], me["language"]) == (
        "ada@example.com",
        "Ada Lovelace",
        ["read_only"],
        "en",
    )

    provider.claims["name"] = "Ada King"  # the binding is (iss, sub), not anything else in the token
    assert (await second.sign_in()).status_code == 302
    assert (await second.me()).json()["id"] == me["id"]
    users = (await oidc_gw.service.queries.users(limit=100)).items
    assert sorted(d["username"] for d in users) == ["ada@example.com", "admin"]

    # The audit trail shows the creation, the grants and both sign-ins; the log says "via OIDC".
    actions = [e["action"] for e in await audit_of(oidc_gw, me["id"])]
    assert actions.count("signed_in") == 2 and "user_created" in actions and "roles_granted" in actions
    day = await oidc_gw.service.store.read_stream(u.audit_stream(oidc_gw.clock()))
    signed_in = [e for e in day if e.type == "gateway.SignedIn" and e.data["user_id"] == me["id"]]
    assert [e.metadata.get("via") for e in signed_in] == ["oidc", "oidc"]


async def test_an_oidc_user_has_no_password(oidc_gw: Any, browsers: list[Browser]) -> None:
    assert (await browsers[0].sign_in()).status_code == 302
    user = (await browsers[0].me()).json()
    stored = await oidc_gw.service.users.get(user["id"])
    assert stored[0].password_hash == NO_PASSWORD
    for password in ("", NO_PASSWORD, "not a password of anyone"):
        body = {"username": user["username"], "password": password or "x"}
        assert (await oidc_gw.client.post("/api/v1/session", json=body)).status_code == 401


async def test_a_taken_username_is_never_merged(oidc_gw: Any, browsers: list[Browser], provider: Provider) -> None:
    csrf = await oidc_gw.admin()
    existing = await oidc_gw.create_user(csrf, "ada@example.com", roles=["administrator"])
    assert (await browsers[0].sign_in()).status_code == 302
    me = (await browsers[0].me()).json()
    assert me["id"] != existing["id"] and me["roles"] == ["read_only"]
    assert me["username"].startswith("oidc-")


async def test_roles_and_groups_come_from_the_configured_claims(make_gateway: Any, provider: Provider) -> None:
    gw = await start_gateway(make_gateway, provider, oidc_roles_claim="crm_roles", oidc_groups_claim="groups")
    await gw.define_groups(await gw.admin(), "north", "south")
    browser = Browser(gw, provider)
    provider.claims |= {"crm_roles": ["sales_manager", "superuser"], "groups": ["north", "south"]}
    assert (await browser.sign_in()).status_code == 302
    me = (await browser.me()).json()
    assert (me["roles"], me["groups"]) == (["sales_manager"], ["north", "south"])
    # The provider is the source of truth for what it is configured to send: a revocation applies.
    provider.claims |= {"crm_roles": "read_only", "groups": ["north"]}
    assert (await browser.sign_in()).status_code == 302
    me = (await browser.me()).json()
    assert (me["roles"], me["groups"]) == (["read_only"], ["north"])
    await browser.client.aclose()


async def test_groups_outside_the_active_catalogue_are_never_granted(
    make_gateway: Any, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await start_gateway(make_gateway, provider, oidc_groups_claim="groups")
    csrf = await gw.admin()
    await gw.define_groups(csrf, "north", "south", "east")
    retire = await gw.client.patch("/api/v1/access-groups/east", json={"retired": True}, headers={"X-CSRF-Token": csrf})
    assert retire.status_code == 200, retire.text
    browser = Browser(gw, provider)
    # "nrth" is a typo the catalogue does not know; "east" is retired: neither is granted.
    provider.claims |= {"groups": ["north", "nrth", "east"]}
    with caplog.at_level("WARNING", logger="crm_gateway.application.oidc"):
        assert (await browser.sign_in()).status_code == 302
    me = (await browser.me()).json()
    assert me["groups"] == ["north"]
    # The audit trail names what was refused, on the sign-in; the log says how many, naming nobody.
    signed_in = [e for e in await audit_of(gw, me["id"]) if e["action"] == "signed_in"]
    assert signed_in[0]["details"]["groups_refused"] == ["east", "nrth"]
    warnings = [r.getMessage() for r in caplog.records if "catalogue" in r.getMessage()]
    assert len(warnings) == 1 and "2 access group(s)" in warnings[0]
    for private in ("nrth", "east", me["id"], me["username"], "Ada"):
        assert private not in warnings[0]
    # An existing user: a group granted while active stays when it is retired later (what a user held
    # before stays, as when an administrator grants); a group that is retired now is not newly granted.
    provider.claims |= {"groups": ["north", "south"]}
    assert (await browser.sign_in()).status_code == 302
    assert (await browser.me()).json()["groups"] == ["north", "south"]
    csrf = await gw.admin()  # audit_of signed in again
    retired = await gw.client.patch(
        "/api/v1/access-groups/south", json={"retired": True}, headers={"X-CSRF-Token": csrf}
    )
    assert retired.status_code == 200, retired.text
    provider.claims |= {"groups": ["north", "south", "east"]}
    assert (await browser.sign_in()).status_code == 302
    assert (await browser.me()).json()["groups"] == ["north", "south"]
    # A sign-in where everything claimed is catalogued leaves nothing refused in the trail.
    provider.claims |= {"groups": ["north"]}
    assert (await browser.sign_in()).status_code == 302
    assert (await browser.me()).json()["groups"] == ["north"]
    latest = next(e for e in await audit_of(gw, me["id"]) if e["action"] == "signed_in")
    assert "groups_refused" not in latest["details"]
    await browser.client.aclose()


async def test_providers_tell_the_ui_whether_sso_is_on(
    make_gateway: Any, browsers: list[Browser], provider: Provider
) -> None:
    on = await browsers[0].client.get("/api/v1/auth/providers")
    assert on.json() == {"password": True, "oidc": True, "oidc_login_url": "/auth/oidc/login"}
    plain = await make_gateway()
    plain.app.include_router(build_oidc_router(plain.service))
    browser = Browser(plain, provider)
    assert (await browser.client.get("/api/v1/auth/providers")).json()["oidc"] is False
    off = await browser.client.get("/auth/oidc/login")
    assert off.status_code == 404 and off.headers["content-type"] == "application/problem+json"
    await browser.client.aclose()


async def test_a_wrong_or_reused_state_is_rejected(oidc_gw: Any, browsers: list[Browser], provider: Provider) -> None:
    browser = browsers[0]
    callback = await browser.start()
    query = dict(parse_qsl(urlsplit(callback).query))
    forged = await browser.client.get("/auth/oidc/callback", params={**query, "state": "forged-state"})
    assert forged.status_code == 400 and "not started in this browser" in forged.json()["detail"]
    assert provider.token_requests == 0  # nothing reached the provider

    # Another browser cannot finish this browser's sign-in (login CSRF).
    other = await browsers[1].client.get(callback)
    assert other.status_code == 400

    # Used once...
    browser.client.cookies.set(STATE_COOKIE, query["state"], domain="gateway.test", path="/auth/oidc/")
    assert (await browser.client.get(callback)).status_code == 302
    # ...and never again, even with the state cookie put back.
    browser.client.cookies.set(STATE_COOKIE, query["state"], domain="gateway.test", path="/auth/oidc/")
    replay = await browser.client.get(callback)
    assert replay.status_code == 400 and "used already" in replay.json()["detail"]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("tampered", "Signature verification failed"),
        ("wrong_audience", "Audience doesn't match"),
        ("expired", "Signature has expired"),
        ("nonce_mismatch", "nonce"),
        ("alg_none", "'none' is not allowed"),
        ("hs256_with_public_key", "'HS256' is not allowed"),
        ("wrong_issuer", "Invalid issuer"),
        ("pkce_mismatch", "PKCE verification failed"),
    ],
)
async def test_a_bad_answer_from_the_provider_is_rejected(
    oidc_gw: Any, browsers: list[Browser], provider: Provider, mode: str, reason: str
) -> None:
    provider.mode = mode
    response = await browsers[0].sign_in()
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.json()["detail"]
    assert browsers[0].client.cookies.get("crm_session") is None
    assert (await browsers[0].me()).status_code == 401
    assert not [d for d in (await oidc_gw.service.queries.users(limit=100)).items if d["username"] != "admin"]
    failures = [e for e in await audit_of(oidc_gw) if e["action"] == "sign_in_failed"]
    assert len(failures) == 1 and failures[0]["username"] == "(oidc)"


async def test_a_provider_error_and_an_unreachable_provider_are_reported(
    make_gateway: Any, oidc_gw: Any, browsers: list[Browser], provider: Provider
) -> None:
    callback = await browsers[0].start()
    state = dict(parse_qsl(urlsplit(callback).query))["state"]
    denied = await browsers[0].client.get("/auth/oidc/callback", params={"state": state, "error": "access_denied"})
    assert denied.status_code == 401 and "access_denied" in denied.json()["detail"]

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gw = await make_gateway(oidc_issuer=f"http://127.0.0.1:{port}", oidc_client_id=CLIENT_ID)
    gw.app.include_router(build_oidc_router(gw.service))
    browser = Browser(gw, provider)
    down = await browser.client.get("/auth/oidc/login")
    assert down.status_code == 502 and down.headers["content-type"] == "application/problem+json"
    await browser.client.aclose()


async def test_a_locked_user_cannot_sign_in_with_oidc(oidc_gw: Any, browsers: list[Browser]) -> None:
    assert (await browsers[0].sign_in()).status_code == 302
    user_id = (await browsers[0].me()).json()["id"]
    csrf = await oidc_gw.admin()
    locked = await oidc_gw.client.patch(
        f"/api/v1/users/{user_id}", json={"locked": True}, headers={"X-CSRF-Token": csrf}
    )
    assert locked.status_code == 200, locked.text
    assert (await browsers[1].sign_in()).status_code == 423
    assert browsers[1].client.cookies.get("crm_session") is None
