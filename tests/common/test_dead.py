"""`tracker dead list|requeue|drop` against dead letters as the worker keeps them."""
import json
from typing import Any

import psycopg
import pytest

from common.cli import main as cli
from tests.checks import assert_rollups_match_recount, event_count
from tests.common.mend_data import paid, wire


def _bury(db: psycopg.Connection, events: list[dict[str, Any]]) -> list[int]:
    """Dead letters of `events` (wire dicts), as worker/tasks.py writes them."""
    for e in events:
        db.execute("INSERT INTO dead_events (id, payload, error) VALUES (%s, %s, 'InvalidTextRepresentation()')",
                   (e["id"], json.dumps(e)))
    return [int(e["id"]) for e in events]


def _dead(db: psycopg.Connection, ids: list[int]) -> list[tuple[int, str]]:
    return db.execute("SELECT id, error FROM dead_events WHERE id = ANY(%s) ORDER BY id", (ids,)).fetchall()


def test_dead__list_requeue_drop(db: psycopg.Connection, campaign_id: int, capsys: pytest.CaptureFixture[str]) -> None:
    good = wire(db, campaign_id, [("email_click", "eve@x.d.com", 60.0, {}),
                                  ("conversion", "eve@x.d.com", 30.0, paid("3.10"))])
    bad = wire(db, campaign_id, [("conversion", "fay@x.d.com", 20.0, paid("not-a-number"))])
    ids = _bury(db, good + bad)

    assert cli(["dead", "list"]) == 0
    out = capsys.readouterr().out
    assert all(f"{i}\t" in out for i in ids) and "eve@x.d.com" in out and "dead letter(s)" in out

    # the good ones are stored, the bad one stays with its new reason: exit 1
    assert cli(["dead", "requeue", *map(str, ids)]) == 1
    assert "stored 2, already stored 0, still failing 1" in capsys.readouterr().out
    assert event_count(db, campaign_id) == 2
    assert_rollups_match_recount(db, campaign_id)
    [(bad_id, error)] = _dead(db, ids)
    assert bad_id == bad[0]["id"] and "not-a-number" in error

    # requeue is idempotent: an event already stored (a late redelivery) is skipped, its letter removed
    _bury(db, good[:1])
    assert cli(["dead", "requeue", str(good[0]["id"])]) == 0
    assert "stored 0, already stored 1" in capsys.readouterr().out
    assert event_count(db, campaign_id) == 2

    assert cli(["dead", "drop", str(bad_id)]) == 0
    assert "dropped 1" in capsys.readouterr().out
    assert _dead(db, ids) == []


@pytest.mark.parametrize("argv, message", [
    (["dead", "requeue"], "name the dead letters' ids, or --all"),
    (["dead", "drop", "1", "--all"], "name the dead letters' ids, or --all"),
    (["dead", "drop", "987654321987"], "no dead letter 987654321987"),
])
def test_dead__bad_input__exit_2_and_nothing_changed(db: psycopg.Connection, campaign_id: int, argv: list[str],
                                                     message: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _bury(db, wire(db, campaign_id, [("email_click", "gil@x.d.com", 60.0, {})]))
    assert cli([*argv[:2], *(a if a != "1" else str(ids[0]) for a in argv[2:])]) == 2
    assert message in capsys.readouterr().out
    assert len(_dead(db, ids)) == 1 and event_count(db, campaign_id) == 0
