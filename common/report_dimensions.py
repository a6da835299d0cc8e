"""What a report can break a campaign down by: each dimension's name (as in `?by=`), label, and the SQL that
reads its value off a stored event. Declared once: the fold and rebuild (common/reports.py), the dashboard's
choices and the recount in tests/checks.py all read this list.

Values come from the event as stored: the sending domain, the enrichment under extra_params._tracker
(common/enrich.py), the landing script's UTM tags, and the event's time in DASHBOARD_TIMEZONE (the statement's
%(tz)s parameter). A missing value is "" (shown as "(none)"); values are cut to MAX_VALUE_LENGTH characters so
that one long tag cannot bloat the rollup's index.

A pair (`?by=country&then=device`, a campaign's pair slot: common/report_slots.py) is a dimension too, named
"country|device", whose value is its two values joined by PAIR_SEPARATOR: the same rollup, fold, cap and
recount serve it.
"""
from dataclasses import dataclass, field

from common.enrich import ENRICH_KEY

MAX_VALUE_LENGTH = 200
# The row that counts the values past the cap (REPORT_MAX_VALUES per campaign, dimension and day).
OTHER = "(other)"
NONE_LABEL = "(none)"


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str  # `?by=country`, report_stats.dimension
    label: str  # "Country": the report's first column
    value: str  # SQL over an events row aliased `{e}` (format field), text or NULL
    # The bound parameters `value` reads (a `param:` key), by name: the drill-down binds them.
    binds: tuple[tuple[str, str], ...] = ()
    parts: tuple["Dimension", ...] = field(default=())  # a pair's two dimensions, in order

    def stored(self, alias: str) -> str:
        """SQL: the value as report_stats holds it, of an events row aliased `alias`."""
        if self.parts:
            return pair_value(*(p.stored(alias) for p in self.parts))
        return stored(self.value.format(e=alias))


def _tracker(key: str) -> str:
    return f"{{e}}.extra_params -> '{ENRICH_KEY}' ->> '{key}'"


def _tag(key: str) -> str:
    return f"{{e}}.extra_params ->> '{key}'"


_LOCAL_TIME = "({e}.created_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)"

# ua-parser's device family and OS, classed: tablets first (an iPad runs iOS), then phones, then desktop systems.
_DEVICE_CLASS = f"""CASE
    WHEN {_tracker('device')} ~* '(ipad|tablet|kindle|silk|playbook|nexus (7|9|10)|sm-t[0-9])' THEN 'tablet'
    WHEN {_tracker('device')} ~* '(iphone|ipod|phone|mobile)'
      OR {_tracker('os')} ~* '^(android|ios|windows phone|blackberry|symbian)' THEN 'mobile'
    WHEN {_tracker('os')} ~* '^(windows|mac os|linux|ubuntu|fedora|chrome ?os|freebsd|debian)' THEN 'desktop'
    ELSE 'other' END"""

DEVICE_CLASSES = ("desktop", "mobile", "tablet", "other")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("domain", "Sending domain", "{e}.domain"),
    Dimension("country", "Country", _tracker("country")),
    Dimension("device", "Device", _DEVICE_CLASS),
    Dimension("os", "OS", _tracker("os")),
    Dimension("browser", "Browser", _tracker("browser")),
    Dimension("network", "Network", _tracker("asn")),
    *(Dimension(f"utm_{k}", f"utm_{k}", _tag(f"utm_{k}")) for k in ("source", "medium", "campaign", "term", "content")),
    # Hours "00".."23" and ISO weekdays "1".."7" (Monday first), so that they sort as text.
    Dimension("hour", "Hour of day", f"to_char({_LOCAL_TIME}, 'HH24')"),
    Dimension("weekday", "Weekday", f"extract(isodow FROM {_LOCAL_TIME})::int::text"),
)
BY_NAME: dict[str, Dimension] = {d.name: d for d in DIMENSIONS}
PARAM_PREFIX = "param:"


# Between a pair's two dimension names ("country|device", report_stats.dimension) and its two values. The
# values' separator is a control character no value needs: one a value carries reads as U+FFFD in a pair, so
# that a pair's value always splits back into its two (common/report_slots.py refuses a pair whose name
# another slot already has).
PAIR_JOIN = "|"
PAIR_SEPARATOR = "\x1f"
_SEPARATOR_SQL = "chr(31)"
_STAND_IN_SQL = "chr(65533)"


def stored(expr: str) -> str:
    """SQL: a value as report_stats holds it ("" for none, cut to MAX_VALUE_LENGTH) from SQL `expr`."""
    return f"left(coalesce({expr}, ''), {MAX_VALUE_LENGTH})"


def pair_value(first: str, then: str) -> str:
    """SQL: a pair's value from its two values as stored (stored())."""
    return (f"replace({first}, {_SEPARATOR_SQL}, {_STAND_IN_SQL}) || {_SEPARATOR_SQL} || "
            f"replace({then}, {_SEPARATOR_SQL}, {_STAND_IN_SQL})")


def pair_name(first: str, then: str) -> str:
    return f"{first}{PAIR_JOIN}{then}"


def split_pair(value: str) -> tuple[str, str]:
    """A pair's stored value as its two values."""
    first, _, then = value.partition(PAIR_SEPARATOR)
    return first, then


def param_dimension(key: str, *, bind: str = "report_key") -> Dimension:
    """A `param:<key>` report (common/report_slots.py): the extra parameter's value. The key is data: its SQL
    reads it from the bound parameter `bind` (the dashboard's drill-down binds it)."""
    return Dimension(PARAM_PREFIX + key, key, f"{{e}}.extra_params ->> :{bind}", binds=((bind, key),))


def pair_dimension(first: Dimension, then: Dimension) -> Dimension:
    """The pair `first` then `then` (two distinct single dimensions); a second `param:` reads its own bind."""
    if then.binds:
        then = param_dimension(then.name.removeprefix(PARAM_PREFIX), bind="report_then_key")
    return Dimension(pair_name(first.name, then.name), f"{first.label} then {then.label}", "",
                     binds=first.binds + then.binds, parts=(first, then))


def find(name: str) -> Dimension | None:
    """The dimension `?by=` names: a fixed one, or any `param:<key>`."""
    if name.startswith(PARAM_PREFIX) and 0 < len(name) - len(PARAM_PREFIX) <= 64:
        return param_dimension(name[len(PARAM_PREFIX):])
    return BY_NAME.get(name)


def slot_value(alias: str, name: str) -> str:
    """SQL: the stored value of an events row aliased `alias` in the dimension whose name is the SQL text
    `name` (a column: a report slot's), fixed or `param:<key>`: one statement serves every slot."""
    whens = " ".join(f"WHEN '{d.name}' THEN {d.value.format(e=alias)}" for d in DIMENSIONS)
    return stored(f"CASE {name} {whens} ELSE {alias}.extra_params ->> substr({name}, {len(PARAM_PREFIX) + 1}) END")


def value_label(dimension: str, value: str) -> str:
    """How a stored value (of a single dimension) reads on the page and in the CSV."""
    if value == "":
        return NONE_LABEL
    if dimension == "weekday" and value.isdigit() and 1 <= int(value) <= 7:
        return WEEKDAYS[int(value) - 1]
    if dimension == "hour" and value != OTHER:
        return f"{value}:00"
    return value


def day_of(alias: str) -> str:
    """An event's day in DASHBOARD_TIMEZONE: report_stats' day (as daily_stats')."""
    return f"({alias}.created_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date"


def dimension_columns(alias: str) -> str:
    """Each dimension's value of an events row of `alias`, as columns `d_<name>`: grouping on them first folds
    events alike in every dimension into one row before unpivot() makes a row per dimension of each."""
    return ", ".join(f"{d.stored(alias)} AS d_{d.name}" for d in DIMENSIONS)


def unpivot(alias: str) -> str:
    """A LATERAL join giving each row of `alias` (with dimension_columns()) one row per dimension:
    `d(dimension, value)`."""
    rows = ", ".join(f"('{d.name}', {alias}.d_{d.name})" for d in DIMENSIONS)
    return f"CROSS JOIN LATERAL (VALUES {rows}) AS d(dimension, value)"
