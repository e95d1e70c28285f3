"""``[web]``: off by default on the loopback; a listen address that cannot be bound is one
clear line naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.test_config import EXAMPLE, MINIMAL, problems_of, write
from watchdog.config import load_config
from watchdog.config.schema import parse_listen


def test_the_server_is_off_and_on_the_loopback_by_default(tmp_path: Path) -> None:
    web = load_config(write(tmp_path, MINIMAL)).web
    assert (web.enabled, web.listen) == (False, "127.0.0.1:9830")
    assert load_config(EXAMPLE).web == web


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9830", ("127.0.0.1", 9830)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("[::1]:9830", ("::1", 9830)),
    ("[fe80::1]:1", ("fe80::1", 1)),
])
def test_it_reads_an_address_and_a_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(("listen", "what"), [
    ("127.0.0.1", "needs a port"),
    ("127.0.0.1:0", "needs a port"),
    ("127.0.0.1:70000", "needs a port"),
    ("office.lan:9830", "'office.lan' is not an IP address"),
    ("::1:9830", "an IPv6 address goes in brackets"),
])
def test_a_bad_listen_address_is_one_line_with_the_fix(tmp_path: Path, listen: str,
                                                      what: str) -> None:
    problems = problems_of(tmp_path, MINIMAL + f'[web]\nenabled = true\nlisten = "{listen}"\n')
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'watchdog.toml'}: web.listen: {listen!r}: ")
    assert what in problems[0]
    assert 'for example "127.0.0.1:9830"' in problems[0]
