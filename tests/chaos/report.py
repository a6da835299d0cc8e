"""What a chaos run proved: every event answered ok is stored once, nothing else is, rollups are exact."""

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
import pytest

from tests.chaos.load import Load
from tests.checks import assert_rollups_match_recount

HEADER = (
    f"{'scenario':<28} {'sent':>6} {'ok':>6} {'503':>5} {'no answer':>9} {'stored':>6} {'lost':>4} "
    f"{'dup':>3} {'recovery s':>10}"
)


@dataclass(frozen=True)
class Report:
    scenario: str
    sent: int
    ok: int
    refused: int  # answered 503 + Retry-After: the caller should retry
    unanswered: int  # connection reset or timed out: the caller cannot know
    stored: int
    lost: int  # answered ok, not stored
    duplicated: int  # stored more than once (same id, or the same request under two ids)
    recovery_s: float

    def line(self) -> str:
        return (
            f"{self.scenario:<28} {self.sent:>6} {self.ok:>6} {self.refused:>5} {self.unanswered:>9} "
            f"{self.stored:>6} {self.lost:>4} {self.duplicated:>3} {self.recovery_s:>10.1f}"
        )


def check_and_report(
    conn: psycopg.Connection[Any], load: Load, campaign_id: int, scenario: str, recovery_s: float
) -> Report:
    """Assert the durability promise for one run and return its numbers."""
    outcomes = {o.seq: o for o in load.outcomes}
    assert len(outcomes) == len(load.outcomes), "a sequence number was sent twice"
    odd = Counter(o.status for o in outcomes.values() if not o.ok and o.status not in (None, 503))
    assert not odd, f"answers other than ok, 503 or none: {odd}"
    assert all(o.retry_after for o in outcomes.values() if o.status == 503), "a 503 without Retry-After"

    rows = conn.execute(
        "SELECT id, (extra_params ->> 'seq')::int FROM events WHERE campaign_id = %s", (campaign_id,)
    ).fetchall()
    id_counts = Counter(event_id for event_id, _ in rows)
    seq_counts = Counter(seq for _, seq in rows)
    stored_seq_by_id = dict(rows)

    ok = {seq: o.event_id for seq, o in outcomes.items() if o.ok}
    lost = sorted(seq for seq, event_id in ok.items() if event_id not in stored_seq_by_id)
    # An id answered for one request but stored for another would mean an id was handed out twice.
    swapped = sorted(
        seq
        for seq, event_id in ok.items()
        if event_id in stored_seq_by_id and stored_seq_by_id[event_id] != seq
    )
    duplicated = sum(n - 1 for n in id_counts.values()) + sum(n - 1 for n in seq_counts.values())
    # Stored without an ok: allowed only when the request got no answer (queued, then the connection died).
    unexpected = sorted(
        seq
        for seq in seq_counts
        if seq not in outcomes or (not outcomes[seq].ok and outcomes[seq].status is not None)
    )

    report = Report(
        scenario=scenario,
        sent=len(outcomes),
        ok=len(ok),
        refused=sum(o.status == 503 for o in outcomes.values()),
        unanswered=sum(o.status is None for o in outcomes.values()),
        stored=len(rows),
        lost=len(lost),
        duplicated=duplicated,
        recovery_s=recovery_s,
    )
    print(f"\n{HEADER}\n{report.line()}")
    assert not lost, f"{len(lost)} events answered ok were not stored, e.g. seq {lost[:10]}"
    assert not swapped, f"{len(swapped)} ids were stored for another request, e.g. seq {swapped[:10]}"
    assert duplicated == 0, f"{duplicated} duplicate rows"
    assert not unexpected, (
        f"{len(unexpected)} stored events were refused or never sent, e.g. seq {unexpected[:10]}"
    )
    dead = conn.execute("SELECT count(*) FROM dead_events").fetchone()
    assert dead is not None and dead[0] == 0, "events ended in dead_events"
    assert_rollups_match_recount(conn, campaign_id)
    return report


# The tables printed at the end of a run, by the name a suite records its runs under.
TABLES = {
    "chaos": "chaos: events answered ok are stored exactly once",
    "hosts": "hosts: events answered ok are stored exactly once",
}
_PROPERTY = "run report: "


def recorder(item: pytest.Item, table: str) -> Callable[[Report], None]:
    """Records a run's numbers on the test's report, not in this process: under pytest-xdist the test runs in a
    worker process and only its reports reach the process that prints the summary."""
    assert table in TABLES, table
    return lambda report: item.user_properties.append((_PROPERTY + table, asdict(report)))


def summarize(terminalreporter: Any) -> None:
    """Each suite's table of runs at the end of the pytest output (tests/conftest.py's terminal summary)."""
    recorded: dict[str, list[Report]] = {table: [] for table in TABLES}
    for reports in terminalreporter.stats.values():
        for test_report in reports:
            if getattr(test_report, "when", None) != "call":  # the properties ride on each phase's report
                continue
            for name, value in test_report.user_properties:
                if isinstance(name, str) and name.startswith(_PROPERTY):
                    recorded[name.removeprefix(_PROPERTY)].append(Report(**value))
    for table, runs in recorded.items():
        if runs:
            terminalreporter.section(TABLES[table])
            terminalreporter.write_line(HEADER)
            for report in runs:
                terminalreporter.write_line(report.line())
