"""A campaign's `param:<key>` reports: which extra parameters it reports on (at most MAX_SLOTS), chosen on the
Reports tab, and how far each one's backfill from stored events has come (common/reports.py fills them)."""
from dataclasses import dataclass

from common.db import Conn

MAX_SLOTS = 5
MAX_KEY_LENGTH = 64  # as MAX_EXTRA_KEY_LENGTH's default: a longer key is never stored
PREFIX = "param:"


class SlotError(ValueError):
    """The key cannot be reported on; the message says why."""


@dataclass(frozen=True)
class Slot:
    key: str
    filled: bool
    days_filled: int  # days of the campaign with events, up to filled_through
    days: int  # days of the campaign with events

    @property
    def dimension(self) -> str:
        return PREFIX + self.key

    @property
    def progress(self) -> int:
        """Percent of the campaign's days filled."""
        return 100 if self.filled or not self.days else min(99, 100 * self.days_filled // self.days)


_SLOTS = """
SELECT s.key, s.filled,
       (SELECT count(*) FROM daily_stats d WHERE d.campaign_id = s.campaign_id AND d.day <= s.filled_through),
       (SELECT count(*) FROM daily_stats d WHERE d.campaign_id = s.campaign_id)
FROM report_slots s WHERE s.campaign_id = %s ORDER BY s.created_at, s.key
"""


def slots(conn: Conn, campaign_id: int) -> list[Slot]:
    return [Slot(key, filled, int(done), int(days)) for key, filled, done, days in conn.execute(_SLOTS, (campaign_id,))]


def clean_key(raw: str) -> str:
    """The key as stored in extra_params, or SlotError."""
    key = raw.strip()
    if not key:
        raise SlotError("Name the parameter to report on (as the landing script sends it, e.g. sub1).")
    if len(key) > MAX_KEY_LENGTH:
        raise SlotError(f"A parameter name is at most {MAX_KEY_LENGTH} characters.")
    if key.startswith("_"):
        raise SlotError("Parameters starting with _ are the tracker's own.")
    return key


def add_slot(conn: Conn, campaign_id: int, raw_key: str) -> str:
    """Report on `raw_key` from now on (filled back through the campaign's past days in the background);
    returns the key. Choosing a key twice is a no-op."""
    key = clean_key(raw_key)
    with conn.transaction():
        conn.execute("SELECT 1 FROM campaigns WHERE id = %s FOR UPDATE", (campaign_id,))  # one chooser at a time
        keys = [r[0] for r in conn.execute("SELECT key FROM report_slots WHERE campaign_id = %s", (campaign_id,))]
        if key in keys:
            return key
        if len(keys) >= MAX_SLOTS:
            raise SlotError(f"A campaign reports on at most {MAX_SLOTS} parameters.")
        conn.execute("INSERT INTO report_slots (campaign_id, key) VALUES (%s, %s)", (campaign_id, key))
    return key
