"""Retention: old events go, and the rollups still equal a recount of what remains."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from common.db import connect
from common.retention import delete_batch
from tests.checks import assert_rollups_match_recount, event_count
from tests.events import store

DAY = 86_400


def _events(
    conn: psycopg.Connection[Any], cid: int, specs: list[tuple[str, str, str, float]]
) -> list[dict[str, Any]]:
    ids = [
        r[0]
        for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (len(specs),))
    ]
    return [
        {
            "id": i,
            "cid": cid,
            "type": t,
            "email": e,
            "domain": d,
            "ip": "198.51.100.1",
            "ua": "Mozilla/5.0 (compatible; SafeLinks)"
            if e.startswith("bot")
            else "Mozilla/5.0 Firefox/120.0",
            "extra": {},
            "ts": ts,
        }
        for i, (t, e, d, ts) in zip(ids, specs, strict=True)
    ]


def test_retention__deletes_old_events_and_keeps_rollups_equal_to_recount(
    db: psycopg.Connection, campaign_id: int
) -> None:
    now = time.time()
    old, new = now - 40 * DAY, now - 1 * DAY
    store(
        db,
        _events(
            db,
            campaign_id,
            [
                ("email_click", "gone@x.com", "a.com", old),  # only old events: the journey disappears
                ("landing_click", "gone@x.com", "a.com", old),
                ("email_click", "mixed@x.com", "a.com", old),  # old click goes, new conversion stays
                ("conversion", "mixed@x.com", "a.com", new),
                ("email_click", "bot@x.com", "b.com", old),  # the only recipient of b.com: its stats go too
                ("email_click", "fresh@x.com", "a.com", new),
                ("email_click", "fresh@x.com", "a.com", old),
            ],
        ),
    )
    cutoff = datetime.fromtimestamp(now - 30 * DAY, UTC).replace(tzinfo=None)
    assert delete_batch(db, cutoff=cutoff, batch=2, timezone="UTC") == 2  # batches are bounded
    while delete_batch(db, cutoff=cutoff, batch=2, timezone="UTC") > 0:
        pass
    # Retention is not per campaign: the loop also deleted old events other tests stored in this database,
    # so what is checked is this campaign's: its five old events went, its two recent ones stayed.
    assert event_count(db, campaign_id) == 2
    journeys = db.execute(
        "SELECT email, first_seen > %s FROM journeys WHERE campaign_id = %s ORDER BY email",
        (cutoff, campaign_id),
    ).fetchall()
    assert journeys == [("fresh@x.com", True), ("mixed@x.com", True)]
    assert [
        r[0] for r in db.execute("SELECT domain FROM domain_stats WHERE campaign_id = %s", (campaign_id,))
    ] == ["a.com"]
    assert_rollups_match_recount(db, campaign_id)


def test_retention__nothing_old__nothing_deleted(fresh_database: str) -> None:
    # A database of its own: retention is not per campaign, and the run's database may hold old events of
    # tests that ran before this one in the same process (which ones depends on pytest-xdist's distribution).
    with connect(fresh_database) as conn:
        row = conn.execute("INSERT INTO campaigns (name, offer_url) VALUES ('Recent only', 'https://o.example/') "
                           "RETURNING id").fetchone()
        assert row is not None
        campaign_id = int(row[0])
        store(conn, _events(conn, campaign_id, [("email_click", "a@x.com", "a.com", time.time())]))
        cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
        assert delete_batch(conn, cutoff=cutoff, batch=100, timezone="UTC") == 0
        assert event_count(conn, campaign_id) == 1


def test_retention__batches_go_oldest_first_through_the_hours_the_rollups_list(
    db: psycopg.Connection, campaign_id: int
) -> None:
    """Each batch is looked for in the oldest hours whose events (hourly_stats) add up to a batch; the last,
    short one through everything before the cutoff. Times older than any other test's, so that only these go."""
    ancient = time.time() - 3000 * DAY
    hours = [0, 0, 3, 3, 3, 7, 30]  # a batch of 2 takes hour 0; the next, two of hour 3; then hour 3 and 7
    events = _events(db, campaign_id, [("email_click", f"u{n}@x.com", "a.com", ancient + h * 3600 + n)
                                       for n, h in enumerate(hours)])
    store(db, events + _events(db, campaign_id, [("email_click", "kept@x.com", "a.com", time.time())]))
    cutoff = datetime.fromtimestamp(ancient + 10 * 3600, UTC).replace(tzinfo=None)
    left = [e["id"] for e in events]
    for taken in ([0, 1], [2, 3], [4, 5]):
        assert delete_batch(db, cutoff=cutoff, batch=2, timezone="UTC") == 2
        left = [i for i in left if i not in {events[t]["id"] for t in taken}]
        assert sorted(r[0] for r in db.execute("SELECT id FROM events WHERE campaign_id = %s AND created_at < now() "
                                               "- interval '1 day'", (campaign_id,))) == sorted(left)
    assert delete_batch(db, cutoff=cutoff, batch=2, timezone="UTC") == 0  # hour 30 is past the cutoff
    assert event_count(db, campaign_id) == 2
    assert_rollups_match_recount(db, campaign_id)


def test_retention__its_statements_are_never_prepared(db: psycopg.Connection, campaign_id: int) -> None:
    """psycopg prepares a statement after five runs on a connection; a prepared forget got a generic plan, ten
    times slower than a planned one at 10 M events (docs/performance.md, Session 9). A run is many batches."""
    ancient = time.time() - 2000 * DAY
    store(db, _events(db, campaign_id, [("email_click", f"p{n}@x.com", "a.com", ancient + n * 3600) for n in range(8)]))
    cutoff = datetime.fromtimestamp(ancient + 20 * 3600, UTC).replace(tzinfo=None)
    prepared = "SELECT statement FROM pg_prepared_statements"  # this connection's
    before = {r[0] for r in db.execute(prepared)}  # the ingest statement asks to be prepared
    for _ in range(8):
        assert delete_batch(db, cutoff=cutoff, batch=1, timezone="UTC") == 1
    # Those whose plan depends on the batch's ids and times (the constant ones may be: the advisory lock...).
    assert not [s for s in {r[0] for r in db.execute(prepared)} - before
                if any(table in s for table in ("events", "journeys", "report_queue", "hourly_stats"))]
    assert_rollups_match_recount(db, campaign_id)
