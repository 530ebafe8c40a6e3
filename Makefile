# The two commands: `make run` (the tool with its sandbox LMS on SQLite) and `make test` (the whole suite).
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTHON ?= python3
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Two workers: the machines have two cores, and every test builds its own data.
PYTEST_ARGS ?= -n 2

.PHONY: run test install system-deps bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Debian's Chromium for the browser tests (playwright's own browser download cannot work here), and Pango with
# the DejaVu fonts for the certificate PDFs (WeasyPrint).
system-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || \
	    ! ldconfig -p | grep libpangoft2-1.0 >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
	  else echo "Install Debian's chromium, fonts-dejavu-core, libpango-1.0-0 and libpangoft2-1.0-0 packages (sudo apt-get install ...) for the tests"; exit 1; fi; \
	fi

run: install
	LTI_TOOL_CONFIG=development $(BIN)/flask --app wsgi db upgrade
	LTI_TOOL_CONFIG=development $(BIN)/flask --app wsgi sandbox setup --base-url http://localhost:$(PORT)
	@echo "Open http://localhost:$(PORT)/sandbox/ and launch the tool as a facilitator, participant or observer."
	LTI_TOOL_CONFIG=development $(BIN)/flask --app wsgi worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	LTI_TOOL_CONFIG=development $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT) --with-threads

# The suite on SQLite; then, when TEST_DATABASE_URL names a PostgreSQL server, the database-backed
# tests again on PostgreSQL (CI sets it to the local server).
test: install system-deps
	$(BIN)/pytest -q $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
	  TEST_DB=postgresql $(BIN)/pytest -q -m "not browser" $(PYTEST_ARGS); \
	fi

bench: install
	$(BIN)/python bench/launch.py

clean:
	rm -rf $(VENV) instance .pytest_cache
