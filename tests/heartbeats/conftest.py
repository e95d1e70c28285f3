"""The channels' loopback servers and dead ports serve the heartbeat tests too."""

from tests.channels.conftest import closed_port, receiver, silent_port

__all__ = ["closed_port", "receiver", "silent_port"]
