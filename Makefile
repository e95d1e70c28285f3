# The two commands of the Quick start: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/watchdog.toml
# What the tests run, as COMMAND:DEBIAN-PACKAGE: network namespaces and faults (ip, nft), sysctl,
# the unit's checks (systemd-analyze, -sysusers, -tmpfiles), what the install test uses to
# play the service's accounts in a namespace of its own (useradd..., runuser, setpriv, unshare),
# the browser the HTML report and the status page are opened in (chromium, driven by
# Playwright), and Prometheus (prometheus, promtool) and Alertmanager's amtool, which scrape
# the daemon and check contrib/prometheus.
TEST_COMMANDS := ip:iproute2 nft:nftables sysctl:procps pgrep:procps chromium:chromium \
	prometheus:prometheus promtool:prometheus amtool:prometheus-alertmanager \
	systemd-analyze:systemd systemd-sysusers:systemd systemd-tmpfiles:systemd \
	useradd:passwd groupadd:passwd userdel:passwd groupdel:passwd \
	runuser:util-linux setpriv:util-linux unshare:util-linux getent:libc-bin
# The distribution's Python with venv and ensurepip: make install builds the service's
# environment from it (the install test checks that).
SERVICE_PYTHON_CHECK := /usr/bin/python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))'

.PHONY: run test lint typecheck pytest system-deps bench soak clean

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
	for pair in $(TEST_COMMANDS); do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	$(SERVICE_PYTHON_CHECK) 2>/dev/null || missing="$$missing python3 python3-venv"; \
	missing=$$(printf '%s\n' $$missing | sort -u | tr '\n' ' '); \
	if [ -n "$${missing% }" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system packages: $$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
			|| { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }; \
		else \
			echo "not installing $$missing(needs root and apt-get): the tests that need them will skip" \
				"(or fail under WATCHDOG_TESTS_REQUIRE_ALL=1)"; \
		fi; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check watchdog testbed tests bench soak

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Two worker processes (CI has 2 cores): the end-to-end tests spend most of their time
# waiting on real time (a cut, a detection), so the rest of the suite runs beside them. Each
# file runs whole, in order, on one worker (some files' tests build on the one before, e.g.
# the install test's), and a worker takes the next file when it is done, the long ones first.
# `make test PYTEST_WORKERS=0` runs everything in one process.
PYTEST_WORKERS ?= 2

pytest: $(VENV)/.installed-test system-deps
	$(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

# The robustness suites at their long sizes (≤ 30 min, as root): soak/results/<date>.json.
# `make test` runs their short sizes (tests/soak).
soak: $(VENV)/.installed-test system-deps
	$(BIN)/python -m soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Install as a systemd service (README, "Install as a service"); run again to upgrade.
# DESTDIR=DIR stages into DIR; `make uninstall PURGE=1` also removes the config and the data.
.PHONY: install uninstall
install:
	DESTDIR="$(DESTDIR)" bash tools/install.sh install

uninstall:
	DESTDIR="$(DESTDIR)" PURGE="$(PURGE)" bash tools/install.sh uninstall
