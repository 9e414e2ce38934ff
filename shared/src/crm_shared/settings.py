"""Settings of the kernel's ports, from environment variables (``CRM_`` prefix) with embedded defaults.

Each port picks its adapter on its own: e.g. ``CRM_EVENT_STORE=kurrentdb`` with
``CRM_KURRENTDB_URI=...``, ``CRM_BUS=kafka`` with ``CRM_KAFKA_BOOTSTRAP=...``,
``CRM_READ_STORE=mongo`` and ``CRM_STATE_STORE=mongo`` with ``CRM_MONGO_URI=...``, ``CRM_BLOB_STORE=s3``
with ``CRM_S3_BUCKET``, ``CRM_S3_ENDPOINT`` and keys. Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KernelSettings(BaseSettings):
    """Where a service keeps its events, views and messages, and how it reports telemetry."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    data_dir: Path = Path("var")
    event_store: Literal["sqlite", "kurrentdb"] = "sqlite"
    kurrentdb_uri: SecretStr | None = None
    bus: Literal["embedded", "kafka"] = "embedded"
    kafka_bootstrap: str = "127.0.0.1:9092"
    bus_namespace: str = ""
    """Prefix of every topic and consumer group (``CRM_BUS_NAMESPACE``); empty for none."""
    read_store: Literal["sqlite", "mongo"] = "sqlite"
    mongo_uri: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongo_database_prefix: str = "crm"
    state_store: Literal["sqlite", "mongo"] = "sqlite"
    """Primary records that are not views (keys, jobs): ``state.db`` of each service, or MongoDB."""
    blob_store: Literal["files", "s3"] = "files"
    """Files (uploads, exports, reports): under ``<data dir>/<service>/blobs``, or an S3 bucket."""
    s3_bucket: str = "crm"
    s3_endpoint: str | None = None
    """An S3-compatible server (``http://…`` allowed); None for AWS S3 itself."""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = ""
    """Folder of every key in the bucket, before the service's own (``<prefix>/<service>/…``)."""
    analytics: Literal["chdb", "clickhouse"] = "chdb"
    """Analytics tables: chDB under ``<data dir>/<service>/chdb``, or a ClickHouse server."""
    clickhouse_url: SecretStr | None = None
    """The ClickHouse server (``http://user:password@host:8123``) when ``CRM_ANALYTICS=clickhouse``."""
    clickhouse_database_prefix: str = "crm"
    """Each service's tables are in the database ``<prefix>_<service>``, created when missing."""
    signing_keys_dir: Path | None = None
    """Keys that sign and verify the public events (``crm_shared.bus.trust``); default ``<data dir>/keys``."""
    caller_token_secret: SecretStr | None = None
    """Shared by the gateway and the services to sign and verify callers; embedded mode makes one."""
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_endpoint: str | None = None
    log_level: str = "INFO"
    read_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long a query with ``?min_position=`` waits for its view before answering 504 (``CRM_READ_WAIT_SECONDS``)."""
