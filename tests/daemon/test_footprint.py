"""What the daemon keeps in memory: libraries it loads only when it uses them, and the C
library's heap handed back (``watchdog.memory``)."""

from __future__ import annotations

import subprocess
import sys

from watchdog import memory


def test_the_daemon_and_its_web_checks_leave_the_unused_libraries_unloaded() -> None:
    # The web checks use requests (the design card's choice); statistics and difflib are not
    # loaded at all, Jinja2 and Alembic only for a message and a migration, requests' charset
    # detector only if something asks for it (watchdog run defers it first, as here); greenlet
    # (structlog's optional greenlet-local storage) never.
    code = (
        "import sys\n"
        "from watchdog import charset_detector\n"
        "charset_detector.defer()\n"
        "import watchdog.cli.run_cmd, watchdog.logs, watchdog.daemon.runner\n"
        "import watchdog.delivery.worker, watchdog.incidents.service\n"
        "from watchdog.config.schema import HttpCheck\n"
        "from watchdog.probes.http import fetch\n"
        "result = fetch(HttpCheck(name='site', url='http://127.0.0.1:9/'), timeout=1.0)\n"
        "assert result.error == 'connection refused', result.error\n"
        "unused = {'statistics', 'difflib', 'jinja2', 'alembic', 'charset_normalizer.api',\n"
        "          'greenlet'}\n"
        "loaded = {m.split('.')[0] for m in sys.modules} | set(sys.modules)\n"
        "print(sorted(loaded & unused), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"


def test_the_heap_calls_never_fail() -> None:
    memory.limit_arenas(2)
    memory.give_back()
    memory.give_back()
