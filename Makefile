# telewatch: every target creates (once) and reuses a local virtual environment in .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo web test check bench fmt clean venv models docs

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("telewatch needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/telewatch demo

# The review pages over the demo archive: the demo runs first when its database is missing; the config is
# a copy, so channels and rules added from the pages never change the shipped demo config.
WEB_PORT ?= 8080
web: $(STAMP)
	@test -f data/demo.db || $(VENV)/bin/telewatch demo --speed 0
	@test -f data/demo-web.toml || cp config/demo/demo.toml data/demo-web.toml
	$(VENV)/bin/telewatch --config data/demo-web.toml --db data/demo.db web --port $(WEB_PORT) --open

test: $(STAMP)
	$(PY) -m pytest -q

check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

docs: $(STAMP)
	$(PY) -m bot.cli.reference docs/cli.md

bench: $(STAMP)
	$(PY) -m bench

# The shipped packs' relevance models (config/rules/models/), trained on the dev split of bench/eval/real.
models: $(STAMP)
	$(PY) -m bench.eval.models

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
