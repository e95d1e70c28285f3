"""``[[notify.command]]``: a local program told of each event, such as an SMS through a modem.

The program gets the message on its standard input (the short text by default, what an SMS
wants) and its fields in ``WATCHDOG_*`` variables; it exits with 0 when it took the message,
75 to be run again later, anything else to refuse it for good (``command`` and ``process``
say the rest). A USB modem on the mobile network reaches people while the office's line is
cut: that is what this channel is for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watchdog.channels.command import CommandFields, CommandProvider
from watchdog.channels.provider import NotifyChannel, all_events
from watchdog.vocabulary import NotifyEvent


@dataclass(frozen=True)
class CommandNotifyConfig(CommandFields):
    events: list[NotifyEvent] = field(default_factory=all_events)


class CommandNotify(CommandProvider[CommandNotifyConfig], NotifyChannel[CommandNotifyConfig]):
    key = "command"
    config_type = CommandNotifyConfig


PROVIDER = CommandNotify()
