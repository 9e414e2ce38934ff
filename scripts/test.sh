#!/usr/bin/env bash
# Runs every test: starts the real servers the tests need (Kafka, the MongoDB-protocol server, S3),
# runs pytest with any arguments given, and stops the servers it started.
# Under CI=true a server that fails to start fails the run; elsewhere its tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

started=()
cleanup() {
  for server in "${started[@]}"; do
    "scripts/servers/$server.sh" stop || true
  done
}
trap cleanup EXIT

for server in kafka mongo s3; do
  if "scripts/servers/$server.sh" status >/dev/null 2>&1; then
    echo "test: $server already running; leaving it as it is" >&2
    continue
  fi
  if "scripts/servers/$server.sh" start; then
    started+=("$server")
  elif [ "${CI:-}" = "true" ]; then
    echo "test: $server failed to start" >&2
    exit 1
  else
    echo "test: $server failed to start; its tests will skip" >&2
  fi
done

uv run pytest "$@"
