"""What a web check takes from the process's environment, as requests would: the proxy for
a URL, the CA bundle, ``.netrc`` credentials.

The web checks speak urllib3 directly (requests' own transport; requests itself, with the
charset detector it loads, would cost the daemon about 4 MB for nothing it uses), and keep
honouring what a requests-based check did:

- ``http_proxy``, ``https_proxy``, ``all_proxy`` (lowercase names first) and ``no_proxy``
  (host suffixes, ``host:port``, addresses and CIDR prefixes), exactly as requests'
  ``get_environ_proxies`` and ``select_proxy`` read them (ported here, with the stdlib's
  ``getproxies_environment`` and ``proxy_bypass_environment`` they call: importing
  ``urllib.request`` would cost most of what leaving requests saves);
- ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` (a file or a directory of certificates) instead
  of certifi's bundle;
- the ``.netrc`` (``NETRC``, else ``~/.netrc`` or ``~/_netrc``) login for the URL's host, sent
  as basic authentication.

Pure functions of the URL and the environment (``os.environ`` unless given); nothing raises
for a malformed variable or file: it is ignored, as requests ignores it.
"""

from __future__ import annotations

import base64
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from urllib3.util import parse_url

NETRC_FILES = (".netrc", "_netrc")


class InvalidProxy(ValueError):
    """A proxy variable whose URL names no host (requests' ``InvalidProxyURL``)."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """The proxy a URL goes through: its URL (scheme added when missing) and the
    ``Proxy-Authorization`` its userinfo asks for ("" for none)."""

    url: str
    authorization: str = ""


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy the environment names for ``url`` (None: go direct), as requests picks it:
    nothing when ``no_proxy`` exempts the host, else the first of ``scheme://host``,
    ``scheme``, ``all://host``, ``all``. Raises ``InvalidProxy`` for a proxy without a host."""
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    hostname = parts.hostname
    if hostname is None or _bypassed(hostname, parts.port, environ):
        return None
    proxies = _environment_proxies(environ)
    scheme = parts.scheme
    for key in (f"{scheme}://{hostname}", scheme, f"all://{hostname}", "all"):
        if key in proxies:
            return _proxy(proxies[key])
    return None


def ca_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``; None: certifi's."""
    environ = os.environ if environ is None else environ
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or None


def netrc_login(url: str, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(login, password) for ``url``'s host from the ``.netrc`` file, or None (no file, no
    entry, a file that cannot be read or parsed), as requests' ``get_netrc_auth``."""
    environ = os.environ if environ is None else environ
    named = environ.get("NETRC")
    places = (named,) if named is not None else tuple(f"~/{name}" for name in NETRC_FILES)
    path = next((os.path.expanduser(place) for place in places
                 if os.path.exists(os.path.expanduser(place))), None)
    host = urlsplit(url).hostname
    if path is None or host is None:
        return None
    from netrc import NetrcParseError, netrc

    try:
        entry = netrc(path).authenticators(host)
    except (NetrcParseError, OSError):
        return None
    if not entry or not any(entry):
        return None
    login = entry[0] if entry[0] else entry[1]
    return (login or "", entry[2] or "")


def basic_authorization(user: str, password: str) -> str:
    """The value of a basic ``Authorization`` header (requests' ``_basic_auth_str``)."""
    token = base64.b64encode(f"{user}:{password}".encode("latin1")).strip()
    return f"Basic {token.decode('ascii')}"


def _environment_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """``<scheme>_proxy`` variables by scheme (the stdlib's ``getproxies_environment``):
    lowercase names win; as a CGI script (``REQUEST_METHOD``), ``HTTP_PROXY`` is ignored."""
    proxies: dict[str, str] = {}
    for name, value in environ.items():
        if value and name.lower()[-6:] == "_proxy":
            proxies[name.lower()[:-6]] = value
    if "REQUEST_METHOD" in environ:
        proxies.pop("http", None)
    for name, value in environ.items():
        if name[-6:] == "_proxy":
            if value:
                proxies[name.lower()[:-6]] = value
            else:
                proxies.pop(name.lower()[:-6], None)
    return proxies


def _bypassed(hostname: str, port: int | None, environ: Mapping[str, str]) -> bool:
    """Whether ``no_proxy`` exempts ``hostname`` (requests' ``should_bypass_proxies``)."""
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY")
    if no_proxy:
        entries = [entry for entry in no_proxy.replace(" ", "").split(",") if entry]
        if _is_ipv4_address(hostname):
            for entry in entries:
                if _is_valid_cidr(entry):
                    if _address_in_network(hostname, entry):
                        return True
                elif hostname == entry:
                    return True
        else:
            with_port = f"{hostname}:{port}" if port else hostname
            if any(_names(entry.lstrip("."), hostname, with_port) for entry in entries):
                return True
    return _stdlib_bypass(hostname, _environment_proxies(environ))


def _names(name: str, host: str, other: str) -> bool:
    """Whether ``name`` is ``host`` or ``other``, or a domain they belong to."""
    return name in (host, other) or host.endswith("." + name) or other.endswith("." + name)


def _stdlib_bypass(host: str, proxies: Mapping[str, str]) -> bool:
    """The stdlib's ``proxy_bypass_environment``, which requests asks last (its
    ``_splitport`` included: an IPv6 address loses what follows its last colon)."""
    no_proxy = proxies.get("no")
    if no_proxy is None:
        return False
    if no_proxy == "*":
        return True
    host = host.lower()
    split = re.fullmatch("(.*):([0-9]*)", host, re.DOTALL)
    host_only = split.group(1) if split and split.group(2) else host
    names = (name.strip() for name in no_proxy.split(","))
    return any(_names(name.lstrip(".").lower(), host_only, host) for name in names if name)


def _is_ipv4_address(text: str) -> bool:
    try:
        socket.inet_aton(text)
    except OSError:
        return False
    return True


def _is_valid_cidr(text: str) -> bool:
    """requests' "very simple check of the cidr format": one slash, a mask of 1 to 32."""
    if text.count("/") != 1:
        return False
    prefix, _, mask = text.partition("/")
    try:
        bits = int(mask)
    except ValueError:
        return False
    return 1 <= bits <= 32 and _is_ipv4_address(prefix)


def _address_in_network(address: str, network: str) -> bool:
    """Whether ``address`` is in ``network`` (a valid CIDR prefix, ``_is_valid_cidr``)."""
    prefix, _, bits = network.partition("/")
    mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
    wanted = int.from_bytes(socket.inet_aton(address), "big")
    return wanted & mask == int.from_bytes(socket.inet_aton(prefix), "big") & mask


def _proxy(value: str) -> Proxy:
    """A proxy variable's value as requests uses it: ``http://`` prepended when it names no
    scheme (``prepend_scheme_if_needed``), its userinfo as a basic ``Proxy-Authorization``
    when it has a user and a password (``get_auth_from_url``)."""
    parsed = parse_url(value)
    netloc, path = parsed.netloc, parsed.path
    if not netloc:
        netloc, path = path, netloc
    if parsed.auth:
        netloc = "@".join([parsed.auth, netloc or ""])
    url = urlunsplit((parsed.scheme or "http", netloc or "", path or "", parsed.query or "",
                      parsed.fragment or ""))
    if not parse_url(url).host:
        raise InvalidProxy(
            "Please check proxy URL. It is malformed and could be missing the host.")
    parts = urlsplit(url)
    if parts.username is None or parts.password is None:
        return Proxy(url)
    return Proxy(url, basic_authorization(unquote(parts.username), unquote(parts.password)))
