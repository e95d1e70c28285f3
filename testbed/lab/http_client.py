"""HTTP requests from inside a lab namespace, from this process: the socket is opened in the
namespace (``Lab.open_socket``), the rest is ``http.client``."""

from __future__ import annotations

import http.client
import json
from typing import Any

from testbed.lab.network import LabNetwork
from testbed.lab.topology import Node


class _NamespaceConnection(http.client.HTTPConnection):
    def __init__(self, lab: LabNetwork, node: Node, host: str, port: int,
                 timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._lab, self._node = lab, node

    def connect(self) -> None:
        sock = self._lab.open_socket(self._node)
        sock.settimeout(self.timeout)
        try:
            sock.connect((self.host, self.port))
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def get(lab: LabNetwork, node: Node, host: str, port: int, target: str, *,
        timeout: float = 10.0) -> tuple[int, bytes]:
    """``GET target`` on ``host:port`` as seen from ``node``: (status, body). Raises
    ``OSError`` when nothing answers."""
    connection = _NamespaceConnection(lab, node, host, port, timeout)
    try:
        connection.request("GET", target)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def get_json(lab: LabNetwork, node: Node, host: str, port: int, target: str) -> Any:
    """``get`` of a JSON document (raises ``OSError``, or ``ValueError`` for another answer)."""
    status, body = get(lab, node, host, port, target)
    if status != 200:
        raise ValueError(f"GET {target}: HTTP {status}: {body[:200]!r}")
    return json.loads(body)
