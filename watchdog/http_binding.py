"""``BoundAdapter``: requests' adapter whose connections leave through a ``Binding``.

urllib3 takes a connection's source address and socket options as pool arguments, so the
adapter passes the binding's (``Binding.pool_arguments``) to every pool it makes, proxies'
included. Shared by the web checks (``probes.http``) and the webhook transport
(``channels.webhook``); imports requests, so only they import it.
"""

from __future__ import annotations

from typing import Any

from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter

from watchdog.binding import Binding


class BoundAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose sockets are bound as ``binding`` says (None: not bound)."""

    def __init__(self, binding: Binding | None = None) -> None:
        # Set before HTTPAdapter's own __init__, which makes the first pool manager.
        self._binding_arguments = {} if binding is None else binding.pool_arguments()
        super().__init__()

    def init_poolmanager(
        self,
        connections: int,
        maxsize: int,
        block: bool = DEFAULT_POOLBLOCK,
        **pool_kwargs: Any,
    ) -> None:
        super().init_poolmanager(connections, maxsize, block,
                                 **{**pool_kwargs, **self._binding_arguments})

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return super().proxy_manager_for(proxy, **{**proxy_kwargs, **self._binding_arguments})
