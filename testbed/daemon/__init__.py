"""The real daemon in the namespace lab, and everything a test or a benchmark judges it by.

- ``driver``: ``LabDaemon`` (``watchdog run`` in the lab's office) and ``run_cli``.
- ``waiting``: ``poll_until`` and what a wait found (``Seen``).
- ``records``: the daemon's database read as a test reads it (intervals, outages, outbox).
- ``alert_servers``: the ISP's and management's mail servers and the LAN webhook it alerts.
- ``delivery_audit``: the outbox against what the receivers logged.
"""
