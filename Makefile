# The two Quickstart commands: `make demo` (set up + run the main job) and `make test`.
.PHONY: demo test lint setup setup-dev bench

setup:
	bash scripts/setup.sh

setup-dev:
	bash scripts/setup.sh dev

demo: setup
	.venv/bin/promptwork run examples/hello/greeting.prompt -v customer=Ada -v product="the Nimbus kettle"

lint: setup-dev
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy

test: lint
	.venv/bin/pytest -q
