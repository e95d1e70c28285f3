"""What the tests and the benchmarks share: the namespace lab, the daemon driver, test servers.

- ``testbed.lab``: three network namespaces (office ↔ router ↔ internet) with faults on demand.
- ``testbed.daemon``: the real daemon in that lab, waiting on its database, the mail and
  webhook servers it alerts, and the audit of what arrived against what its outbox holds.
- ``testbed.servers``: real DNS, HTTP, webhook and SMTP servers, in-process or as scripts.

Not part of the shipped package (pyproject installs ``watchdog*`` only): it is imported from the
repository's root, by pytest (``pythonpath = ["."]``) and by ``python -m bench``.
"""

from __future__ import annotations

from pathlib import Path

# The repository's root: the project's .venv (the daemon and the lab's interpreter) lives here.
REPO = Path(__file__).resolve().parents[1]
