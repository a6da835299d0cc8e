"""Dead letters: accepted events the worker could not store (kept in `dead_events` with the reason,
worker/tasks.py), listed, stored again once the cause is fixed, or dropped.

Requeue stores each event here, with the worker's own idempotent statement (common/store.py), and removes its
dead letter in the same transaction: an event stored meanwhile is skipped, never counted twice, and the
operator sees at once which events still fail (they stay, with the new reason).
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec
import psycopg

from common.db import Conn
from common.event import Event
from common.store import StoreOptions, store_events


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    created_at: datetime
    campaign_id: int | None
    event_type: str | None
    email: str | None
    error: str


@dataclass
class Requeued:
    stored: int = 0  # new rows in events
    already: int = 0  # stored before (by a redelivery, or an earlier requeue)
    failed: int = 0  # still failing: kept, with the new reason


def count(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM dead_events").fetchone()
    return int(row[0]) if row else 0


def listing(conn: Conn, *, limit: int) -> list[DeadLetter]:
    """The newest `limit` dead letters."""
    rows = conn.execute("""SELECT id, created_at, (payload ->> 'cid')::int, payload ->> 'type', payload ->> 'email',
                                  error
                           FROM dead_events ORDER BY created_at DESC, id DESC LIMIT %s""", (limit,))
    return [DeadLetter(*row) for row in rows]


def missing(conn: Conn, ids: list[int]) -> list[int]:
    """Which of `ids` are not dead letters."""
    found = {row[0] for row in conn.execute("SELECT id FROM dead_events WHERE id = ANY(%s)", (ids,))}
    return [i for i in ids if i not in found]


def _selected(conn: Conn, ids: list[int] | None) -> list[int]:
    if ids is None:
        return [row[0] for row in conn.execute("SELECT id FROM dead_events ORDER BY id")]
    return ids


def requeue(conn: Conn, ids: list[int] | None, options: StoreOptions,
            progress: Callable[[], None] = lambda: None) -> Requeued:
    """Store the dead letters `ids` (None: all of them) one by one, each removed once stored."""
    done = Requeued()
    for dead_id in _selected(conn, ids):
        try:
            with conn.transaction():
                row = conn.execute("SELECT payload FROM dead_events WHERE id = %s FOR UPDATE", (dead_id,)).fetchone()
                if row is None:  # requeued or dropped by someone else meanwhile
                    continue
                event = msgspec.convert(row[0], Event)
                if store_events(conn, [event], options):
                    done.stored += 1
                else:
                    done.already += 1
                conn.execute("DELETE FROM dead_events WHERE id = %s", (dead_id,))
        except psycopg.OperationalError:
            raise  # the database went away: nothing more can be stored or recorded
        except Exception as exc:  # a bad payload, a constraint: kept with its reason, as the worker does
            done.failed += 1
            conn.execute("UPDATE dead_events SET error = %s WHERE id = %s", (repr(exc)[:2000], dead_id))
        progress()
    return done


def drop(conn: Conn, ids: list[int] | None) -> int:
    """Delete the dead letters `ids` (None: all of them); returns how many."""
    if ids is None:
        return conn.execute("DELETE FROM dead_events").rowcount
    return conn.execute("DELETE FROM dead_events WHERE id = ANY(%s)", (ids,)).rowcount
