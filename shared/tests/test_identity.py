"""Caller tokens: what a service accepts from the gateway, and what it refuses (RFC 8725 rules)."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from crm_shared.identity import (
    ROLE_PERMISSIONS,
    CallerTokens,
    InvalidCallerToken,
    Permission,
    caller_of,
    load_or_create_secret,
)

SECRET = b"s" * 48


def test_a_token_round_trips_the_caller() -> None:
    tokens = CallerTokens(SECRET)
    caller = caller_of("u1", ["sales_manager"], ["north", "south"], name="Петър")
    assert tokens.verify(tokens.issue(caller)) == caller


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # tampered signature
        lambda t: jwt.encode(jwt.decode(t, options={"verify_signature": False}), b"x" * 48, algorithm="HS256"),
        lambda t: jwt.encode(jwt.decode(t, options={"verify_signature": False}), key="", algorithm="none"),
        lambda t: "",
        lambda t: "not.a.token",
    ],
    ids=["tampered", "other-key", "alg-none", "empty", "garbage"],
)
def test_forged_tokens_are_refused(forge) -> None:  # type: ignore[no-untyped-def]
    tokens = CallerTokens(SECRET)
    with pytest.raises(InvalidCallerToken):
        tokens.verify(forge(tokens.issue(caller_of("u1", ["administrator"]))))


def test_expired_tokens_and_tokens_for_another_audience_are_refused() -> None:
    with pytest.raises(InvalidCallerToken):
        CallerTokens(SECRET).verify(CallerTokens(SECRET, ttl_seconds=-1).issue(caller_of("u1", ["read_only"])))
    now = int(time.time())
    foreign = jwt.encode(
        {"iss": "crm-gateway", "aud": "someone-else", "sub": "u1", "iat": now, "exp": now + 60}, SECRET, "HS256"
    )
    with pytest.raises(InvalidCallerToken):
        CallerTokens(SECRET).verify(foreign)


def test_unknown_roles_in_a_token_grant_nothing() -> None:
    tokens = CallerTokens(SECRET)
    now = int(time.time())
    claims = {"iss": "crm-gateway", "aud": "crm-services", "sub": "u", "iat": now, "exp": now + 60}
    caller = tokens.verify(jwt.encode({**claims, "roles": ["root", "read_only"]}, SECRET, "HS256"))
    assert caller.roles == frozenset({"read_only"})
    assert not caller.can(Permission.COUNTERPARTY_WRITE)


def test_roles_and_groups() -> None:
    assert ROLE_PERMISSIONS["administrator"] == frozenset(Permission)
    manager = caller_of("m", ["sales_manager"], ["north"])
    assert manager.sees_group("north") and not manager.sees_group("south")
    assert manager.visible_groups() == frozenset({"north"})
    head = caller_of("h", ["head_of_sales"])
    assert head.sees_group("anything") and head.visible_groups() is None


def test_short_secrets_are_refused_and_made_secrets_are_private(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CallerTokens(b"short")
    path = tmp_path / "secrets" / "key"
    secret = load_or_create_secret(path)
    assert len(secret) >= 32 and load_or_create_secret(path) == secret
    assert path.stat().st_mode & 0o077 == 0
