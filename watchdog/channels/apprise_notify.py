"""``[[notify.apprise]]``: Telegram, Signal, Matrix, Teams, ntfy, Gotify and a hundred more,
through the apprise library (the optional extra ``connectivity-watchdog[apprise]``).

The channel's URLs are apprise's (``tgram://BOT_TOKEN/CHAT_ID``, ``ntfys://ntfy.sh/TOPIC``,
``json://lan-host:8080/hook``; see apprise's documentation). They hold tokens, so they come
from a secret file (``urls_file``, one URL a line, ``#`` comments allowed; relative to
``$CREDENTIALS_DIRECTORY`` under systemd) or a variable (``urls_env``, URLs separated by
spaces), never from the config file itself; ``config check`` and the logs show them masked,
and what a message's record keeps of them is their scheme (``json``, ``tgram``), never the URL.

Each message is rendered by the same templates as an email: the subject is apprise's title,
the body the whole text (or, with ``body = false``, the short text: the summary and lateness
lines); apprise's notification type follows the event (failure while the link is down, success
on recovery, warning for a degraded link). Each URL is one service, notified in turn; a
message is sent when every service took it. Apprise does not say whether a refusal is lasting,
so a service that failed is retried with backoff, with apprise's own words (masked) as the
message's last error in ``watchdog outbox``; services that took the message are not sent it
again on a retry in the same run of the daemon. A URL apprise does not know is permanent.
The custom ``json://``, ``form://`` and ``xml://`` services carry the message's key as an
``Idempotency-Key`` header, as the webhook channel does.

apprise costs about 19 MB of memory once imported: it is imported when the first message is
sent, never with the config (``config check`` finds out whether it is installed without
importing it).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlsplit
from urllib.parse import quote as quote_url

from watchdog.channels.errors import DeliveryError, quote
from watchdog.channels.provider import (
    MessageRenderer,
    NotifyChannel,
    Outgoing,
    Sender,
    Sent,
    all_events,
)
from watchdog.config.schema import SECRET, Config
from watchdog.config.secrets import Secret
from watchdog.vocabulary import DOWN_EVENTS, NotifyEvent

if TYPE_CHECKING:
    from types import ModuleType

    from apprise import AppriseResult

MISSING_EXTRA: Final = (
    "the apprise library is not installed; install the extra (make install EXTRAS=apprise, or "
    "pip install 'connectivity-watchdog[apprise]' in the watchdog's environment) or remove "
    "this channel"
)
#: apprise's custom HTTP services, which send our headers: they get the Idempotency-Key.
HEADER_SCHEMES: Final = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
#: apprise's notification type (its icon and colour on most services) by event.
NOTIFY_TYPES: Final = {"recovered": "success", "degraded": "warning", "monitor_gap": "warning"}
#: Messages whose partly delivered state is remembered (the oldest is forgotten first).
REMEMBERED: Final = 256
# Parts of a URL shorter than this are not masked in apprise's words: "80" or "on" is no
# secret, and masking them would garble the sentence.
_SHORTEST_SECRET: Final = 4


@dataclass(frozen=True)
class AppriseNotifyConfig:
    name: str
    # apprise URLs (they hold tokens): from urls_file (one a line) or urls_env.
    urls: Secret | None = field(default=None, metadata=SECRET)
    urls_file: str = ""
    urls_env: str = ""
    events: list[NotifyEvent] = field(default_factory=all_events)
    # true: the subject as title and the whole text as body; false: the short text.
    body: bool = True
    # How long one service may take before the attempt counts as failed (retried later).
    timeout: timedelta = field(default=timedelta(seconds=30),
                               metadata={"min": timedelta(seconds=1)})


def split_urls(text: str) -> list[str]:
    """The URLs of a ``urls_file`` or ``urls_env``: separated by spaces or lines; a line
    starting with ``#`` is a comment."""
    return [url for line in text.splitlines() if not line.lstrip().startswith("#")
            for url in line.split()]


def scheme(url: str) -> str:
    """What a record may show of ``url``: its scheme (``tgram``), never the rest."""
    return url.partition("://")[0].lower() if "://" in url else "?"


def installed() -> bool:
    """Whether apprise can be imported, found without importing it (that costs 19 MB)."""
    try:
        return importlib.util.find_spec("apprise") is not None
    except (ImportError, ValueError):
        return False


def _import_apprise() -> ModuleType:
    try:
        import apprise
    except ImportError:
        # Transient: the message waits for the extra to be installed rather than being lost.
        raise DeliveryError(MISSING_EXTRA, permanent=False) from None
    import logging

    # apprise's words reach our logs only through the result, masked: its own logger could
    # print a service's address with its token in the daemon's log.
    logging.getLogger(apprise.LOGGER_NAME).propagate = False
    return apprise


def _secret_parts(url: str) -> list[str]:
    """Every piece of ``url`` that may be a credential: user, password, host (a Telegram bot
    token sits there), path segments and query values; for masking apprise's words."""
    parts = urlsplit(url)
    pieces = [url, parts.netloc, parts.username, parts.password, parts.hostname,
              *parts.path.split("/"), *(value for _, value in parse_qsl(parts.query))]
    return sorted({piece for piece in pieces if piece and len(piece) >= _SHORTEST_SECRET},
                  key=len, reverse=True)


def _with_key(url: str, key: str) -> str:
    """``url`` with the message's key as an Idempotency-Key header, where apprise sends one."""
    if scheme(url) not in HEADER_SCHEMES:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}%2BIdempotency-Key={quote_url(key, safe='')}"


class AppriseNotifySender:
    """Sends each message to every URL of the channel, one service at a time."""

    def __init__(self, entry: AppriseNotifyConfig, renderer: MessageRenderer) -> None:
        self.name = entry.name
        self.urls = split_urls(entry.urls.reveal()) if entry.urls else []
        self.body = entry.body
        self.timeout = entry.timeout.total_seconds()
        self.renderer = renderer
        self.server = "apprise " + ", ".join(scheme(url) for url in self.urls)
        # Message key -> indexes of the URLs that took it, while others still fail.
        self._delivered: OrderedDict[str, set[int]] = OrderedDict()
        self._lock = threading.Lock()

    def text(self, outgoing: Outgoing, sent_at: datetime) -> tuple[str, str]:
        """(title, body) of ``outgoing``: see the module's doc."""
        email = self.renderer.email(outgoing.context, sent_at)
        if self.body:
            return email.subject, email.text
        payload = json.loads(self.renderer.json_body(outgoing.context, sent_at))
        return email.subject, payload["text"] or email.subject

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        if not self.urls:
            raise DeliveryError(
                f"notify.apprise {self.name!r} has no URL; put its apprise URLs in urls_file "
                "(one a line) or urls_env", permanent=True, server="apprise")
        apprise = _import_apprise()
        title, body = self.text(outgoing, sent_at)
        kind = NOTIFY_TYPES.get(outgoing.event,
                                "failure" if outgoing.event in DOWN_EVENTS else "info")
        with self._lock:
            done = set(self._delivered.get(outgoing.key, ()))
        replies: list[str] = []
        failures: list[str] = []
        for index, url in enumerate(self.urls):
            if index in done:
                replies.append(f"{scheme(url)}: SUCCESS (earlier attempt)")
                continue
            client = apprise.Apprise()
            if not client.add(_with_key(url, outgoing.key)):
                raise DeliveryError(
                    f"URL {index + 1} of notify.apprise {self.name!r} ({scheme(url)}://...) is "
                    "not one apprise can use; fix it where the URLs are kept (see apprise's "
                    "documentation for that service)", permanent=True, server=self.server)
            # A result may keep its log in a temporary file: closed once read.
            with client.notify(body=body, title=title, notify_type=kind, body_format="text",
                               timeout=self.timeout) as result:
                replies.append(f"{scheme(url)}: {result.status.name}")
                if result:
                    done.add(index)
                else:
                    failures.append(f"{scheme(url)}: {self._words(result, url)}")
        if failures:
            self._remember(outgoing.key, done)
            delivered = f"; {len(done)} of {len(self.urls)} took it" if done else ""
            raise DeliveryError("apprise could not deliver it (" + "; ".join(failures) + ")"
                                + delivered, permanent=False, server=self.server)
        self._remember(outgoing.key, None)
        reply = "; ".join(replies)
        return Sent(reply, server=self.server, reply=reply)

    def _words(self, result: AppriseResult, url: str) -> str:
        """What apprise said of a failed service: its first warning or error, masked."""
        status = result.status.name
        for entry in result.logs():
            if entry.level in ("WARNING", "ERROR", "CRITICAL"):
                return quote(f"{status}, {entry.message}", _secret_parts(url))
        return status

    def _remember(self, key: str, delivered: set[int] | None) -> None:
        with self._lock:
            if delivered:
                self._delivered[key] = delivered
                self._delivered.move_to_end(key)
                while len(self._delivered) > REMEMBERED:
                    self._delivered.popitem(last=False)
            else:
                self._delivered.pop(key, None)


class AppriseNotify(NotifyChannel[AppriseNotifyConfig]):
    key = "apprise"
    config_type = AppriseNotifyConfig

    def problems(
        self, entry: AppriseNotifyConfig, where: str, config: Config
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if not installed():
            found.append((where, MISSING_EXTRA))
        # Inline URLs are refused: they hold tokens, and a read command (which reads no
        # secret) could not tell them from missing ones.
        if not entry.urls_file and not entry.urls_env:
            found.append((f"{where}.urls", "apprise URLs hold tokens: give them in urls_file "
                          "(a file, one URL a line) or urls_env (a variable), not in the "
                          "config file"))
        elif entry.urls is not None and not split_urls(entry.urls.reveal()):
            source = "urls_file" if entry.urls_file else "urls_env"
            found.append((f"{where}.{source}", f"holds no apprise URL ({entry.urls.source}); "
                          "add one, such as tgram://BOT_TOKEN/CHAT_ID"))
        return found

    def build_sender(
        self, entry: AppriseNotifyConfig, config: Config, renderer: MessageRenderer
    ) -> Sender:
        return AppriseNotifySender(entry, renderer)


PROVIDER = AppriseNotify()
