"""A campaign's chosen reports, on top of the fixed dimensions: the extra parameters it reports on (`param:<key>`,
at most MAX_PARAMS) and the pairs it breaks down by (`country|device`, at most MAX_PAIRS), chosen on the Reports
tab, and how far each one's backfill from stored events has come (common/reports.py fills them).

A slot is one report_stats dimension: `by_dimension`, then `then_dimension` for a pair, each a fixed dimension or
a `param:<key>`. Both kinds are counted, backfilled and kept by the same statements."""
from dataclasses import dataclass

from common.db import Conn
from common.report_dimensions import BY_NAME, PARAM_PREFIX, find, pair_name

MAX_PARAMS = 5
MAX_PAIRS = 3
MAX_KEY_LENGTH = 64  # as MAX_EXTRA_KEY_LENGTH's default: a longer key is never stored
PREFIX = PARAM_PREFIX


class SlotError(ValueError):
    """The report cannot be chosen; the message says why."""


@dataclass(frozen=True)
class Slot:
    dimension: str  # report_stats.dimension: "param:sub1", "country|device"
    by: str
    then: str | None  # a pair's second dimension
    filled: bool
    days_filled: int  # days of the campaign with events, up to filled_through
    days: int  # days of the campaign with events

    @property
    def is_pair(self) -> bool:
        return self.then is not None

    @property
    def key(self) -> str:
        """A `param:` slot's key."""
        return self.by.removeprefix(PREFIX)

    @property
    def label(self) -> str:
        """"sub1", or "Country then Device"."""
        if self.then is None:
            return self.key
        return " then ".join(_label(name) for name in (self.by, self.then))

    @property
    def progress(self) -> int:
        """Percent of the campaign's days filled."""
        return 100 if self.filled or not self.days else min(99, 100 * self.days_filled // self.days)


def _label(name: str) -> str:
    dimension = find(name)
    return dimension.label if dimension else name


_SLOTS = """
SELECT s.dimension, s.by_dimension, s.then_dimension, s.filled,
       (SELECT count(*) FROM daily_stats d WHERE d.campaign_id = s.campaign_id AND d.day <= s.filled_through),
       (SELECT count(*) FROM daily_stats d WHERE d.campaign_id = s.campaign_id)
FROM report_slots s WHERE s.campaign_id = %s ORDER BY s.created_at, s.dimension
"""


def slots(conn: Conn, campaign_id: int) -> list[Slot]:
    return [Slot(name, by, then, filled, int(done), int(days))
            for name, by, then, filled, done, days in conn.execute(_SLOTS, (campaign_id,))]


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


def _clean_dimension(name: str) -> str:
    """A pair's half: a fixed dimension's name or `param:<key>`, or SlotError."""
    if name.startswith(PREFIX):
        return PREFIX + clean_key(name.removeprefix(PREFIX))
    if name not in BY_NAME:
        raise SlotError(f"There is no dimension {name[:80]!r} to break down by.")
    return name


def _add(conn: Conn, campaign_id: int, by: str, then: str | None) -> str:
    """Report on slot (by, then) from now on (filled back through the campaign's past days in the background);
    returns its dimension. Choosing one twice is a no-op."""
    name = by if then is None else pair_name(by, then)
    kind, limit = ("pairs", MAX_PAIRS) if then is not None else ("parameters", MAX_PARAMS)
    with conn.transaction():
        conn.execute("SELECT 1 FROM campaigns WHERE id = %s FOR UPDATE", (campaign_id,))  # one chooser at a time
        chosen = {name: (b, t) for name, b, t in conn.execute(
            "SELECT dimension, by_dimension, then_dimension FROM report_slots WHERE campaign_id = %s",
            (campaign_id,))}
        if name in chosen:
            if chosen[name] != (by, then):  # a key with "|" in it: its name is another slot's
                raise SlotError(f"{name[:150]!r} is already the name of another report of this campaign.")
            return name
        if sum((t is not None) == (then is not None) for _, t in chosen.values()) >= limit:
            raise SlotError(f"A campaign reports on at most {limit} {kind}.")
        # A campaign with no stored event (daily_stats holds every stored event's day) has nothing to fill
        # back: the slot counts from now on, as the first backfill step would decide. Filled at once, the bulk
        # generator's events (`tracker generate --report`) are counted as they are inserted.
        conn.execute("INSERT INTO report_slots (campaign_id, dimension, by_dimension, then_dimension, filled) "
                     "VALUES (%s, %s, %s, %s, NOT EXISTS (SELECT 1 FROM daily_stats WHERE campaign_id = %s))",
                     (campaign_id, name, by, then, campaign_id))
    return name


def add_slot(conn: Conn, campaign_id: int, raw_key: str) -> str:
    """Report on extra parameter `raw_key` from now on; returns the key."""
    key = clean_key(raw_key)
    _add(conn, campaign_id, PREFIX + key, None)
    return key


def add_pair(conn: Conn, campaign_id: int, by: str, then: str) -> str:
    """Break down by `by` then `then` (dimension names) from now on; returns the pair's dimension."""
    return _add(conn, campaign_id, *_pair(by, then))


def _pair(by: str, then: str) -> tuple[str, str]:
    """A pair's two dimension names, checked, or SlotError."""
    first, second = _clean_dimension(by), _clean_dimension(then)
    if first == second:
        raise SlotError("A pair is two different dimensions.")
    return first, second


def parse_report(name: str) -> tuple[str, str | None]:
    """A report as the command line names it (`param:<key>`, or a pair `<dimension>|<dimension>`): its
    (by, then) dimensions, checked as the Reports tab checks them, or SlotError."""
    by, pipe, then = name.partition("|")
    if pipe:
        return _pair(by, then)
    if by.startswith(PREFIX):
        return PREFIX + clean_key(by.removeprefix(PREFIX)), None
    raise SlotError(f"{name[:80]!r} is neither param:<key> nor a pair such as country|device.")


def add_report(conn: Conn, campaign_id: int, report: tuple[str, str | None]) -> str:
    """Report on a parsed report (parse_report) from now on; returns its dimension."""
    return _add(conn, campaign_id, *report)
