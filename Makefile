# The index of every command. Each target creates the environment when it is missing.
.PHONY: help run test lint fmt events bench bench-quick servers-start servers-stop env clean

help:            ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

env:             ## create or update the virtual environment (uv)
	@scripts/bootstrap.sh

run: env         ## run the whole CRM on embedded defaults at http://127.0.0.1:8000
	uv run crm up

test: env        ## run every test, starting and stopping the servers they need
	scripts/test.sh

lint: env        ## ruff, formatting, mypy (strict) and import rules
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy shared/src $(sort $(wildcard services/*/src)) src
	uv run lint-imports
	uv run python -m crm_shared.asyncapi check docs/events

fmt: env         ## format and auto-fix
	uv run ruff format .
	uv run ruff check --fix .

events: env      ## regenerate docs/events (AsyncAPI and JSON Schemas) from the event contracts
	uv run python -m crm_shared.asyncapi write docs/events

bench: env       ## every benchmark at full size, ending with one table (measured, target, ratio, PASS/MISS)
	uv run --group bench python -m bench

bench-quick: env ## every benchmark at small sizes (under 2 minutes), the same table; fails only on a crash
	uv run --group bench python -m bench --quick

servers-start:   ## start Kafka, the MongoDB-protocol server and S3 (moto) for local work
	scripts/servers/kafka.sh start
	scripts/servers/mongo.sh start
	scripts/servers/s3.sh start

servers-stop:    ## stop them
	-scripts/servers/kafka.sh stop
	-scripts/servers/mongo.sh stop
	-scripts/servers/s3.sh stop

clean:           ## remove local data and caches (not the environment)
	rm -rf var .servers .pytest_cache .mypy_cache .ruff_cache
