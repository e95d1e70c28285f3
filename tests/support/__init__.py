"""Real servers for tests (DNS, HTTP), usable in-process and as standalone scripts.

The modules here import nothing from the test suite, so they can run as scripts inside a
network namespace: ``python tests/support/dns_server.py --listen ADDRESS:PORT``.
"""
