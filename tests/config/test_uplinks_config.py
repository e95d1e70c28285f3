"""``[[uplink]]``: several links, the one primary, each with its provider and path check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.test_config import MINIMAL, problems_of, write
from watchdog.config import dump_config, load_config
from watchdog.config.schema import GatewayConfig, IspConfig
from watchdog.vocabulary import DEFAULT_LINK

TWO_UPLINKS = MINIMAL + """
[isp]
name = "Fibre Co"
line_id = "FTTH-0042"

[[tickets.email]]
name = "fibre-helpdesk"
smtp = "relay"
to = ["support@fibre.example"]

[[tickets.email]]
name = "mobile-helpdesk"
smtp = "relay"
to = ["support@mobile.example"]

[[smtp]]
name = "relay"
host = "192.0.2.25"
security = "none"
sender = "watchdog@office.example"

[[uplink]]
name = "4g"
kind = "4g"
interface = "wwan0"
gateway = "192.168.8.1"
tickets = ["mobile-helpdesk"]

[uplink.isp]
name = "Mobile Co"
line_id = "+33 6 00 00 00 00"
gtr = "8h"

[[uplink]]
name = "fibre"
kind = "fibre"
primary = true
source = "192.0.2.10"
tickets = ["fibre-helpdesk"]

[uplink.path]
echo_url = "http://203.0.113.80/ip"
expect_address = ["198.51.100.1", "198.51.100.0/30"]
expect_hop = ["198.51.100.0/24"]
"""


def test_a_config_without_uplinks_has_the_one_implicit_link_as_before(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL + '[isp]\nname = "Fibre Co"\n'))
    (link,) = config.links
    assert link.name == DEFAULT_LINK and link.primary
    assert link.gateway == config.gateway
    assert (link.interface, link.source, link.tickets, link.path) == ("", "", (), None)
    assert link.isp == config.isp
    assert config.primary_link is not None and config.primary_link.name == DEFAULT_LINK


def test_uplinks_become_links_with_the_primary_first(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO_UPLINKS))
    fibre, mobile = config.links
    assert (fibre.name, fibre.primary, fibre.kind, fibre.source) == ("fibre", True, "fibre",
                                                                     "192.0.2.10")
    assert (mobile.name, mobile.primary, mobile.interface) == ("4g", False, "wwan0")
    # The primary's provider is [isp]; another uplink's is its own table.
    assert fibre.isp == config.isp
    assert mobile.isp == IspConfig(name="Mobile Co", line_id="+33 6 00 00 00 00",
                                   gtr=mobile.isp.gtr)
    assert mobile.isp.gtr.total_seconds() == 8 * 3600
    assert mobile.gateway == GatewayConfig(True, "192.168.8.1")
    assert fibre.gateway == GatewayConfig(True, "")
    assert fibre.tickets == ("fibre-helpdesk",) and mobile.tickets == ("mobile-helpdesk",)
    assert fibre.path is not None and fibre.path.hop == 2
    assert config.link("4g") is not None and config.primary_link.name == "fibre"
    with pytest.raises(KeyError):
        config.link(DEFAULT_LINK)


def test_without_a_primary_the_first_uplink_is_and_others_have_no_provider(
    tmp_path: Path
) -> None:
    text = MINIMAL + '[isp]\nname = "Fibre Co"\n[[uplink]]\nname = "a"\n[[uplink]]\nname = "b"\n'
    first, second = load_config(write(tmp_path, text)).links
    assert (first.name, first.primary, first.isp.name) == ("a", True, "Fibre Co")
    assert (second.name, second.primary, second.isp) == ("b", False, IspConfig())


def test_the_effective_config_with_uplinks_round_trips(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO_UPLINKS))
    (tmp_path / "again").mkdir()
    again = load_config(write(tmp_path / "again", dump_config(config)))
    assert again.links == config.links


@pytest.mark.parametrize(("uplinks", "key", "words"), [
    ('[[uplink]]\nname = "a"\nprimary = true\n[[uplink]]\nname = "b"\nprimary = true\n',
     "uplink[1].primary", "'a' is already the primary uplink"),
    ('[[uplink]]\nname = "a"\n[[uplink]]\nname = "a"\n', "uplink[1].name", "used twice"),
    ('[[uplink]]\nname = " "\n', "uplink[0].name", "is empty"),
    ('[[uplink]]\nname = "a"\ninterface = "eth 0"\n', "uplink[0].interface",
     "not a network interface name"),
    ('[[uplink]]\nname = "a"\ninterface = "a-very-long-name0"\n', "uplink[0].interface",
     "not a network interface name"),
    ('[[uplink]]\nname = "a"\nsource = "office"\n', "uplink[0].source", "not an IP address"),
    ('[[uplink]]\nname = "a"\ngateway = "router"\n', "uplink[0].gateway", "not an IP address"),
    ('[[uplink]]\nname = "a"\ntickets = ["nobody"]\n', "uplink[0].tickets",
     "'nobody' is not a ticket backend"),
    ('[[uplink]]\nname = "a"\n[uplink.path]\n', "uplink[0].path", "says nothing"),
    ('[[uplink]]\nname = "a"\n[uplink.path]\necho_url = "http://203.0.113.80/ip"\n',
     "uplink[0].path.expect_address", "is empty"),
    ('[[uplink]]\nname = "a"\n[uplink.path]\nexpect_address = ["198.51.100.1"]\n',
     "uplink[0].path.echo_url", "is empty while expect_address is set"),
    ('[[uplink]]\nname = "a"\n[uplink.path]\necho_url = "ip.example"\n'
     'expect_address = ["198.51.100.1"]\n', "uplink[0].path.echo_url", "not an http(s) URL"),
    ('[[uplink]]\nname = "a"\n[uplink.path]\nexpect_hop = ["operator"]\n',
     "uplink[0].path.expect_hop", "not an address or prefix"),
    ('[[uplink]]\nname = "a"\n[uplink.path]\nexpect_hop = ["198.51.100.0/24"]\n'
     'hop_target = "far"\n', "uplink[0].path.hop_target", "not an IP address"),
    ('[[uplink]]\nname = "a"\n[uplink.path]\nexpect_hop = ["198.51.100.0/24"]\nhop = 0\n',
     "uplink[0].path.hop", "too small"),
    ('[[uplink]]\nname = "a"\n[[maintenance]]\nstart = "2026-12-06 02:00"\n'
     'end = "2026-12-06 03:00"\nreason = "works"\nlink = "default"\n',
     "maintenance[0].link", "'default' is not a link of this config"),
])
def test_a_bad_uplink_names_its_key_and_the_fix(tmp_path: Path, uplinks: str, key: str,
                                                words: str) -> None:
    problems = problems_of(tmp_path, MINIMAL + uplinks)
    assert any(f": {key}: " in line and words in line for line in problems), problems


def test_an_http_check_may_expect_a_text_or_a_pattern_in_the_body(tmp_path: Path) -> None:
    check = '[[http]]\nname = "w"\nurl = "http://203.0.113.80/"\n'
    config = load_config(write(tmp_path, MINIMAL + check + 'expect_body = "Success"\n'))
    assert (config.http[0].expect_body, config.http[0].expect_body_regex) == ("Success", False)
    problems = problems_of(tmp_path, MINIMAL + check + 'expect_body = "(unclosed"\n'
                           'expect_body_regex = true\n')
    assert len(problems) == 1 and ": http[0].expect_body: is not a regular expression" in (
        problems[0])
