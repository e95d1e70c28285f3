# The two commands of the Quick start: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/watchdog.toml
# System packages the end-to-end tests need (network namespaces, packet loss, systemd-analyze).
SYSTEM_PACKAGES := iproute2 nftables procps systemd

.PHONY: run test lint typecheck pytest system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	mkdir -p var
	$(BIN)/watchdog run --config $(CONFIG)

system-deps:
	@missing=""; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v nft >/dev/null || missing="$$missing nftables"; \
	command -v pgrep >/dev/null || missing="$$missing procps"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system packages:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
			|| { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }; \
		else \
			echo "not installing$$missing (needs root and apt-get): the end-to-end tests will skip"; \
		fi; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check watchdog testbed tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Install as a systemd service (README, "Install as a service"); run again to upgrade.
# DESTDIR=DIR stages into DIR; `make uninstall PURGE=1` also removes the config and the data.
.PHONY: install uninstall
install:
	DESTDIR="$(DESTDIR)" bash tools/install.sh install

uninstall:
	DESTDIR="$(DESTDIR)" PURGE="$(PURGE)" bash tools/install.sh uninstall
