"""`tracker bots reclassify`: verdicts stored under older rules are judged again by the current ones, the burst
rule is applied again, and every rollup equals tests/checks.py's recount afterwards."""
from typing import Any

import psycopg
import pytest

from common.cli import main as cli
from common.db import connect
from common.rebuild import REPAIR_LOCK
from tests.checks import assert_rollups_match_recount
from tests.common.mend_data import SCANNER, fill

_OLD_HUMAN = '{"is_bot": false, "bot_kind": null, "bot_reason": null}'
_OLD_BOT = '{"is_bot": true, "bot_kind": "scanner", "bot_reason": "scanner: an overbroad old rule"}'


def verdicts(db: psycopg.Connection, cid: int) -> list[tuple[Any, ...]]:
    return db.execute("SELECT email, created_at, extra_params -> '_tracker' ->> 'bot_kind', "
                      "extra_params -> '_tracker' ->> 'visitor' FROM events WHERE campaign_id = %s "
                      "ORDER BY created_at, id", (cid,)).fetchall()


def _as_if_older_rules(db: psycopg.Connection, cid: int) -> None:
    """The stored verdicts an older rules file would have given: the scanner missed, a person's click and
    bob's first human click called bots (so his second, 2 s later, was no burst); then the rollups counted
    those verdicts (as the ingest statement did)."""
    def retag(where: str, verdict: str) -> None:
        db.execute("UPDATE events SET extra_params = jsonb_set(extra_params, '{_tracker}', "
                   f"extra_params -> '_tracker' || %s::jsonb) WHERE campaign_id = %s AND {where}", (verdict, cid))

    retag(f"user_agent = '{SCANNER}'", _OLD_HUMAN)
    retag("email = 'ann@x.a.com' AND event_type = 'email_click'", _OLD_BOT)
    retag("email = 'bob@x.a.com' AND extra_params -> '_tracker' ->> 'bot_kind' = 'burst'", _OLD_HUMAN)
    retag("email = 'bob@x.a.com' AND user_agent <> %s AND created_at = (SELECT min(created_at) FROM events "
          f"WHERE campaign_id = {cid} AND email = 'bob@x.a.com' AND user_agent <> '{SCANNER}')"
          .replace("%s", f"'{SCANNER}'"), _OLD_BOT)
    assert cli(["rollups", "rebuild", "--campaign", str(cid)]) == 0


def test_reclassify__current_rules_and_rollups_equal_recount(db: psycopg.Connection, campaign_id: int,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    fill(db, campaign_id)
    current = verdicts(db, campaign_id)
    assert [v[2] for v in current].count("burst") == 1
    _as_if_older_rules(db, campaign_id)
    assert verdicts(db, campaign_id) != current
    capsys.readouterr()

    assert cli(["bots", "reclassify", "--campaign", str(campaign_id)]) == 0
    out = capsys.readouterr().out
    assert verdicts(db, campaign_id) == current  # the burst moved back to bob's second click
    assert_rollups_match_recount(db, campaign_id)
    assert "9 events judged: 2 now bots, 2 now people" in out, out

    before = db.execute("SELECT * FROM domain_stats WHERE campaign_id = %s ORDER BY domain", (campaign_id,)).fetchall()
    assert cli(["bots", "reclassify", "--campaign", str(campaign_id)]) == 0  # idempotent
    assert "0 now bots, 0 now people, 0 with another bot reason; rollups: unchanged" in capsys.readouterr().out
    assert db.execute("SELECT * FROM domain_stats WHERE campaign_id = %s ORDER BY domain",
                      (campaign_id,)).fetchall() == before


def test_reclassify__since_leaves_older_events_alone(db: psycopg.Connection, campaign_id: int) -> None:
    fill(db, campaign_id)
    current = verdicts(db, campaign_id)
    _as_if_older_rules(db, campaign_id)
    stale = verdicts(db, campaign_id)
    today = db.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()[0]  # type: ignore[index]
    assert cli(["bots", "reclassify", "--campaign", str(campaign_id), "--since", today.isoformat()]) == 0
    after = verdicts(db, campaign_id)
    cutoff = db.execute("SELECT date_trunc('day', now() AT TIME ZONE 'UTC')").fetchone()[0]  # type: ignore[index]
    assert [v for v in after if v[1] < cutoff] == [v for v in stale if v[1] < cutoff]
    assert [v for v in after if v[1] >= cutoff] == [v for v in current if v[1] >= cutoff]
    assert_rollups_match_recount(db, campaign_id)


def test_reclassify__bad_input__exit_2(db: psycopg.Connection, campaign_id: int,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    fill(db, campaign_id)
    _as_if_older_rules(db, campaign_id)
    stale = verdicts(db, campaign_id)
    with pytest.raises(SystemExit) as exit_:
        cli(["bots", "reclassify", "--since", "2026-13-01"])
    assert exit_.value.code == 2
    assert "not a date" in capsys.readouterr().err
    assert cli(["bots", "reclassify", "--campaign", "987654321"]) == 2
    with connect() as other:
        other.execute("SELECT pg_advisory_lock(%s)", (REPAIR_LOCK,))
        assert cli(["bots", "reclassify", "--campaign", str(campaign_id)]) == 2
    assert "is running" in capsys.readouterr().out
    assert verdicts(db, campaign_id) == stale
