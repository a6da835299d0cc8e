"""The report's order is the database's (web/dashboard/report.py): checked against the order part 1 computed in
Python (kept here as the reference) on values with ties, bots, conversions without clicks and "(none)", for
every sort, both directions and both modes, with a top small enough that "(other)" holds the rest."""
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import text

from common.db import get_session
from common.report_dimensions import BY_NAME, OTHER, value_label
from common.vocabulary import (
    AMOUNT_COUNTERS,
    BOTS,
    ENTRY,
    EVENT_TYPES,
    GOAL,
    REPORT_COUNTERS,
    events_column,
    revenue_column,
)
from tests.checks import assert_reports_match_recount
from tests.events import store
from tests.web.test_dashboard import new_campaign
from tests.web.test_dashboard_reports import SCANNER, _event, _fold
from web.dashboard.counts import Counts
from web.dashboard.period import Period
from web.dashboard.report import SORTS, build_report

_AT = {c: i for i, c in enumerate(REPORT_COUNTERS)}
_BOTS_OF = {events_column(t): events_column(t, BOTS) for t in EVENT_TYPES} | {revenue_column(): revenue_column(BOTS)}


def _shown(raw: tuple[Any, ...], column: str, all_counts: bool) -> Any:
    return raw[_AT[column]] if all_counts else raw[_AT[column]] - raw[_AT[_BOTS_OF[column]]]


def _ratio(top: Any, bottom: Any) -> Any:
    return top / bottom if bottom else -1


def _key(sort: str, label: str, raw: tuple[Any, ...], all_counts: bool) -> Any:
    """Part 1's sort keys, verbatim in meaning."""
    entry, goal, revenue = events_column(ENTRY), events_column(GOAL), revenue_column()
    for t in EVENT_TYPES:
        if sort == t.plural:
            return _shown(raw, events_column(t), all_counts)
        if sort == t.users:
            return raw[_AT[t.users]]
    if sort == "value":
        return label.lower()
    if sort == "rate":
        return _ratio(_shown(raw, goal, all_counts), _shown(raw, entry, all_counts))
    if sort == "revenue":
        return _shown(raw, revenue, all_counts)
    if sort == "epc":
        return _ratio(_shown(raw, revenue, all_counts), _shown(raw, entry, all_counts))
    events = sum(raw[_AT[events_column(t)]] for t in EVENT_TYPES)
    bots = sum(raw[_AT[events_column(t, BOTS)]] for t in EVENT_TYPES)
    return 100.0 * bots / events if events else -1.0


def _expected(per_value: dict[str, tuple[Any, ...]], sort: str, descending: bool, all_counts: bool,
              top: int) -> list[str]:
    values = [(v, value_label("utm_term", v), raw) for v, raw in per_value.items() if v != OTHER]
    values.sort(key=lambda v: v[1].lower())
    values.sort(key=lambda v: _key(sort, v[1], v[2], all_counts), reverse=descending)
    return [label for _, label, _ in values[:top]] + ([OTHER] if len(values) > top else [])


def test_report_order__the_database_sorts_as_part_1_did(db: psycopg.Connection[Any]) -> None:
    cid = new_campaign()
    events = []
    for i in range(24):  # clicks 0-3 (ties), a third with bots, some converting for 0-2 x 7.50, some only converting
        term = f"{'Kw' if i % 5 == 0 else 'kw'}{i % 12:02d}-{i}"
        for n in range(i % 4):
            events.append(_event(db, cid, "email_click", f"u{i}.{n}@x.com", extra={"utm_term": term}))
        if i % 3 == 0:
            events.append(_event(db, cid, "email_click", f"b{i}@x.com", ua=SCANNER, extra={"utm_term": term}))
        if i % 4 in (1, 2) or i % 7 == 0:
            events.append(_event(db, cid, "conversion", f"u{i}.0@x.com", extra={"utm_term": term},
                                 payout=str(Decimal("7.50") * (i % 3))))
    events.append(_event(db, cid, "email_click", "none@x.com"))
    store(db, events)
    _fold(db)
    assert_reports_match_recount(db, cid)
    with get_session() as session:
        per_value = {}
        for all_counts in (False, True):
            raw_rows = session.execute(
                text(
                    "SELECT value, " + ", ".join(f"sum({c})" if c in AMOUNT_COUNTERS else f"sum({c}::int)" for c in REPORT_COUNTERS)
                    + " FROM report_stats WHERE campaign_id = :c AND dimension = 'utm_term' GROUP BY value"),
                {"c": cid})
            per_value = {r[0]: tuple(r[1:]) for r in raw_rows}
            for sort in SORTS:
                for descending in (False, True):
                    report = build_report(session=session, campaign_id=cid, dim=BY_NAME["utm_term"],
                                          period=Period(), tz="UTC", all_counts=all_counts, sort=sort,
                                          descending=descending, top=7)
                    assert [r.label for r in report.rows] == _expected(per_value, sort, descending, all_counts, 7), \
                        (sort, descending, all_counts)
                    assert report.values == len(per_value)
        everything = tuple(sum(raw[i] for raw in per_value.values()) for i in range(len(REPORT_COUNTERS)))
        assert report.totals == Counts.of_row(everything, REPORT_COUNTERS).shown(True)
        other = report.rows[-1]
        assert other.counts.entry.events == everything[_AT[events_column(ENTRY)]] - sum(
            r.counts.entry.events for r in report.rows[:-1])
