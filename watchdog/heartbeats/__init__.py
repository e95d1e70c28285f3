"""The dead-man's switch: the link's state sent to an outside service every interval.

``site`` (which state a heartbeat reports), ``pings`` (what it says), ``styles`` (the request
for healthchecks or Uptime Kuma) are pure; ``transport`` sends one request. The daemon's job
that runs them is ``watchdog.daemon.heartbeats``; the record of the last one sent is the
store's (``store.heartbeat_pings``, read by ``store.heartbeat_reader``).

Heartbeats are not outbox messages: each is worth something only when it is sent, so a
heartbeat that cannot leave is not kept for later; the next one, an interval on, says the
state of then. During a total cut none arrives, and that silence is the outside service's
alarm.
"""
