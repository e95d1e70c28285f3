"""Whether the system clock is synchronised (by NTP: timesyncd, chrony, ntpd), from the kernel.

One read-only ``adjtimex(2)`` call (``modes`` 0: needs no privilege, changes nothing, costs
microseconds) through ctypes, so no dependency and no process to spawn. The daemon records the
answer with each link's heartbeat at start-up and once a minute: a record whose times come
from an unsynchronised clock says so.

The rule is systemd's (``timedatectl``'s "System clock synchronized"): the kernel's estimate of
its maximum error is under 16 s. The ``STA_UNSYNC`` status bit alone is not trusted: chrony
sets it on purpose, to keep the kernel from writing the hardware clock.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

# The kernel's NTP_PHASE_LIMIT: the maximum error it reports while nothing disciplines it.
UNSYNCHRONISED_MAX_ERROR_US = 16_000_000
# ``struct timex`` is about 208 bytes on 64-bit Linux; the fields after ``status`` are not
# read, but the kernel writes them, so the buffer must be at least that long.
_TIMEX_TAIL_BYTES = 256


class _Timex(ctypes.Structure):
    """The head of ``struct timex`` (<sys/timex.h>), then room for the rest."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("tail", ctypes.c_byte * _TIMEX_TAIL_BYTES),
    ]


def is_synchronised(max_error_us: int) -> bool:
    """Whether a kernel maximum-error estimate (microseconds) means a synchronised clock."""
    return max_error_us < UNSYNCHRONISED_MAX_ERROR_US


def read_max_error_us(adjtimex: Callable[[ctypes._Pointer[_Timex]], int] | None = None,
                      ) -> int | None:
    """The kernel's maximum-error estimate in microseconds; None when it cannot be read (not
    Linux, the call refused by a sandbox). ``adjtimex`` replaces the C library's in tests."""
    timex = _Timex()  # zeroed: modes 0 reads and changes nothing
    try:
        call = adjtimex if adjtimex is not None else ctypes.CDLL(None, use_errno=True).adjtimex
        if call(ctypes.pointer(timex)) < 0:
            return None
    except (OSError, AttributeError):
        return None
    return int(timex.maxerror)


def clock_synchronised() -> bool | None:
    """Whether the system clock is synchronised now; None when the kernel cannot tell."""
    max_error = read_max_error_us()
    return None if max_error is None else is_synchronised(max_error)
