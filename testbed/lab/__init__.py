"""A network lab for end-to-end tests and benchmarks: office ↔ router ↔ internet.

Three network namespaces (``testbed.lab.topology`` says where everything is), two resolvers and
a web server "out there" (``services``), faults applied by the router's or the internet's
kernel (``faults``), and the watchdog config that probes it all from the office (``config``).

Use it as a context manager (``with Lab() as lab:``) or through the ``lab`` fixture of
``tests/e2e/conftest.py``. It needs root, ``ip`` (iproute2) and, for ``packet_loss`` and
``kill_gateway``, ``nft`` (nftables); ``lab_available()`` says why not when it cannot run.
"""

from __future__ import annotations

from testbed.lab.faults import LabFaults
from testbed.lab.namespaces import LabError, lab_available
from testbed.lab.services import LabServices

__all__ = ["Lab", "LabError", "lab_available"]


class Lab(LabFaults, LabServices):
    """Three namespaces (office, router, internet), two resolvers and a web server "out there".

    ``Lab()`` only prepares; ``start()`` (or ``with Lab() as lab``) builds it, ``close()`` tears it
    down and may be called any number of times. ``Lab(services=False)`` builds the bare network.
    Its methods come from ``LabNetwork`` (life cycle, running things in a namespace, pings,
    ``write_config``), ``LabServices`` and ``LabFaults``.
    """
