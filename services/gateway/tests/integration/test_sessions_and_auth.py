"""Sign-in, sessions, lock-out, rate limits, CSRF and the identity middleware, over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt

from crm_gateway.bootstrap import build, ensure_initial_admin
from crm_gateway.settings import GatewaySettings
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.settings import KernelSettings

SIGN_IN = "/api/v1/session"


async def test_initial_admin_is_created_once_with_a_generated_password(tmp_path: Path) -> None:
    from argon2 import PasswordHasher

    settings = KernelSettings(data_dir=tmp_path / "var")
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    service = await build(settings, GatewaySettings(admin_password=None), hasher=hasher)
    try:
        generated = await ensure_initial_admin(service, None)
        assert generated is not None and len(generated) >= 10
        assert await ensure_initial_admin(service, None) is None
        assert await ensure_initial_admin(service, "another-password") is None
        signed = await service.auth.sign_in("admin", generated, "127.0.0.1")
        assert signed.user.roles == {"administrator"}
    finally:
        await service.close()
    # Idempotent across restarts too.
    service = await build(settings, GatewaySettings(admin_password=None), hasher=hasher)
    try:
        assert await ensure_initial_admin(service, None) is None
        assert (await service.queries.users()).items[0]["username"] == "admin"
    finally:
        await service.close()


async def test_sign_in_sets_an_http_only_same_site_cookie_and_me_works(gw: Any) -> None:
    response = await gw.client.post(SIGN_IN, json={"username": "admin", "password": gw.admin_password})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("crm_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["csrf_token"] and body["user"]["username"] == "admin"
    assert "password" not in response.text

    me = await gw.client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "admin"
    assert me.json()["roles"] == ["administrator"]
    assert "users:admin" in me.json()["permissions"]
    assert set(me.json()) == {"id", "username", "name", "roles", "groups", "permissions", "language", "csrf_token"}
    # The session's own CSRF token, for a page that did not see the sign-in answer (new tab, OIDC).
    assert me.json()["csrf_token"] == body["csrf_token"]


async def test_secure_cookies_setting_marks_the_cookie_secure(make_gateway: Any) -> None:
    gw = await make_gateway(secure_cookies=True)
    response = await gw.client.post(SIGN_IN, json={"username": "admin", "password": gw.admin_password})
    assert "Secure" in response.headers["set-cookie"]


async def test_sign_out_ends_the_session(gw: Any) -> None:
    csrf = await gw.admin()
    token = gw.client.cookies["crm_session"]
    response = await gw.client.delete(SIGN_IN, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert (await gw.client.get("/api/v1/me")).status_code == 401
    # The old cookie value is dead, not just forgotten by the browser.
    async with gw.new_client() as other:
        other.cookies.set("crm_session", token)
        assert (await other.get("/api/v1/me")).status_code == 401


async def test_wrong_password_and_unknown_user_get_the_same_401(gw: Any) -> None:
    wrong = await gw.client.post(SIGN_IN, json={"username": "admin", "password": "wrong-password"})
    unknown = await gw.client.post(SIGN_IN, json={"username": "nobody", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


async def _wrong(client: Any, username: str) -> Any:
    return await client.post(SIGN_IN, json={"username": username, "password": "not-the-password"})


async def test_wrong_passwords_slow_down_their_source_with_growing_audited_delays(gw: Any) -> None:
    csrf = await gw.admin()
    await gw.create_user(csrf, "ivan", "ivan-password-1")
    async with gw.new_client(ip="203.0.113.7") as attacker:
        for _ in range(4):  # signin_free_failures=4: the 4th failure starts a 2 s delay
            assert (await _wrong(attacker, "ivan")).status_code == 401
        throttled = await attacker.post(SIGN_IN, json={"username": "ivan", "password": "ivan-password-1"})
        assert throttled.status_code == 429, "even the right password waits: the delay is the point"
        assert throttled.headers["retry-after"] == "2"
        assert throttled.headers["content-type"].startswith("application/problem+json")
        gw.clock.advance(seconds=2)
        assert (await _wrong(attacker, "ivan")).status_code == 401
        assert (await attacker.post(SIGN_IN, json={"username": "ivan", "password": "x" * 12})).headers[
            "retry-after"
        ] == "4", "each further failure doubles the delay"
        for _ in range(12):  # ... up to the ceiling of 15 minutes
            gw.clock.advance(minutes=20)
            assert (await _wrong(attacker, "ivan")).status_code == 401
        assert (await _wrong(attacker, "ivan")).headers["retry-after"] == str(15 * 60)

    audit = (await gw.client.get("/api/v1/audit", params={"limit": 100})).json()["items"]
    failed = [e for e in audit if e["action"] == "sign_in_failed" and e["username"] == "ivan"]
    reasons = [e["details"]["reason"] for e in failed]
    assert reasons.count("wrong_password") == 17 and reasons.count("throttled") == 3
    assert all(e["ip"] == "203.0.113.7" for e in failed)
    assert not [e for e in audit if e["action"] == "user_locked"], "wrong passwords never lock the account"


async def test_the_owner_signs_in_from_elsewhere_and_keeps_api_keys_while_an_address_is_throttled(gw: Any) -> None:
    csrf = await gw.admin()
    await gw.create_user(csrf, "maria", "maria-password", roles=["sales_manager"])
    async with gw.new_client(ip="198.51.100.1") as owner:
        owner_csrf = await gw.sign_in(owner, "maria", "maria-password")
        issued = await owner.post(
            "/api/v1/api-keys", json={"name": "ERP", "roles": ["read_only"]}, headers={"X-CSRF-Token": owner_csrf}
        )
        assert issued.status_code == 201, issued.text
        bearer = {"Authorization": f"Bearer {issued.json()['key']}"}
        async with gw.new_client(ip="203.0.113.9") as attacker:
            for _ in range(10):
                await _wrong(attacker, "maria")
            assert (await _wrong(attacker, "maria")).status_code == 429
        assert (await owner.get("/api/v1/me", headers=bearer)).status_code == 200, "the key still works"
        assert (await owner.get("/api/v1/me")).status_code == 200, "the session still works"
        await gw.sign_in(owner, "maria", "maria-password")
        users = (await gw.client.get("/api/v1/users", params={"q": "maria"})).json()["items"]
        assert users[0]["locked"] is False


async def test_unknown_usernames_are_throttled_exactly_like_known_ones(gw: Any) -> None:
    async with gw.new_client(ip="203.0.113.10") as prober:
        known = [(await _wrong(prober, "admin")) for _ in range(6)]
        unknown = [(await _wrong(prober, "nobody-here")) for _ in range(6)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 4 + [429] * 2
    assert [r.json() for r in known] == [r.json() for r in unknown]
    assert [r.headers.get("retry-after") for r in known] == [r.headers.get("retry-after") for r in unknown]


async def test_a_success_or_an_administrator_forgets_the_failures(gw: Any) -> None:
    csrf = await gw.admin()
    user = await gw.create_user(csrf, "petar", "petar-password")
    async with gw.new_client(ip="192.0.2.5") as browser:
        for _ in range(3):
            assert (await _wrong(browser, "petar")).status_code == 401
        await gw.sign_in(browser, "petar", "petar-password")
        for _ in range(3):
            assert (await _wrong(browser, "petar")).status_code == 401, "the success started a new count"
        assert (await _wrong(browser, "petar")).status_code == 401
        assert (await _wrong(browser, "petar")).status_code == 429
        response = await gw.client.patch(
            f"/api/v1/users/{user['id']}", json={"locked": False}, headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 200
        await gw.sign_in(browser, "petar", "petar-password")


async def test_an_administrator_locks_and_unlocks_an_account(gw: Any) -> None:
    csrf = await gw.admin()
    user = await gw.create_user(csrf, "elena", "elena-password")
    locked = await gw.client.patch(f"/api/v1/users/{user['id']}", json={"locked": True}, headers={"X-CSRF-Token": csrf})
    assert locked.status_code == 200 and locked.json()["locked"] is True
    async with gw.new_client() as browser:
        refused = await browser.post(SIGN_IN, json={"username": "elena", "password": "elena-password"})
        assert refused.status_code == 423
        response = await gw.client.patch(
            f"/api/v1/users/{user['id']}", json={"locked": False}, headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 200 and response.json()["locked"] is False
        await gw.sign_in(browser, "elena", "elena-password")


async def test_sign_in_is_rate_limited_with_retry_after(make_gateway: Any) -> None:
    gw = await make_gateway(signin_rate_per_minute=3)
    for i in range(3):
        response = await gw.client.post(SIGN_IN, json={"username": f"someone{i}", "password": "whatever-pass"})
        assert response.status_code == 401
    limited = await gw.client.post(SIGN_IN, json={"username": "admin", "password": gw.admin_password})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


async def test_sessions_end_after_the_idle_timeout(gw: Any) -> None:
    await gw.admin()
    gw.clock.advance(hours=7)
    assert (await gw.client.get("/api/v1/me")).status_code == 200  # using it pushes the expiry on
    gw.clock.advance(hours=7)
    assert (await gw.client.get("/api/v1/me")).status_code == 200
    gw.clock.advance(hours=8, seconds=1)
    assert (await gw.client.get("/api/v1/me")).status_code == 401


async def test_csrf_token_is_required_for_cookie_authenticated_unsafe_requests(gw: Any) -> None:
    csrf = await gw.admin()
    missing = await gw.client.post("/api/v1/test/echo")
    assert missing.status_code == 403
    assert missing.json()["errors"][0]["field"] == "X-CSRF-Token"
    assert (await gw.client.post("/api/v1/test/echo", headers={"X-CSRF-Token": "guess"})).status_code == 403
    assert (await gw.client.patch("/api/v1/me", json={"language": "bg"})).status_code == 403
    ok = await gw.client.post("/api/v1/test/echo", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert (await gw.client.get("/api/v1/test/whoami")).status_code == 200  # safe methods need none


async def test_every_endpoint_but_health_and_sign_in_rejects_anonymous_calls(gw: Any) -> None:
    # Every operation of the OpenAPI document (the routes as the app serves them).
    public = {("GET", "/health"), ("POST", SIGN_IN)}
    checked = 0
    for template, operations in gw.app.openapi()["paths"].items():
        path = template.replace("{user_id}", "u-1").replace("{key_id}", "abc123")
        for method in operations:
            method = method.upper()
            response = await gw.client.request(method, path, json={})
            if (method, template) in public:
                assert response.status_code != 401, (method, path)
                continue
            checked += 1
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.headers["content-type"].startswith("application/problem+json")
    assert checked >= 16


async def test_forged_caller_headers_from_outside_are_stripped(gw: Any) -> None:
    admin_token = gw.tokens.issue(caller_of("admin-id", ["administrator"]))
    # Even a correctly signed token is not accepted from outside the gateway.
    response = await gw.client.get("/api/v1/users", headers={CALLER_HEADER: admin_token})
    assert response.status_code == 401

    csrf = await gw.admin()
    await gw.create_user(csrf, "reader", "reader-password", roles=["read_only"])
    async with gw.new_client() as reader:
        await gw.sign_in(reader, "reader", "reader-password")
        response = await reader.get("/api/v1/users", headers={CALLER_HEADER: admin_token})
        assert response.status_code == 403
        whoami = await reader.get("/api/v1/test/whoami", headers={CALLER_HEADER: admin_token})
        assert whoami.json()["user_id"] != "admin-id"


async def test_routes_reject_tampered_expired_and_unsigned_caller_tokens(gw: Any) -> None:
    """The gateway's routes verify the caller token like every service (seen without the middleware)."""
    caller = caller_of("someone", ["administrator"])
    valid = gw.tokens.issue(caller)
    assert (await gw.bare.get("/api/v1/roles", headers={CALLER_HEADER: valid})).status_code == 200

    header, payload, signature = valid.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    expired = CallerTokens(b"s" * 48, ttl_seconds=-1).issue(caller)
    foreign = CallerTokens(b"f" * 48).issue(caller)
    claims = jwt.decode(valid, options={"verify_signature": False})
    unsigned = jwt.encode(claims, key="", algorithm="none")
    for token in (tampered, expired, foreign, unsigned, "garbage", ""):
        response = await gw.bare.get("/api/v1/roles", headers={CALLER_HEADER: token})
        assert response.status_code == 401, token
        response = await gw.bare.get("/api/v1/me", headers={CALLER_HEADER: token})
        assert response.status_code == 401, token


async def test_changing_ones_password_ends_other_sessions(gw: Any) -> None:
    csrf = await gw.admin()
    await gw.create_user(csrf, "petar", "petar-password")
    async with gw.new_client() as laptop, gw.new_client() as phone:
        laptop_csrf = await gw.sign_in(laptop, "petar", "petar-password")
        await gw.sign_in(phone, "petar", "petar-password")
        wrong = await laptop.post(
            "/api/v1/me/password",
            json={"current_password": "not-the-password", "new_password": "new-password-1"},
            headers={"X-CSRF-Token": laptop_csrf},
        )
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
        short = await laptop.post(
            "/api/v1/me/password",
            json={"current_password": "petar-password", "new_password": "short"},
            headers={"X-CSRF-Token": laptop_csrf},
        )
        assert short.status_code == 422 and short.json()["errors"][0]["field"] == "new_password"
        ok = await laptop.post(
            "/api/v1/me/password",
            json={"current_password": "petar-password", "new_password": "new-password-1"},
            headers={"X-CSRF-Token": laptop_csrf},
        )
        assert ok.status_code == 204
        assert (await laptop.get("/api/v1/me")).status_code == 200
        assert (await phone.get("/api/v1/me")).status_code == 401
    async with gw.new_client() as browser:
        old = await browser.post(SIGN_IN, json={"username": "petar", "password": "petar-password"})
        assert old.status_code == 401
        await gw.sign_in(browser, "petar", "new-password-1")


async def test_me_can_change_name_and_language(gw: Any) -> None:
    csrf = await gw.admin()
    response = await gw.client.patch(
        "/api/v1/me", json={"name": "Главен администратор", "language": "bg"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    me = (await gw.client.get("/api/v1/me")).json()
    assert me["name"] == "Главен администратор" and me["language"] == "bg"
    bad = await gw.client.patch("/api/v1/me", json={"language": "de", "roles": []}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"language", "roles"}
