"""Every context the incident code stores has the shape the templates are written against."""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from tests.incidents.conftest import query
from tests.incidents.test_lifecycle import HOUR, down, tick, up
from tests.store.store_helpers import T0, at, cycle, transition
from watchdog.config import Config
from watchdog.delivery.message_context import MessageContext
from watchdog.incidents.context import base
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK, MESSAGE_EVENTS


def shape_problems(value: Mapping[str, Any], shape: type, where: str) -> list[str]:
    """What in ``value`` does not follow the TypedDict ``shape``: missing or unknown keys."""
    declared = typing.get_type_hints(shape)
    # Not __required_keys__: under postponed annotations Python 3.11 counts NotRequired keys in.
    required = {key for key, annotation in typing.get_type_hints(shape, include_extras=True).items()
                if typing.get_origin(annotation) is not typing.NotRequired}
    problems = [f"{where}.{key} is missing" for key in sorted(required - value.keys())]
    problems += [f"{where}.{key} is not declared" for key in sorted(value.keys() - declared)]
    for key, annotation in declared.items():
        options = typing.get_args(annotation) or (annotation,)
        parts = [option for option in options if typing.is_typeddict(option)]
        items = [typing.get_args(option)[0] for option in options
                 if typing.get_origin(option) is list]
        current = value.get(key)
        if parts and isinstance(current, Mapping):
            problems += shape_problems(current, parts[0], f"{where}.{key}")
        if items and typing.is_typeddict(items[0]) and isinstance(current, list):
            for index, item in enumerate(current):
                problems += shape_problems(item, items[0], f"{where}.{key}[{index}]")
    return problems


def test_every_stored_context_has_the_message_shape(store: Store, config: Config) -> None:
    up(store, 0)
    down(store, 10)
    for seconds in range(1800, int(5 * HOUR), 1800):
        tick(store, seconds)  # the ticket opens, the GTR reminder goes out
    up(store, 5 * HOUR)
    down(store, 5 * HOUR + 60)  # a second cut of the same incident: the ticket reopens
    up(store, 5 * HOUR + 120)
    store.record_cycle(cycle(at(6 * HOUR)), [transition("degraded", at(6 * HOUR))], [],
                       at(6 * HOUR + 4), link=DEFAULT_LINK)
    store.shutdown(at(6 * HOUR + 10))
    store.resume(at(8 * HOUR), timedelta(seconds=2), link=DEFAULT_LINK)  # a gap: monitor_gap
    down(store, 9 * HOUR, "lan")
    contexts = [json.loads(text) for (text,) in query(store, "SELECT context FROM outbox")]
    contexts.append(json.loads(json.dumps(base(config, "test", "management", T0))))
    assert {context["event"] for context in contexts} == set(MESSAGE_EVENTS)
    for context in contexts:
        assert shape_problems(context, MessageContext, context["event"]) == []
