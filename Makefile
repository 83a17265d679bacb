# Two commands on a fresh machine with nothing but Python: `make demo` and `make test`.
# Every install goes through constraints.txt, which pins the CPU build of torch.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet -c constraints.txt
DEMO_OUT ?= demo-out

.PHONY: demo test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/autorec demo --out $(DEMO_OUT)

# one worker per core, at most 4 (each worker's torch takes the cores left free: src/autorec/train/threads.py);
# work stealing, because a few subprocess tests take half a minute each
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist worksteal

bench: $(VENV)/.installed-test
	$(PIP) -e '.[bench]'

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
