# Crowd Answers: `make run` serves the demo, `make test` runs the suite. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := forum:create_app

.PHONY: setup run test test-postgres lint migrate clean bench bench-search eval-search

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench,semantic]'
	touch $@

HOST ?= 127.0.0.1
PORT ?= 5000

# The web server with the outbox worker beside it; Ctrl-C stops both.
run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask forum seed-demo
	$(BIN)/flask moderation scan
	$(BIN)/flask worker drain
	-$(BIN)/flask search check --no-repair
	$(BIN)/flask worker --exit-with-parent & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite over a real PostgreSQL connection (fails if the server is unreachable).
test-postgres: setup
	FORUM_TEST_DATABASE_URL=$${FORUM_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

# Pages against the ceiling under gunicorn + wrk, search against FTS5, import speed, on a
# 100k-thread corpus cached in bench/.cache/. Prints figures, asserts nothing; writes
# BENCHMARKS.md. Reads ../shared/data/stackexchange; installs wrk from Debian if missing.
bench: setup
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Prints figures; asserts nothing. Reads ../shared/data/stackexchange.
bench-search: setup
	$(BIN)/python bench/search_bench.py

lint: setup
	$(BIN)/ruff check .

migrate: setup
	$(BIN)/flask db migrate -m "$(m)"

clean:
	rm -rf $(VENV) instance .pytest_cache

# Related-question retrieval on the four Stack Exchange sites: recall@10 and MRR@10 of
# scoped search and similar questions, beside SQLite FTS5. Prints a table; asserts nothing.
eval-search: setup
	$(BIN)/python bench/eval_search.py $(EVAL_ARGS)
