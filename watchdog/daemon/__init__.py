"""The daemon: ``watchdog run``. ``cadence`` decides when to probe (pure), ``runner`` does it."""
