"""When a waiting message's news is stale: the folding rule. Pure.

A message waits in the outbox while its channel cannot deliver (the link is down, the relay
unreachable); meanwhile its incident moves on and newer messages queue behind it. When the
channel can deliver again, sending every one of them would be a burst of stale news: "cut
since 09:32", "cut since 09:32, ticket opened", "back after 1 min" in the same second, or a
helpdesk getting four reminders at once after a four-day cut. So, at the moment the oldest
waiting message of a channel can finally leave (it is due), the outbox asks whether a newer
message of the same incident, on the same channel, due too, makes it stale:

* For people (a notification channel): any newer notice of the incident does. Every notice
  tells the incident's state; the newest one that can leave is the current news, and it
  lists the older ones (what happened, when, how often it was tried).
* For a ticket backend: a newer reminder makes an older reminder stale. The ticket report
  (``ticket_open``: the thread's root, the REST helpdesk's ticket id) and the closing message
  (``ticket_close``: the record of the repair) never fold, and nothing folds into them: the
  helpdesk always gets the report, one reminder listing every reminder that fell due while
  nothing could leave, then the close.

The stale message is then ``folded``: never sent, kept with every attempt it had, and its
``folded_into`` names the message that carries its news. A message without an incident (a
test, a monitoring gap, a degraded notice) never folds; a flapping incident's grouped notices
are still superseded within their group first (``outbox.enqueue``).

Only messages that are due take part: a newer message still waiting for its turn (a flapping
incident's rate limit) does not hold an older one's news back.
"""

from __future__ import annotations

from typing import Final

from watchdog.vocabulary import MessageEvent, audience_of

#: People's notices about an incident: any newer one is the current news.
INCIDENT_NOTICES: Final[frozenset[MessageEvent]] = frozenset({
    "outage_started", "lan_fault", "ticket_opened", "escalated", "recovered",
})
#: A ticket backend's messages that fold into a newer one of the same event.
FOLDED_TICKET_EVENTS: Final[frozenset[MessageEvent]] = frozenset({"ticket_reminder"})


def folds_into(older: str, newer: str) -> bool:
    """Whether a waiting message of event ``older`` is made stale by a newer message of event
    ``newer`` of the same incident on the same channel (both due)."""
    if audience_of(older) != audience_of(newer):
        return False
    if audience_of(older) == "notify":
        return older in INCIDENT_NOTICES and newer in INCIDENT_NOTICES
    return older in FOLDED_TICKET_EVENTS and newer == older
