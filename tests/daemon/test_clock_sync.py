"""Whether the system clock is synchronised: the kernel's answer read and judged. The host
running the tests may or may not be synchronised; nothing here requires either."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from watchdog.daemon.clock_sync import (
    UNSYNCHRONISED_MAX_ERROR_US,
    clock_synchronised,
    is_synchronised,
    read_max_error_us,
)


@pytest.mark.parametrize(("max_error_us", "synced"), [
    (0, True),
    (250_000, True),  # chrony or timesyncd at work: a fraction of a second
    (UNSYNCHRONISED_MAX_ERROR_US - 1, True),
    (UNSYNCHRONISED_MAX_ERROR_US, False),  # the kernel's limit: nothing disciplines the clock
    (UNSYNCHRONISED_MAX_ERROR_US + 500, False),
])
def test_the_kernels_maximum_error_tells_whether_the_clock_is_synchronised(
    max_error_us: int, synced: bool
) -> None:
    assert is_synchronised(max_error_us) is synced


def kernel(max_error_us: int, returns: int = 0) -> Any:
    """A stand-in for adjtimex(2) that fills in ``maxerror`` as the kernel would."""
    def adjtimex(pointer: Any) -> int:
        assert pointer.contents.modes == 0  # read only: never asks the kernel to change a thing
        pointer.contents.maxerror = max_error_us
        return returns

    return adjtimex


def test_the_maximum_error_is_read_from_adjtimex() -> None:
    assert read_max_error_us(kernel(12_345)) == 12_345
    assert read_max_error_us(kernel(UNSYNCHRONISED_MAX_ERROR_US, returns=5)) == (
        UNSYNCHRONISED_MAX_ERROR_US)  # TIME_ERROR is a state, not a failure


def test_a_refused_or_missing_adjtimex_is_unknown_not_an_error() -> None:
    assert read_max_error_us(kernel(0, returns=-1)) is None

    def missing(_pointer: Any) -> int:
        raise AttributeError("adjtimex")

    assert read_max_error_us(missing) is None


def test_the_real_kernel_answers_without_raising() -> None:
    assert ctypes.sizeof(ctypes.c_long) in (4, 8)
    assert clock_synchronised() in (True, False, None)
