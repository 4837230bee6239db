# Set-up and entry points.  `make demo` (the demo sweep of config.yaml through
# Snakemake, MPI cell jobs) and `make test` each create the
# virtual environment on first use (MPI from the PyPI `mpich` wheel when no
# system `mpiexec` is found) and then run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MPI_EXTRA := $(shell command -v mpiexec >/dev/null 2>&1 || echo ,mpich)

.PHONY: setup demo test faults bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test$(MPI_EXTRA)]"
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores 2 --config preset=demo

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

faults: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q tests/faults

bench: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/classical_bench.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/quantum_bench.py

clean:
	rm -rf $(VENV) results .pytest_cache
