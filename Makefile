# One-command install and test. A fresh machine needs only python3.11, pip and a compiler.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint chat bench constraints clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch pulls gigabytes of CUDA packages.
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	# every other package at the version the tests last passed with (constraints.txt)
	$(BIN)/pip install -q -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

test: install lint
	HF_HUB_OFFLINE=1 $(BIN)/pytest

chat: install
	HF_HUB_OFFLINE=1 $(BIN)/waypoint chat

bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run_all.py

# after a deliberate upgrade in .venv: pin what is installed now (the header lines stay)
constraints: install
	{ grep '^#' constraints.txt; $(BIN)/pip freeze --all --exclude-editable | grep -v '^pip==' \
	  | sed -E 's/^(torch==[^+]+)\+.*/\1/'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
