"""The bulk generator: the shape asked for, and rollups that equal a recount."""

import re

import psycopg
import pytest

from common.cli import main as cli
from common.generate import Shape, generate
from common.report_slots import add_pair, slots
from tests.checks import assert_reports_match_recount, assert_rollups_match_recount


def test_generate__funnel_and_consistent_rollups(db: psycopg.Connection, campaign_id: int) -> None:
    progress: list[tuple[int, int]] = []
    shape = Shape(events=5_000, users=500, domains=4)
    total = generate(
        db,
        campaign_id=campaign_id,
        shape=shape,
        chunk_users=200,
        progress=lambda users, so_far: progress.append((users, so_far)),
        timezone="UTC",
        max_values=500,
    )
    assert [users for users, _ in progress] == [200, 200, 100]
    assert progress[-1][1] == total
    assert 4_000 < total < 6_000  # random repeats around the asked-for average
    by_type = dict(
        db.execute(
            "SELECT event_type, count(DISTINCT email) FROM events WHERE campaign_id = %s GROUP BY 1",
            (campaign_id,),
        ).fetchall()
    )
    assert by_type["email_click"] == 500  # every recipient clicked in the email
    assert 0 < by_type["conversion"] < by_type["landing_click"] < 500  # a funnel
    assert (
        db.execute("SELECT count(*) FROM domain_stats WHERE campaign_id = %s", (campaign_id,)).fetchone()[0]
        == 4
    )
    assert_rollups_match_recount(db, campaign_id)


def test_generate__reports_chosen_first_are_counted_as_generated(db: psycopg.Connection, campaign_id: int) -> None:
    # Chosen on a campaign with no events, a pair has nothing to fill back: filled at once, so the generator's
    # rows count in it (10 M events need no half-hour backfill before a benchmark).
    add_pair(db, campaign_id, "country", "param:sub1")
    assert [s.filled for s in slots(db, campaign_id)] == [True]
    generate(db, campaign_id=campaign_id, shape=Shape(events=3_000, users=300, domains=3), timezone="UTC",
             max_values=500)
    pairs = db.execute("SELECT count(*), sum(email_clicks) FROM report_stats WHERE campaign_id = %s "
                       "AND dimension = 'country|param:sub1'", (campaign_id,)).fetchone()
    clicks = db.execute("SELECT count(*) FROM events WHERE campaign_id = %s AND event_type = 'email_click'",
                        (campaign_id,)).fetchone()
    assert pairs[0] > 1 and pairs[1] == clicks[0]
    assert_reports_match_recount(db, campaign_id)


def test_add_pair__to_a_campaign_with_events_fills_back(db: psycopg.Connection, campaign_id: int) -> None:
    generate(db, campaign_id=campaign_id, shape=Shape(events=500, users=50, domains=2), timezone="UTC",
             max_values=500)
    add_pair(db, campaign_id, "country", "device")
    assert [s.filled for s in slots(db, campaign_id)] == [False]


def test_generate_cli__report_option(db: psycopg.Connection, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["generate", "--events", "400", "--users", "40", "--domains", "2", "--name", "Gen reports",
                "--report", "country|device", "--report", "param:sub1"]) == 0
    cid = int(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted((s.dimension, s.filled) for s in slots(db, cid)) == [("country|device", True),
                                                                      ("param:sub1", True)]
    assert_reports_match_recount(db, cid)


@pytest.mark.parametrize("name", ["bogus|device", "country|country", "sub1", "param:_own"])
def test_generate_cli__bad_report_refused_before_any_campaign(db: psycopg.Connection, name: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    before = db.execute("SELECT count(*) FROM campaigns").fetchone()[0]
    assert cli(["generate", "--events", "100", "--users", "10", "--report", name]) == 2
    assert re.search(r"error: --report: .+", capsys.readouterr().out)
    assert db.execute("SELECT count(*) FROM campaigns").fetchone()[0] == before
