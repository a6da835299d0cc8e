"""`tracker demo`: a funnel with scanner traffic through the real API, stored and classified as planned."""
from collections import defaultdict
from typing import Any

import psycopg
import pytest

from bench.classify_report import load_rows
from common.cli import main as cli
from common.demo import people, plan, scanners
from common.enrich import enrich
from tests.checks import assert_rollups_match_recount, event_count
from tests.services import free_port, wait_until


def test_visitors__rows_of_the_labelled_fixture() -> None:
    labels = {(r.user_agent, r.ip): r.label for r in load_rows()}
    assert all(labels.get((v.ua, v.ip)) == "human" for v in people())
    assert all(labels.get((v.ua, v.ip)) == "bot" for v in scanners())


def test_people__classified_human_anywhere_in_their_24() -> None:
    # The demo gives each recipient a random host in a listed person's /24; all of it must be the same ISP.
    for v in people():
        prefix = v.ip.rsplit(".", 1)[0]
        for host in (1, 128, 254):
            assert enrich(f"{prefix}.{host}", v.ua)["is_bot"] is False, (prefix, host)


def test_plan__funnel_in_order() -> None:
    events = plan(recipients=200, domains=3, seed=1)
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert len({e.domain for e in events}) == 3
    seen: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if not e.visitor.scanner:
            seen[e.email].append(e.event)
    assert len(seen) == 200, "every recipient clicks as a person"
    for steps in seen.values():
        assert steps[0] == "email_click" and steps in (["email_click"], ["email_click", "landing_click"],
                                                       ["email_click", "landing_click", "conversion"])
    assert any(e.visitor.scanner for e in events) and any(e.event == "conversion" for e in events)


def test_demo__fills_a_campaign_through_the_api(web: str, db: psycopg.Connection[Any],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    args = {"recipients": 15, "domains": 2, "seed": 7}
    planned = plan(**args)
    assert cli(["demo", "--url", web, "--rate", "500", *(f"--{k}={v}" for k, v in args.items())]) == 0
    out = capsys.readouterr().out
    campaign_id = int(out.strip().splitlines()[-1])
    assert f"{web}/campaign/{campaign_id}" in out
    wait_until(lambda: event_count(db, campaign_id) == len(planned), message=f"{len(planned)} events stored")

    rows = db.execute("SELECT event_type, ip, extra_params FROM events WHERE campaign_id = %s",
                      (campaign_id,)).fetchall()
    scanner_ips = {v.ip for v in scanners()}
    by_scanner = [extra["_tracker"] for _, ip, extra in rows if ip in scanner_ips]
    by_people = [extra["_tracker"] for _, ip, extra in rows if ip not in scanner_ips]
    assert by_scanner and all(t["is_bot"] for t in by_scanner)
    assert by_people and not any(t["is_bot"] for t in by_people)
    assert {event_type for event_type, _, _ in rows} == {e.event for e in planned}
    assert all(extra["utm_source"] == "newsletter" for _, _, extra in rows)
    query = "SELECT sum(email_clicks), sum(bot_email_clicks) FROM domain_stats WHERE campaign_id = %s"
    stats = db.execute(query, (campaign_id,)).fetchone()
    clicks = [e for e in planned if e.event == "email_click"]
    assert tuple(stats) == (len(clicks), sum(1 for e in clicks if e.visitor.scanner))
    assert_rollups_match_recount(db, campaign_id)


def test_demo__no_tracker_at_url__clear_error_nothing_created(db: psycopg.Connection[Any],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = db.execute("SELECT coalesce(max(id), 0) FROM campaigns").fetchone()[0]
    url = f"http://127.0.0.1:{free_port()}"
    assert cli(["demo", "--url", url, "--recipients", "3"]) == 2
    assert f"no tracker answers at {url}" in capsys.readouterr().out
    assert db.execute("SELECT coalesce(max(id), 0) FROM campaigns").fetchone()[0] == before
