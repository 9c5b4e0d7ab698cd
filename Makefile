# The two commands of the README: `make dev` runs posventa with demo data, `make test` runs the tests.
.PHONY: dev test lint bench

dev:
	./scripts/bootstrap
	.venv/bin/posventa dev

test:
	./scripts/bootstrap --test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
