# One entry point for humans and CI. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install js demo test test-fast wheel-check lint typecheck format bench corpus corpus-fetch clean

$(BIN)/actionplan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/actionplan

# The add-in's client tests (tests/addin) run its JavaScript in Node and type-check it with tsc.
JS_TESTS := tests/addin/js
$(JS_TESTS)/node_modules/.package-lock.json: $(JS_TESTS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(JS_TESTS) --no-audit --no-fund --silent; \
	else echo "npm not found: the add-in's client tests will be skipped (apt-get install nodejs npm)"; fi

js: $(JS_TESTS)/node_modules/.package-lock.json

demo: install
	$(BIN)/actionplan demo

test: install js
	$(BIN)/pytest -n 2 --dist loadfile -q --durations=15

test-fast: install js  # everything but the long tests (@pytest.mark.slow: the wheel, servers with workers)
	$(BIN)/pytest -n 2 --dist loadfile -q -m "not slow"

wheel-check: install  # build the wheel, install it in a fresh venv outside the checkout, run it from there
	$(BIN)/pytest -q tests/test_wheel.py

lint: install  # ruff (lint and format) on the whole tree and pyright on the core package; CI runs it before the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory typecheck

# pyright (basic) on the core package and the service (excel_addin/), over a copy laid out as the wheel installs it (flows/, warehouse/ and
# excel_addin/ inside actionplan/), so that imports of actionplan.flows etc. resolve; paths shown as in the repo.
typecheck: install
	@rm -rf build/typecheck && mkdir -p build/typecheck && cp -r actionplan build/typecheck/
	@for d in flows warehouse excel_addin; do cp -r $$d build/typecheck/actionplan/; done
	@$(BIN)/pyright > build/typecheck.txt; status=$$?; \
	sed -e 's#build/typecheck/actionplan/\(flows\|warehouse\|excel_addin\)/#\1/#' -e 's#build/typecheck/##' build/typecheck.txt; \
	exit $$status

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  # the stage targets, then the whole quarter end to end beside a naive pipeline and the floor
	$(BIN)/actionplan bench
	$(BIN)/python bench/e2e.py

# Robustness sweep over real-world workbooks: spreadsheet libraries' test files (MIT/BSD licensed),
# fetched into corpus/ (not committed), each checked in its own process. Fails on a traceback or a hang.
CORPUS ?= corpus
CORPUS_REPOS ?= tafia/calamine exceljs/exceljs qax-os/excelize python-excel/xlrd

corpus-fetch:
	@mkdir -p $(CORPUS)
	@for repo in $(CORPUS_REPOS); do \
	  dir=$(CORPUS)/$$(echo $$repo | tr / +); \
	  [ -d $$dir ] || git clone --quiet --depth 1 https://github.com/$$repo $$dir; \
	done

corpus: install
	$(BIN)/python bench/corpus.py $(CORPUS)

clean:
	rm -rf $(VENV) actionplan-data .pytest_cache .ruff_cache *.egg-info $(JS_TESTS)/node_modules
