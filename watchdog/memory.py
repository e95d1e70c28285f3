"""The C library's heap, asked to stay small: memory freed is handed back to the system, and
threads share a few malloc arenas.

glibc keeps what a process frees for its next allocations; a peak (the start-up's imports, a
page render) would otherwise stay resident for good. Both calls are glibc's (``malloc_trim``,
``mallopt``), reached through ctypes; on another C library they do nothing.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

# mallopt's parameter number for the most arenas threads may use (glibc's malloc.h).
M_ARENA_MAX = -8


@functools.cache
def _libc() -> Any:
    """The process's C library, or None when it is not glibc (no ``malloc_trim``)."""
    try:
        library = ctypes.CDLL(None)
        library.malloc_trim.argtypes = [ctypes.c_size_t]
        library.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return library


def give_back() -> None:
    """Hand the heap's free pages back to the system (``malloc_trim(0)``): at once, a few
    milliseconds at most for the daemon's heap."""
    library = _libc()
    if library is not None:
        library.malloc_trim(0)


def limit_arenas(arenas: int) -> None:
    """Let threads share at most ``arenas`` malloc arenas (``mallopt(M_ARENA_MAX)``; glibc
    gives each thread its own, up to eight per core). Call it before threads start."""
    library = _libc()
    if library is not None:
        library.mallopt(M_ARENA_MAX, arenas)
