# Set-up and entry points.  `make demo` (the demo sweep of config.yaml through
# Snakemake, MPI cell jobs) and `make test` each create the
# virtual environment on first use (MPI from the PyPI `mpich` wheel when no
# system `mpiexec` is found) and then run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MPI_EXTRA := $(shell command -v mpiexec >/dev/null 2>&1 || echo ,mpich)

.PHONY: setup demo test chromium faults bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test$(MPI_EXTRA)]"
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores 2 --config preset=demo

# The browser check of Snakemake's report (tests/reproduce) opens it in headless Chromium:
# installed here when missing and we are root with apt-get (Debian's `chromium`).
test: $(STAMP) chromium
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q --durations=15

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get) for the browser check of the Snakemake report"; \
	    { apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y chromium >/dev/null; } \
	      || echo "could not install chromium: the report's browser check fails under CI=true, else is skipped"; \
	  else \
	    echo "chromium is missing (Debian: apt-get install chromium, as root): the report's browser check" \
	      "fails under CI=true, else is skipped"; \
	  fi; }

faults: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q tests/faults

bench: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/classical_bench.py
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/quantum_bench.py

clean:
	rm -rf $(VENV) results .pytest_cache
