# One entry point for humans and CI. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test lint format bench clean

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

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check actionplan/values.py actionplan/vocabulary.py

format: install
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/actionplan bench

clean:
	rm -rf $(VENV) actionplan-data .pytest_cache .ruff_cache *.egg-info
