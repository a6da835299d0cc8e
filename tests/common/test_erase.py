"""`tracker recipient erase`: the recipient's events, journeys, postback rows and dead letters go; every
rollup still equals tests/checks.py's recount of what remains."""
import json

import psycopg
import pytest

from common.cli import main as cli
from tests.checks import assert_rollups_match_recount
from tests.common.mend_data import fill


def _traces(db: psycopg.Connection, cid: int, email: str) -> tuple[int, int, int, int]:
    def count(sql: str) -> int:
        row = db.execute(sql, {"c": cid, "e": email}).fetchone()
        return int(row[0]) if row else 0

    return (count("SELECT count(*) FROM events WHERE campaign_id = %(c)s AND email = %(e)s"),
            count("SELECT count(*) FROM journeys WHERE campaign_id = %(c)s AND email = %(e)s"),
            count("SELECT count(*) FROM postbacks WHERE campaign_id = %(c)s"),
            count("SELECT count(*) FROM dead_events WHERE payload ->> 'email' = %(e)s"))


def _postback_and_dead_letter(db: psycopg.Connection, cid: int, email: str) -> None:
    click, conversion = db.execute(
        "SELECT min(id) FILTER (WHERE event_type = 'email_click'), min(id) FILTER (WHERE event_type = 'conversion') "
        "FROM events WHERE campaign_id = %s AND email = %s", (cid, email)).fetchone() or (None, None)
    db.execute("INSERT INTO postbacks (event_id, campaign_id, click_id, txid) VALUES (%s, %s, %s, 'tx-1')",
               (conversion, cid, click))
    db.execute("INSERT INTO dead_events (id, payload, error) VALUES (nextval('events_id_seq'), %s, 'test')",
               (json.dumps({"cid": cid, "email": email, "type": "email_click", "domain": "x.com", "ts": 1.0}),))


def test_erase__removes_recipient_and_keeps_rollups_exact(db: psycopg.Connection, campaign_id: int,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fill(db, campaign_id)
    _postback_and_dead_letter(db, campaign_id, "ann@x.a.com")
    assert _traces(db, campaign_id, "ann@x.a.com") == (3, 1, 1, 1)
    others = db.execute("SELECT count(*) FROM events WHERE campaign_id = %s", (campaign_id,)).fetchone()

    assert cli(["recipient", "erase", " Ann@X.A.com ", "--campaign", str(campaign_id)]) == 0
    out = capsys.readouterr().out
    assert "removed 3 events, 1 journeys, 1 postback rows and 1 dead letters" in out
    assert _traces(db, campaign_id, "ann@x.a.com") == (0, 0, 0, 0)
    remaining = db.execute("SELECT count(*) FROM events WHERE campaign_id = %s", (campaign_id,)).fetchone()
    assert remaining and others and remaining[0] == others[0] - 3
    assert_rollups_match_recount(db, campaign_id)
    # ann was a.com's first recipient: its rows now count bob alone
    assert db.execute("SELECT users, conversions, revenue FROM domain_stats WHERE campaign_id = %s "
                      "AND domain = 'send-a.com'", (campaign_id,)).fetchone() == (1, 0, 0)

    assert cli(["recipient", "erase", "ann@x.a.com", "--campaign", str(campaign_id)]) == 0  # idempotent
    assert "nothing of ann@x.a.com is stored" in capsys.readouterr().out


def test_erase__every_campaign_by_default(db: psycopg.Connection, campaign_id: int) -> None:
    fill(db, campaign_id)
    assert cli(["recipient", "erase", "dan@x.b.com"]) == 0
    assert _traces(db, campaign_id, "dan@x.b.com")[:2] == (0, 0)
    assert_rollups_match_recount(db, campaign_id)


@pytest.mark.parametrize("argv, message", [
    (["recipient", "erase", "not-an-address"], "email is not a valid address"),
    (["recipient", "erase", "ann@x.a.com", "--campaign", "987654321"], "no campaign 987654321"),
])
def test_erase__bad_input__exit_2_and_nothing_removed(db: psycopg.Connection, campaign_id: int, argv: list[str],
                                                      message: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(db, campaign_id)
    assert cli(argv) == 2
    assert message in capsys.readouterr().out
    assert _traces(db, campaign_id, "ann@x.a.com")[:2] == (3, 1)
