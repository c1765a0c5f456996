# latentwire: two commands do all the set-up on a fresh machine.
#   make demo   train, stream through a local Kafka broker compressed, decode in another process, report
#   make test   the test suite (unit tests and integration tests against a real local broker)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: all deps system-deps demo test test-fast test-slow bench check format clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,baselines]'
	rm -f $(VENV)/.installed-*
	touch $@

system-deps:
	deploy/scripts/install-system-deps.sh

deps: system-deps $(STAMP)
	$(BIN)/python -c "from streaming.broker import resolve_jars; print('kafka jars in', resolve_jars())"

demo: deps
	$(BIN)/latentwire demo

# the default run plus the long fault-injection tests (marked slow and fault): what CI runs. Tests without a
# broker (unit, fuzz) run on two workers, one file per worker; the broker tests, timed against real
# processes, run one at a time. Both parts always run; the target fails if either does.
test: deps
	@status=0; \
	$(BIN)/python -m pytest -m "not slow or fault" -n 2 --dist loadfile --durations=15 tests/unit tests/fuzz $(PYTEST_ARGS) || status=1; \
	$(BIN)/python -m pytest -m "not slow or fault" --durations=30 tests/integration $(PYTEST_ARGS) || status=1; \
	exit $$status

test-fast: deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: deps
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

bench: deps
	$(BIN)/python -m benchmarks.kafka_throughput

check: $(STAMP)
	$(BIN)/ruff check compressor streaming producers consumers latentwire tests benchmarks
	$(BIN)/ruff format --check compressor streaming producers consumers latentwire tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format compressor streaming producers consumers latentwire tests benchmarks
	$(BIN)/ruff check --fix compressor streaming producers consumers latentwire tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache runs
