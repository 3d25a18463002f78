# One entry point for humans and CI. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install js demo test test-fast wheel-check lint format bench clean

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
	$(BIN)/pytest -n 2 --dist loadfile -q

test-fast: install js  # everything but the long tests (@pytest.mark.slow: the wheel, servers with workers)
	$(BIN)/pytest -n 2 --dist loadfile -q -m "not slow"

wheel-check: install  # build the wheel, install it in a fresh venv outside the checkout, run it from there
	$(BIN)/pytest -q tests/test_wheel.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check actionplan/values.py actionplan/vocabulary.py

format: install
	$(BIN)/ruff check --fix .

bench: install  # the stage targets, then the whole quarter end to end beside a naive pipeline and the floor
	$(BIN)/actionplan bench
	$(BIN)/python bench/e2e.py

clean:
	rm -rf $(VENV) actionplan-data .pytest_cache .ruff_cache *.egg-info $(JS_TESTS)/node_modules
