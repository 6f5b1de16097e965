# make setup : install everything (idempotent)    make test : setup, then the whole test suite
# make demo  : setup, then the end-to-end demo on the sample clip
PY := .venv/bin/python

.PHONY: setup test demo bench
setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest -q

demo: setup
	$(PY) -m emotion demo --once --out demo.mp4

bench: setup
	$(PY) -m emotion bench model
	$(PY) -m emotion bench perception
