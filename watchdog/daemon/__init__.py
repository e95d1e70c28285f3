"""The daemon: ``watchdog run``. ``monitor`` watches one link (plan, tracker, cycle), ``cadence``
decides when to probe (pure), ``runner`` is the service shell around one monitor per link."""
