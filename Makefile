# One entry point for humans and CI. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test test-fast wheel-check lint format bench clean

$(BIN)/actionplan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/actionplan

demo: install
	$(BIN)/actionplan demo

test: install
	$(BIN)/pytest -n 2 --dist loadfile -q

test-fast: install  # everything but the long tests (@pytest.mark.slow: the wheel, servers with workers)
	$(BIN)/pytest -n 2 --dist loadfile -q -m "not slow"

wheel-check: install  # build the wheel, install it in a fresh venv outside the checkout, run it from there
	$(BIN)/pytest -q tests/test_wheel.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check actionplan/values.py actionplan/vocabulary.py

format: install
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/actionplan bench

clean:
	rm -rf $(VENV) actionplan-data .pytest_cache .ruff_cache *.egg-info
