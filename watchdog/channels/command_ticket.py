"""``[[tickets.command]]``: a local program that files the ticket (a helpdesk's own command
line tool, a script, an SMS to the provider's on-call number).

Each ticket message (the report, the reminders, the closing) runs the program once, with the
message on its standard input and its fields in ``WATCHDOG_*`` variables: ``WATCHDOG_EVENT``
says which message it is, ``WATCHDOG_REFERENCE`` the ticket's reference. It exits with 0 when
it took the message, 75 to be run again later, anything else to refuse it for good
(``command`` and ``process`` say the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watchdog.channels.command import CommandFields, CommandProvider
from watchdog.channels.provider import TicketBackend, isp_kinds
from watchdog.vocabulary import OutageKind


@dataclass(frozen=True)
class CommandTicketConfig(CommandFields):
    # Outage kinds this backend takes: the ISP gets isp and dns; the office's IT gets lan.
    kinds: list[OutageKind] = field(default_factory=isp_kinds)


class CommandTicket(CommandProvider[CommandTicketConfig], TicketBackend[CommandTicketConfig]):
    key = "command"
    config_type = CommandTicketConfig


PROVIDER = CommandTicket()
