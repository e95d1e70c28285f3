"""requests' character detector (charset_normalizer), imported at its first use instead of with
requests.

requests imports charset_normalizer as it is imported itself, for the one thing it needs it for:
guessing the charset of a body whose server declared none (``Response.text``,
``Response.apparent_encoding``, the fallback of ``Response.json()``). The watchdog never asks
for that: its web checks and heartbeats read bytes, its webhook decodes a reply with the charset
the headers name (``Response.encoding``, no detection) or UTF-8. Yet the detector's tables, and
the whole Unicode database they touch while they are built, stay resident: about 2.6 MB of the
daemon's memory (bench.resources, see BENCHMARKS.md).

``defer()`` puts a stand-in module in its place before requests is imported. The stand-in gives
requests the version it checks at import (read from the installed distribution's metadata);
the first other name asked of it (a ``detect`` call, by requests or anyone else) imports the
real package, which then takes its place in ``sys.modules``. Submodules import as usual: the
stand-in carries the package's path.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import threading
import types
from typing import Any

PACKAGE = "charset_normalizer"
DISTRIBUTION = "charset-normalizer"


class _StandIn(types.ModuleType):
    """charset_normalizer until its first use: its version, then the real module's names."""

    def __init__(self, path: list[str]) -> None:
        super().__init__(PACKAGE, __doc__)
        self.__path__ = path
        self._lock = threading.Lock()
        self._module: types.ModuleType | None = None

    def __getattr__(self, name: str) -> Any:
        # Called only for names the stand-in lacks: requests' version check at import, then
        # whatever the real package provides.
        if name == "__version__":
            return importlib.metadata.version(DISTRIBUTION)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._load(), name)

    def _load(self) -> types.ModuleType:
        """The real package, imported (once) in the stand-in's place."""
        with self._lock:
            if self._module is None:
                if sys.modules.get(PACKAGE) is self:
                    del sys.modules[PACKAGE]
                self._module = importlib.import_module(PACKAGE)
            return self._module


def defer() -> None:
    """Leave charset_normalizer unimported until it is used (see the module's docstring).

    Call it before anything imports requests; it does nothing once requests or
    charset_normalizer is imported, or when charset_normalizer is not installed (requests then
    does without, as it would anyway).
    """
    if PACKAGE in sys.modules or "requests" in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return
    sys.modules[PACKAGE] = _StandIn(list(spec.submodule_search_locations))
