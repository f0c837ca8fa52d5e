# flashpool: the two commands (make run, make test) do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test bench soak screenshots clean lint-imports

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(VENV)/bin/flashpool

test: $(STAMP_TEST)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

bench: $(STAMP_TEST)
	$(PY) -m bench

soak: $(STAMP_TEST)
	FLASHPOOL_SOAK=1 $(PY) -m pytest tests/engine/test_flashcopy_model.py tests/catalog/test_crash.py tests/hsm/test_versions_model.py tests/hsm/test_crash_points.py tests/hsm/test_races.py tests/hsm/test_agreement.py tests/hsm/test_definition_fuzz.py tests/cli/test_bad_input.py tests/hsm/test_full_disk.py tests/hsm/test_corruption.py -p no:cacheprovider

screenshots: $(STAMP_TEST)
	$(PY) -m console.screenshots

clean:
	rm -rf $(VENV) .pytest_cache snapshot_report.html
