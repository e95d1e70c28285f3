"""Logging: structlog events, JSON lines for machines, readable lines on a terminal.

The daemon logs one event per transition (state, cause, since), never a line per probe.
Libraries' stdlib logs (APScheduler's) go through the same renderer, so the journal holds
one format. Under systemd each line starts with its syslog priority (``<3>`` error,
``<4>`` warning, ``<6>`` info), so ``journalctl -p warning`` works.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, TextIO

# structlog imports its deprecated ``structlog.threadlocal`` with itself, which keeps
# greenlet-local storage instead of thread-local when greenlet is importable, and so loads
# greenlet and the C++ runtime it links (1.2 MB resident, bench.resources). The watchdog uses
# neither greenlets nor that module, and its service environment has no greenlet (only the
# test environment does, for Playwright): marking structlog's greenlet module as absent keeps
# greenlet out of every environment alike. A no-op when structlog is already imported. (None
# in sys.modules is Python's documented "this module cannot be imported"; typeshed allows
# modules only.)
sys.modules.setdefault("structlog._greenlets", None)  # type: ignore[arg-type]

import structlog  # noqa: E402 (after the line above, on purpose)
from structlog.typing import EventDict, Processor, WrappedLogger  # noqa: E402

# sd-daemon(3) priority prefixes by level name.
_PRIORITY = {"critical": 2, "error": 3, "exception": 3, "warning": 4, "info": 6, "debug": 7}


def _journal_prefix(renderer: Processor) -> Processor:
    """Wrap a renderer so its line starts with ``<N>`` for journald."""

    def render(logger: WrappedLogger, name: str, event: EventDict) -> Any:
        level = str(event.get("level", name)).lower()
        line = renderer(logger, name, event)
        text = line.decode() if isinstance(line, bytes) else str(line)
        return f"<{_PRIORITY.get(level, 6)}>{text}"

    return render


def configure(
    *, json: bool | None = None, level: str = "info", stream: TextIO | None = None
) -> None:
    """Set up structlog and the stdlib root logger.

    ``json`` None picks JSON when ``stream`` is not a terminal. Under systemd (``JOURNAL_STREAM``
    set) JSON lines carry a syslog priority prefix.
    """
    stream = stream or sys.stdout
    use_json = (not stream.isatty()) if json is None else json
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if use_json:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
        if os.environ.get("JOURNAL_STREAM"):
            renderer = _journal_prefix(renderer)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every job run and alembic every plugin at INFO: keep their warnings
    # (a skipped run, a failed migration), not the chatter.
    for chatty in ("apscheduler", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # A server that sends broken headers (a hostile or half-dead one) makes urllib3 warn with
    # a whole traceback at every check; the web check reports that failure itself.
    logging.getLogger("urllib3.connection").setLevel(logging.ERROR)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def configure_for_command(level: str = "warning") -> None:
    """Logging for a short command (not ``run``): its stdout is its output, for people and
    programs, so log events go to stderr, and only from ``level`` up."""
    structlog.configure(
        processors=[structlog.processors.add_log_level,
                    structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # sys.stderr as it is when logging, not when configured: a test may have swapped it.
    return structlog.PrintLogger(sys.stderr)


def get_logger(name: str = "watchdog") -> Any:
    """A structlog logger; events are keyword fields: ``log.info("link_state", state="down")``."""
    return structlog.stdlib.get_logger(name)
