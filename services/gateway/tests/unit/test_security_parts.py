"""The pieces of authentication that need no I/O: token buckets, public paths."""

from __future__ import annotations

from crm_gateway.application.security import TokenBuckets
from crm_gateway.entrypoints.identity import is_public


def test_token_bucket_allows_the_rate_then_says_how_long_to_wait() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == 20.0
    assert buckets.take("b") == 0.0  # buckets are per key
    now[0] = 20.0
    assert buckets.take("a") == 0.0


def test_token_buckets_forget_full_buckets_when_too_many() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, clock=lambda: now[0], max_keys=10)
    for i in range(20):
        now[0] += 1.0
        buckets.take(f"k{i}")
    assert len(buckets._buckets) <= 11


def test_public_paths() -> None:
    assert is_public("GET", "/health")
    assert is_public("POST", "/api/v1/session")
    assert not is_public("DELETE", "/api/v1/session")
    assert is_public("GET", "/ui/contacts")
    assert is_public("GET", "/")
    assert not is_public("GET", "/api/v1/users")
    assert not is_public("GET", "/ui/../api/v1/users")
    assert not is_public("GET", "/internal")  # private unless listed
