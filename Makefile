# The two commands a new machine needs: `make run` and `make test`. Both create
# .venv and install the project into it when it is missing or out of date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SAMPLE_USERS ?= 196,186,22
# `make run` enables the flow admin RPCs with this token unless RECMESH_ADMIN_TOKEN is set.

.PHONY: run test lint proto venv clean

venv: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/recmesh import movielens-100k
	$(BIN)/recmesh train
	RECMESH_ADMIN_TOKEN=$${RECMESH_ADMIN_TOKEN:-recmesh-local-admin} \
		$(BIN)/recmesh serve all --sample-users $(SAMPLE_USERS)

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

proto: $(INSTALLED)
	$(BIN)/python -m recmesh.protogen

clean:
	rm -rf $(VENV) data .pytest_cache
