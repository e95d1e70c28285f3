"""Real servers for tests and benchmarks (DNS, HTTP, a webhook receiver, SMTP), usable
in-process and as standalone scripts.

The modules here import nothing from the project (only the standard library, dnspython and, for
SMTP, aiosmtpd and trustme), so they can run as scripts inside a network namespace:
``python testbed/servers/dns_server.py --listen ADDRESS:PORT``.
"""

from __future__ import annotations

from pathlib import Path

# Where the scripts are, for running them by path (in a namespace, with another interpreter).
SERVERS_DIR = Path(__file__).resolve().parent
