"""connectivity-watchdog: the office's own witness of its internet link."""

__version__ = "0.1.0"
