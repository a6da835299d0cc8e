"""The bulk generator: the shape asked for, and rollups that equal a recount."""

import psycopg

from common.generate import Shape, generate
from tests.checks import assert_rollups_match_recount


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
