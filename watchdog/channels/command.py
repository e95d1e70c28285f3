"""What the two command providers share: the program they run and what it is given.

``[[notify.command]]`` (``command_notify``) and ``[[tickets.command]]`` (``command_ticket``)
run a local program for each message: an SMS through a USB modem (``gammu-smsd-inject``,
``mmcli``), a local paging gateway, any script. It reaches people when nothing else can leave
the office: during a total cut, a modem on the 4G network still sends.

The program gets:

- on standard input, the message in words, rendered by the same templates as an email. By
  default the short form an SMS wants: the summary line, and the lateness line when the
  message leaves late (the webhooks' ``text``); with ``body = true``, the subject, a blank
  line and the whole text of the email.
- in its environment, the message's fields, as the built-in JSON payload names them
  (``render.JSON_KEYS``), in upper case after ``WATCHDOG_``: ``WATCHDOG_EVENT``,
  ``WATCHDOG_REFERENCE``, ``WATCHDOG_STATE``, ``WATCHDOG_STARTED_AT``... with the subject as
  ``WATCHDOG_SUBJECT`` and the number of older messages folded into this one as
  ``WATCHDOG_FOLDED``; plus ``WATCHDOG_KEY``, the message's idempotency key (the same on
  every attempt: a program can drop the duplicate a crash between running it and recording
  the result may cause), and ``WATCHDOG_CHANNEL``. An absent value is the empty string.

Its exit status is the verdict (0 delivered, 75 retry later, anything else refused for good;
see ``process``, which runs it); its first words are the proof of delivery.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

from watchdog.channels.provider import MessageRenderer, Outgoing, Provider, Sender, Sent

if TYPE_CHECKING:
    from watchdog.channels.process import ProgramSettings
    from watchdog.config.schema import Config

#: The prefix of every variable the watchdog sets for the program.
PREFIX: Final = "WATCHDOG_"
#: Payload keys whose variable is named otherwise: the subject is what people call it.
_RENAMED: Final = {"title": "SUBJECT"}
_VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class CommandFields:
    """The keys every command entry has; ``CommandNotifyConfig`` and ``CommandTicketConfig``
    add what routing reads (``events``, ``kinds``)."""

    name: str
    # The program and its arguments, one item each: no shell, nothing expanded.
    argv: list[str]
    # false: the short text (summary and lateness lines), for an SMS; true: the subject, a
    # blank line and the whole text, as in an email.
    body: bool = False
    # Variables added to the program's environment (its own settings, not secrets: the
    # message's fields come as WATCHDOG_*).
    environment: dict[str, str] = field(default_factory=dict)
    # The program is stopped (with everything it started) after this long, and run again
    # later.
    timeout: timedelta = field(default=timedelta(seconds=30),
                               metadata={"min": timedelta(seconds=0.1)})


def command_problems(entry: CommandFields, where: str) -> list[tuple[str, str]]:
    """A command entry's rules: a program named as exec finds it, variables with real names.

    ``where``: the entry's key path (``notify.command[0]``). Whether the program exists is
    not checked here: the service may see another PATH than the person running ``config
    check``; ``watchdog notify-test --channel NAME`` runs it.
    """
    found: list[tuple[str, str]] = []
    if not entry.argv or not entry.argv[0]:
        found.append((f"{where}.argv", 'must name a program, for example '
                      'argv = ["/usr/local/bin/watchdog-sms", "+33600000000"]'))
    elif "/" in entry.argv[0] and not entry.argv[0].startswith("/"):
        found.append((f"{where}.argv", f"{entry.argv[0]!r} is a relative path; give the "
                      "program's full path, or a name found on PATH"))
    for name in entry.environment:
        if not _VARIABLE_NAME.fullmatch(name):
            found.append((f"{where}.environment", f"{name!r} is not a variable name; use "
                          "letters, digits and _"))
        elif name.upper().startswith(PREFIX):
            found.append((f"{where}.environment", f"{name!r} is the watchdog's own; the "
                          f"message's fields come as {PREFIX}*, choose another name"))
    return found


def message_variables(outgoing: Outgoing, payload: dict[str, Any]) -> dict[str, str]:
    """The program's ``WATCHDOG_*`` variables: the JSON payload's fields, key and channel."""
    variables = {f"{PREFIX}KEY": outgoing.key, f"{PREFIX}CHANNEL": outgoing.channel}
    for key, value in payload.items():
        name = PREFIX + _RENAMED.get(key, key.upper())
        if isinstance(value, list):
            variables[name] = str(len(value))  # the folded messages: how many
        elif isinstance(value, bool):
            variables[name] = "true" if value else "false"
        else:
            variables[name] = "" if value is None else str(value)
    return variables


class CommandSender:
    """Renders each message to text and variables, and runs the program with them."""

    def __init__(self, entry: CommandFields, renderer: MessageRenderer) -> None:
        from watchdog.channels.process import ProgramSettings

        self.name = entry.name
        self.body = entry.body
        self.settings: ProgramSettings = ProgramSettings(
            tuple(entry.argv), entry.timeout.total_seconds(), dict(entry.environment))
        self.renderer = renderer

    def text(self, outgoing: Outgoing, sent_at: datetime, payload: dict[str, Any]) -> str:
        """What the program reads on its standard input (see the module's doc)."""
        if self.body:
            email = self.renderer.email(outgoing.context, sent_at)
            return f"{email.subject}\n\n{email.text}"
        return f"{payload['text'] or payload['title']}\n"

    def send(self, outgoing: Outgoing, sent_at: datetime) -> Sent:
        from watchdog.channels.process import run_program

        payload = json.loads(self.renderer.json_body(outgoing.context, sent_at))
        receipt = run_program(self.settings, self.text(outgoing, sent_at, payload),
                              message_variables(outgoing, payload))
        return Sent(receipt.reply, server=receipt.server, reply=receipt.reply)


CommandEntryT = TypeVar("CommandEntryT", bound=CommandFields)


class CommandProvider(Provider[CommandEntryT]):
    """What both command providers do alike: check an entry, build its sender. Each mixes
    this with ``NotifyChannel`` or ``TicketBackend``, which route it."""

    def problems(
        self, entry: CommandEntryT, where: str, config: Config
    ) -> list[tuple[str, str]]:
        return command_problems(entry, where)

    def reaches_without_internet(self, entry: CommandEntryT, config: Config) -> bool:
        # A local program: an SMS modem, a pager on the mobile network; no internet needed.
        return True

    def build_sender(
        self, entry: CommandEntryT, config: Config, renderer: MessageRenderer
    ) -> Sender:
        return CommandSender(entry, renderer)
