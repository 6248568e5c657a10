# The two Quickstart commands: `make demo` (set up + run the main job) and `make test`.
.PHONY: demo test lint setup setup-dev

setup:
	bash scripts/setup.sh

setup-dev:
	bash scripts/setup.sh dev

# The main job: evaluate three formulations of a prompt side by side on the embedded model.
# Exit code 100 means "ran fine, some checks failed" (promptfoo's convention): not an error here.
demo: setup
	cd examples/quickstart && ../../.venv/bin/promptwork eval --no-table -o results.html || [ $$? -eq 100 ]

lint: setup-dev
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy

test: lint
	.venv/bin/pytest -q
