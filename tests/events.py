"""Events in tests: written as the wire carries them (plain dicts under common/event.py's JSON names: cid, type,
ua, extra, ts), turned into Events, and stored the way the worker stores them."""
from typing import Any

import psycopg

from common.config import get_settings
from common.event import Batch, Event, from_wire
from common.store import StoreOptions, store_events

Wire = dict[str, Any]
# A person's browser: events with it are people (unless their network says otherwise).
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def events(items: list[Wire] | Batch) -> Batch:
    """Events from wire dicts (Events pass through)."""
    return [item if isinstance(item, Event) else from_wire([item])[0] for item in items]


def store(conn: psycopg.Connection[Any], items: list[Wire] | Batch) -> int:
    """common.store.store_events with this run's burst window; returns how many events were new."""
    return store_events(conn, events(items), StoreOptions.of(get_settings()))
