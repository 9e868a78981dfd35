# The README's two commands: `make demo` and `make test`. Each creates or reuses .venv.
# `make demo ARGS="--keep --decision request-changes"` passes options to `partner-review demo`.
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

ARGS   ?=

.PHONY: demo test docs lint

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/partner-review demo $(ARGS)

test: $(STAMP)
	$(BIN)/pytest -m "not browser and not scaleout and not burst and not ha and not wheel"

docs: $(STAMP)
	$(BIN)/partner-review checks --markdown > docs/checks.md
	$(BIN)/partner-review settings --markdown > docs/settings.md
	$(BIN)/partner-review deployments --yaml > prefect.yaml

# ruff (lint and format), mypy on every package, import-linter's layering contracts. mypy finds the
# partner_review namespace through build/typecheck/partner_review, a link to this folder.
PACKAGES := models tasks flows cli webhooks deployments partners migrations
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p build/typecheck && ln -sfn ../.. build/typecheck/partner_review
	$(BIN)/mypy $(addprefix -p partner_review.,$(PACKAGES))
	$(BIN)/lint-imports
