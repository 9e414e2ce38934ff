"""Fixtures shared by every test tier: where the real servers are, and the CI rule for them.

Servers are started by ``scripts/servers/*.sh`` (``make test`` and ``.ci/run`` do it). A test that
needs a server asks for its fixture: outside CI it skips with a message saying how to start the
server; under ``CI=true`` an unreachable server fails the test.
"""

from __future__ import annotations

import os
import socket

import pytest

KAFKA_BOOTSTRAP = os.environ.get("CRM_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
MONGO_URI = os.environ.get(
    # retryWrites=false: secantusdb slows down as it keeps retryable-write replies; guards make retries safe.
    "CRM_TEST_MONGO_URI",
    "mongodb://127.0.0.1:27117/?directConnection=true&retryWrites=false",
)

S3_ENDPOINT = os.environ.get("CRM_TEST_S3_ENDPOINT", "http://127.0.0.1:19000")
S3_BUCKET = os.environ.get("CRM_TEST_S3_BUCKET", "crm")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _require(name: str, host: str, port: int, how: str) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}; start it with `{how}`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap address of the Apache Kafka broker started by scripts/servers/kafka.sh."""
    host, port = KAFKA_BOOTSTRAP.rsplit(":", 1)
    _require("Kafka", host, int(port), "scripts/servers/kafka.sh start")
    return KAFKA_BOOTSTRAP


@pytest.fixture(scope="session")
def mongo_uri() -> str:
    """URI of the MongoDB-protocol server started by scripts/servers/mongo.sh."""
    _require("MongoDB-protocol server", "127.0.0.1", 27117, "scripts/servers/mongo.sh start")
    return MONGO_URI


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """Endpoint of the S3-compatible server (moto) started by scripts/servers/s3.sh, which made the
    bucket ``S3_BUCKET``."""
    host, port = S3_ENDPOINT.removeprefix("http://").rsplit(":", 1)
    _require("S3-compatible server", host, int(port), "scripts/servers/s3.sh start")
    return S3_ENDPOINT


@pytest.fixture(scope="session")
def s3_bucket(s3_endpoint: str) -> str:
    """The bucket scripts/servers/s3.sh created on that server."""
    return S3_BUCKET


@pytest.fixture(scope="session")
def kurrentdb_uri() -> str:
    """URI of a KurrentDB server; no server can be obtained on these machines, so only when set."""
    uri = os.environ.get("KURRENTDB_URI")
    if not uri:
        pytest.skip("KURRENTDB_URI is not set: no KurrentDB server is available here")
    return uri
