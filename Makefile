# flashpool: the two commands (make run, make test) do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test bench soak screenshots clean lint-imports lock

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# exactly what CI tested: the hash-pinned lock files (refresh them with `make lock`), then the
# project itself without dependencies
$(STAMP_RUN): pyproject.toml requirements/run.lock | $(VENV)/bin/python
	$(PY) -m pip install -q --require-hashes -r requirements/run.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(STAMP_TEST): pyproject.toml requirements/test.lock | $(VENV)/bin/python
	$(PY) -m pip install -q --require-hashes -r requirements/test.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@ $(STAMP_RUN)

# the lock files from pyproject.toml's dependencies, newest versions allowed, every file's hash
lock: | $(VENV)/bin/python
	$(PY) -m pip install -q pip-tools
	$(VENV)/bin/pip-compile -q --generate-hashes --strip-extras --allow-unsafe -o requirements/run.lock pyproject.toml
	$(VENV)/bin/pip-compile -q --generate-hashes --strip-extras --allow-unsafe --extra test -o requirements/test.lock pyproject.toml

# the bytecode of every package of the project (each folder with an __init__.py), written even where
# PYTHONDONTWRITEBYTECODE is set: every process the console, the server, the CLI and the tests start
# would otherwise compile the sources again (~0.2 s each; a fresh `flashpool hsm` 12 ms of its 69)
PACKAGES := $(patsubst %/__init__.py,%,$(wildcard */__init__.py))
BYTECODE := $(PY) -m compileall -q -j 0 $(PACKAGES)

# the power-loss harness (tests/power) mounts a recording FUSE file system: Debian's fuse3 gives
# fusermount3 and libfuse 3; installed here when missing (root and apt-get), else tests/power says so
FUSE := /usr/bin/fusermount3
$(FUSE):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q fuse3 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fuse3 >/dev/null 2>&1; } || true; \
	fi
	@command -v fusermount3 >/dev/null || echo "fuse3 could not be installed: the power-loss tests will fail and say why"

# the example alert rules (deploy/prometheus) are checked and unit-tested with promtool, from
# Debian's prometheus package; installed here when missing, else tests/server/test_monitoring.py says so
PROMTOOL := /usr/bin/promtool
$(PROMTOOL):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1; } || true; \
	fi
	@command -v promtool >/dev/null || echo "prometheus (promtool) could not be installed: the alert-rule tests will fail and say why"

# the PostgreSQL catalog tests start a throw-away cluster (initdb + pg_ctl, as the postgres user):
# Debian's postgresql package puts them under /usr/lib/postgresql/*/bin; installed here when
# initdb is found neither there nor on the PATH, else tests/pg.py fails and says why
POSTGRES := $(or $(shell command -v initdb),$(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb)),/usr/lib/postgresql/initdb)
$(POSTGRES):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1; } || true; \
	fi
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || echo "postgresql (initdb) could not be installed: the PostgreSQL catalog tests will fail and say why"

# the `flashpool web` tests (tests/web) drive a real browser headless: Debian's chromium, through
# Playwright's Python package; installed here when missing, else tests/web fails and says why
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } || true; \
	fi
	@command -v chromium >/dev/null || echo "chromium could not be installed: the web console's browser tests will fail and say why"

run: $(STAMP_RUN)
	$(BYTECODE)
	$(VENV)/bin/flashpool

test: $(STAMP_TEST) $(FUSE) $(PROMTOOL) $(POSTGRES) $(CHROMIUM)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(BYTECODE)
	# four workers on two cores: the suite waits (servers, subprocesses, browsers, Pilot pauses) as
	# much as it computes; measured on one quiet machine (1,186 tests): pytest 10 min 52 s with -n 3,
	# 10 min 14 s with -n 4 (with 1,087 tests -n 3 was the faster); 1,228 tests on a fresh clone:
	# pytest 9 min 04 s with -n 4, 9 min 40 s with the set-up
	$(PY) -m pytest -n 4

bench: $(STAMP_TEST)
	$(BYTECODE)
	@command -v qemu-io >/dev/null || apt-get install -y -q qemu-utils >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q qemu-utils >/dev/null 2>&1; } || echo "qemu-utils could not be installed: bench.durable skips its qcow2 baseline and says so"
	$(PY) -m bench

soak: $(STAMP_TEST) $(FUSE) $(POSTGRES)
	$(BYTECODE)
	FLASHPOOL_SOAK=1 $(PY) -m pytest tests/engine/test_flashcopy_model.py tests/catalog/test_crash.py tests/hsm/test_versions_model.py tests/hsm/test_crash_points.py tests/hsm/test_races.py tests/hsm/test_agreement.py tests/hsm/test_definition_fuzz.py tests/cli/test_bad_input.py tests/hsm/test_full_disk.py tests/hsm/test_corruption.py tests/console/test_random_keys.py tests/console/test_console_truth.py tests/server/test_console_truth_served.py tests/walkthroughs/test_alternatives.py tests/power -p no:cacheprovider

screenshots: $(STAMP_TEST) $(CHROMIUM)
	$(PY) -m tests.console.screenshots
	$(PY) -m tests.web.screenshots

clean:
	rm -rf $(VENV) .pytest_cache snapshot_report.html
	find $(PACKAGES) -name __pycache__ -prune -exec rm -rf {} +
