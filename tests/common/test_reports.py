"""report_stats against Postgres: ingest queues, the fold counts, first touches move, retention takes away, the
cap folds the long tail into "(other)", and rebuild recomputes; each case ends with the recount."""
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from common.campaigns import purge_campaign
from common.config import get_settings
from common.report_slots import SlotError, add_pair, add_slot, slots
from common.reports import backfill_step, fold, rebuild
from common.retention import delete_batch
from tests.checks import assert_reports_match_recount, assert_rollups_match_recount
from tests.events import CHROME, store

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
        "Mobile/15E148 Safari/604.1")
NOON = 1_764_072_000.0  # 2025-11-25 12:00 UTC, a Tuesday


def _wire(conn: psycopg.Connection[Any], cid: int, event_type: str, email: str, *, ts: float = NOON,
          ua: str = CHROME, extra: dict[str, Any] | None = None, domain: str = "a.com",
          payout: str | None = None) -> dict[str, Any]:
    (event_id,) = conn.execute("SELECT nextval('events_id_seq')").fetchone()
    return {"id": event_id, "cid": cid, "type": event_type, "email": email, "domain": domain,
            "ip": "90.0.0.1", "ua": ua, "extra": extra or {}, "ts": ts,
            **({"payout": payout} if payout else {})}


def _fold(conn: psycopg.Connection[Any]) -> int:
    settings = get_settings()
    return fold(conn, timezone=settings.dashboard_timezone, max_values=settings.report_max_values)


def _rows(conn: psycopg.Connection[Any], cid: int, dimension: str) -> dict[str, tuple[int, ...]]:
    return {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT value, sum(email_clicks)::int, sum(bot_email_clicks)::int, sum(conversions)::int, "
        "sum(revenue)::float, sum(email_click_users)::int, sum(conversion_users)::int "
        "FROM report_stats WHERE campaign_id = %s AND dimension = %s GROUP BY value", (cid, dimension))}


def test_fold__counts_events_per_dimension_and_recipients_once(db: psycopg.Connection, campaign_id: int) -> None:
    utm = {"utm_source": "news", "utm_medium": "email", "sub1": "x"}
    store(db, [_wire(db, campaign_id, "email_click", "a@x.com", ua=IPHONE, extra=utm),
               _wire(db, campaign_id, "email_click", "a@x.com", ua=IPHONE, ts=NOON + 60, extra=utm),
               _wire(db, campaign_id, "email_click", "b@x.com", ua=CHROME),
               _wire(db, campaign_id, "email_click", "c@x.com", ua=IPAD, extra={"utm_source": "ads"}),
               _wire(db, campaign_id, "conversion", "a@x.com", ua=IPHONE, extra=utm, payout="12.50"),
               _wire(db, campaign_id, "email_click", "bot@x.com", ua="Mozilla/5.0 (compatible; SafeLinks)")])
    assert db.execute("SELECT count(*) FROM report_stats WHERE campaign_id = %s", (campaign_id,)).fetchone() == (0,)
    assert _fold(db) >= 6
    # (email clicks, of them bots, conversions, revenue, email-click recipients, converting recipients)
    assert _rows(db, campaign_id, "device") == {
        "mobile": (2, 0, 1, 12.5, 1, 1), "desktop": (1, 0, 0, 0.0, 1, 0), "tablet": (1, 0, 0, 0.0, 1, 0),
        "other": (1, 1, 0, 0.0, 1, 0)}
    assert _rows(db, campaign_id, "utm_source") == {
        "news": (2, 0, 1, 12.5, 1, 1), "ads": (1, 0, 0, 0.0, 1, 0), "": (2, 1, 0, 0.0, 2, 0)}
    assert _rows(db, campaign_id, "country")["FR"][0] == 5  # 90.0.0.1
    assert _rows(db, campaign_id, "network")["Orange"][0] == 5
    assert set(_rows(db, campaign_id, "weekday")) == {"2"}
    assert set(_rows(db, campaign_id, "hour")) == {"12"}
    assert _fold(db) == 0  # the queue is empty: nothing counted twice
    assert_rollups_match_recount(db, campaign_id)


def test_fold__a_late_earlier_event_moves_the_recipient(db: psycopg.Connection, campaign_id: int) -> None:
    store(db, [_wire(db, campaign_id, "email_click", "late@x.com", extra={"utm_source": "second"})])
    _fold(db)
    assert _rows(db, campaign_id, "utm_source")["second"][4] == 1
    store(db, [_wire(db, campaign_id, "email_click", "late@x.com", ts=NOON - 3 * 86_400,
                     extra={"utm_source": "first"})])
    _fold(db)
    rows = _rows(db, campaign_id, "utm_source")
    assert (rows["first"][4], rows["second"][4]) == (1, 0)
    assert_reports_match_recount(db, campaign_id)


def test_retention__takes_events_out_and_moves_recipients_to_their_next_event(
        db: psycopg.Connection, campaign_id: int) -> None:
    now = time.time()
    store(db, [_wire(db, campaign_id, "email_click", "r@x.com", ts=now - 40 * 86_400, extra={"utm_source": "old"}),
               _wire(db, campaign_id, "email_click", "r@x.com", ts=now - 1 * 86_400, extra={"utm_source": "new"}),
               _wire(db, campaign_id, "email_click", "s@x.com", ts=now - 41 * 86_400, extra={"utm_source": "old"})])
    _fold(db)
    # One more old event still queued when retention comes: dropped from the queue, never counted.
    store(db, [_wire(db, campaign_id, "email_click", "t@x.com", ts=now - 42 * 86_400)])
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    while delete_batch(db, cutoff=cutoff, batch=2, timezone=get_settings().dashboard_timezone):
        pass
    _fold(db)
    rows = _rows(db, campaign_id, "utm_source")
    assert rows == {"new": (1, 0, 0, 0.0, 1, 0)}  # the old days' rows are gone with their events
    assert_rollups_match_recount(db, campaign_id)


@pytest.fixture
def cap_of_three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "report_max_values", 3)


@pytest.mark.usefixtures("cap_of_three")
def test_cap__values_past_it_are_counted_in_other(db: psycopg.Connection, campaign_id: int) -> None:
    store(db, [_wire(db, campaign_id, "email_click", f"u{i}@x.com", extra={"click_id": f"c{i}", "utm_term": f"t{i}"})
               for i in range(3)])
    _fold(db)
    # Later values of the day find it full; a busy one in the same fold gets a row first.
    store(db, [*(_wire(db, campaign_id, "email_click", f"v{i}@x.com", extra={"utm_term": f"late{i}"})
                 for i in range(4)), _wire(db, campaign_id, "email_click", "w@x.com", extra={"utm_term": "t0"})])
    _fold(db)
    rows = _rows(db, campaign_id, "utm_term")
    assert set(rows) == {"t0", "t1", "t2", "(other)"}
    assert rows["(other)"][0] == 4 and rows["t0"][0] == 2
    assert_reports_match_recount(db, campaign_id)


@pytest.mark.usefixtures("cap_of_three")
def test_rebuild__recomputes_a_campaign_from_its_events(db: psycopg.Connection, campaign_id: int) -> None:
    store(db, [_wire(db, campaign_id, "email_click", f"u{i}@x.com", extra={"utm_term": "busy" if i % 2 else f"t{i}"})
               for i in range(10)])
    _fold(db)
    db.execute("UPDATE report_stats SET email_clicks = 999 WHERE campaign_id = %s", (campaign_id,))
    settings = get_settings()
    assert rebuild(db, campaign_id, timezone=settings.dashboard_timezone, max_values=3) == 10
    rows = _rows(db, campaign_id, "utm_term")
    assert rows["busy"][0] == 5 and rows["(other)"][0] == 3  # the busiest values get the rows
    assert_reports_match_recount(db, campaign_id)


def test_campaign_deletion__takes_its_report_rows_and_queued_events(db: psycopg.Connection, campaign_id: int) -> None:
    store(db, [_wire(db, campaign_id, "email_click", "a@x.com")])
    _fold(db)
    store(db, [_wire(db, campaign_id, "email_click", "b@x.com")])  # still queued when the campaign goes
    db.execute("UPDATE campaigns SET deleted_at = now() WHERE id = %s", (campaign_id,))
    _fold(db)  # a deleted campaign's queued events are dropped, not counted
    assert _rows(db, campaign_id, "domain")["a.com"][0] == 1
    purge_campaign(db, campaign_id)
    assert db.execute("SELECT count(*) FROM report_stats WHERE campaign_id = %s", (campaign_id,)).fetchone() == (0,)


def test_param_slot__backfills_day_by_day_while_the_fold_goes_on(db: psycopg.Connection, campaign_id: int) -> None:
    settings = get_settings()
    options = {"timezone": settings.dashboard_timezone, "max_values": settings.report_max_values}
    now = time.time()
    store(db, [_wire(db, campaign_id, "email_click", f"u{i}@x.com", ts=now - (i % 3) * 86_400,
                     extra={"sub1": f"pub{i % 4}"}) for i in range(12)])
    _fold(db)
    add_slot(db, campaign_id, "sub1")
    with pytest.raises(SlotError):
        add_slot(db, campaign_id, "_tracker")
    assert_reports_match_recount(db, campaign_id)  # nothing of it counted yet: filled through no day
    assert backfill_step(db, **options)  # the oldest day
    # Events arrive meanwhile: on a filled day (the fold counts them) and on one still to fill.
    store(db, [_wire(db, campaign_id, "email_click", "late@x.com", ts=now - 2 * 86_400, extra={"sub1": "pub0"}),
               _wire(db, campaign_id, "email_click", "u0@x.com", ts=now - 1 * 86_400, extra={"sub1": "pub9"})])
    assert_reports_match_recount(db, campaign_id)
    while backfill_step(db, **options):
        assert_reports_match_recount(db, campaign_id)
    assert slots(db, campaign_id)[0].filled
    rows = _rows(db, campaign_id, "param:sub1")
    assert sum(r[0] for r in rows.values()) == 14 and rows["pub0"][0] == 4
    assert sum(r[4] for r in rows.values()) == 13  # u0 counts once, at its first email click


def test_fold__a_backlog_in_batches_counts_first_touches_once(db: psycopg.Connection, campaign_id: int,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue longer than a fold statement takes: the batches split journeys, and a recipient's first touch
    moves to an earlier event folded in a later batch, ending equal to a recount."""
    monkeypatch.setattr("common.reports.FOLD_BATCH", 7)
    # Ids are handed out in order, the times in reverse: each recipient's earliest events come last.
    store(db, [_wire(db, campaign_id, "email_click", f"r{n % 5}@x.com", ts=NOON - 60 * n, ua=(IPHONE, CHROME)[n % 2],
                     extra={"utm_source": f"s{n % 3}"}) for n in range(40)])
    queued = db.execute("SELECT count(*) FROM report_queue").fetchone()
    assert queued is not None and queued[0] >= 40
    assert _fold(db) == queued[0]
    assert db.execute("SELECT count(*) FROM report_queue").fetchone() == (0,)
    assert_reports_match_recount(db, campaign_id)
    assert sum(users for *_, users, _ in _rows(db, campaign_id, "domain").values()) == 5


def test_pair_slot__backfilled_folded_forgotten_and_rebuilt_exactly(db: psycopg.Connection, campaign_id: int) -> None:
    """A pair (utm_source then param sub1) is filled day by day while the fold goes on, then retention takes
    its oldest day, and a rebuild recomputes it: each step equals the recount (tests/checks.py)."""
    settings = get_settings()
    options = {"timezone": settings.dashboard_timezone, "max_values": settings.report_max_values}
    now = time.time()
    store(db, [_wire(db, campaign_id, "email_click", f"u{i}@x.com", ts=now - (i % 3) * 86_400 - (i % 2) * 40 * 86_400,
                     ua=(IPHONE, CHROME)[i % 2], extra={"utm_source": f"s{i % 2}", "sub1": f"p{i % 3}"})
               for i in range(12)])
    _fold(db)
    assert add_pair(db, campaign_id, "utm_source", "param:sub1") == "utm_source|param:sub1"
    assert add_pair(db, campaign_id, "device", "hour") == "device|hour"
    assert_reports_match_recount(db, campaign_id)
    assert backfill_step(db, **options)
    store(db, [_wire(db, campaign_id, "email_click", "late@x.com", ts=now - 80 * 86_400, extra={"utm_source": "s0"}),
               _wire(db, campaign_id, "conversion", "u0@x.com", ts=now, extra={"utm_source": "s0", "sub1": "p0"})])
    assert_reports_match_recount(db, campaign_id)
    while backfill_step(db, **options):
        assert_reports_match_recount(db, campaign_id)
    assert all(s.filled for s in slots(db, campaign_id))
    rows = _rows(db, campaign_id, "utm_source|param:sub1")
    assert sum(r[0] for r in rows.values()) == 13 and rows["s0\x1fp0"][0] == 2 and rows["s0\x1f"][0] == 1
    assert rows["s0\x1fp0"][5] == 1  # u0's conversion
    assert set(_rows(db, campaign_id, "device|hour")) <= {f"{d}\x1f{h:02d}" for d in ("mobile", "desktop")
                                                          for h in range(24)}
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    while delete_batch(db, cutoff=cutoff, batch=3, timezone=settings.dashboard_timezone):
        pass
    assert sum(r[0] for r in _rows(db, campaign_id, "utm_source|param:sub1").values()) == 6
    assert_rollups_match_recount(db, campaign_id)
    db.execute("UPDATE report_stats SET email_clicks = 999 WHERE campaign_id = %s", (campaign_id,))
    rebuild(db, campaign_id, **options)
    assert_reports_match_recount(db, campaign_id)


@pytest.mark.usefixtures("cap_of_three")
def test_pair_slot__capped_and_its_separator_kept_out_of_values(db: psycopg.Connection, campaign_id: int) -> None:
    add_pair(db, campaign_id, "param:a", "param:b")
    # No days yet: filled when chosen, nothing for the backfill.
    assert not backfill_step(db, timezone=get_settings().dashboard_timezone, max_values=3)
    store(db, [_wire(db, campaign_id, "email_click", f"u{i}@x.com", extra={"a": f"x{i}", "b": "y"}) for i in range(5)]
          + [_wire(db, campaign_id, "email_click", "s@x.com", extra={"a": "1\x1f2", "b": "3"})])
    _fold(db)
    rows = _rows(db, campaign_id, "param:a|param:b")
    assert len(rows) == 4 and rows["(other)"][0] == 3
    assert_reports_match_recount(db, campaign_id)
    db.execute("DELETE FROM report_stats WHERE campaign_id = %s", (campaign_id,))
    rebuild(db, campaign_id, timezone=get_settings().dashboard_timezone, max_values=10)
    assert "1\ufffd2\x1f3" in _rows(db, campaign_id, "param:a|param:b")  # one separator: it splits back in two


def test_pair_slot__choices_checked(db: psycopg.Connection, campaign_id: int) -> None:
    for by, then, reason in (("country", "country", "two different"), ("nope", "device", "no dimension"),
                             ("country", "param:_x", "tracker's own")):
        with pytest.raises(SlotError, match=reason):
            add_pair(db, campaign_id, by, then)
    for then in ("device", "os", "browser"):
        add_pair(db, campaign_id, "country", then)
    assert add_pair(db, campaign_id, "country", "os") == "country|os"  # chosen twice: as it is
    with pytest.raises(SlotError, match="at most 3 pairs"):
        add_pair(db, campaign_id, "country", "network")
    add_slot(db, campaign_id, "k")  # parameters have their own 5
    # A key with "|" whose slot would take a pair's name.
    db.execute("DELETE FROM report_slots WHERE campaign_id = %s AND then_dimension = 'browser'", (campaign_id,))
    add_slot(db, campaign_id, "x|device")
    with pytest.raises(SlotError, match="already the name"):
        add_pair(db, campaign_id, "param:x", "device")


def test_pair_slot__a_key_with_the_pipe_is_one_half(db: psycopg.Connection, campaign_id: int) -> None:
    """A `param:` key may hold "|": chosen as a pair's first half, it stays whole (the name is only a label)."""
    assert add_pair(db, campaign_id, "param:a|b", "device") == "param:a|b|device"
    assert db.execute("SELECT by_dimension, then_dimension FROM report_slots WHERE campaign_id = %s",
                      (campaign_id,)).fetchall() == [("param:a|b", "device")]
