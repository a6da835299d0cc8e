"""Which part of an email search term to look up in the trigram index.

The GIN index on journeys' emails answers `email LIKE '%term%'` by reading, for each trigram of the term, the
list of every row holding it, and keeping the rows on all the lists. A trigram found in most addresses has a
list as long as the table: `com`, or the provider's (`gma`, `mai`, `ail`), or whatever a list's addresses
share. At a million journeys each such list cost milliseconds, and a pasted full address has several
(docs/performance.md, session 6). So the index is asked only for the longest part of the term none of whose
trigrams is common, and the whole term is checked on the rows it returns (web/dashboard/queries.py): the same rows.

"Common" is read off the planner's own sample of the column (`pg_stats.histogram_bounds` for
journeys.email, ~100 addresses kept fresh by autovacuum), so it follows the data without counting anything.
"""
import logging
import re
import threading
import time

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# A trigram in more than this share of the sampled addresses is left out of the index lookup: its list is read
# whole, 30,000 entries at a million addresses, where the rest of the term narrows the rows well enough.
# (At 0.5 a full address kept its provider's trigrams, 6.5 % of the addresses each: 19 ms instead of 3.5.)
COMMON_SHARE = 0.03
_REFRESH_SECONDS = 600.0
_MIN_PART = 3
_WORD = re.compile(r"[a-z0-9]+")  # pg_trgm's words: runs of alphanumerics (ASCII here, as addresses are)

_SAMPLE = """
SELECT histogram_bounds::text::text[] FROM pg_stats
WHERE schemaname = current_schema() AND tablename = 'journeys' AND attname = 'email'
"""


def trigrams(text: str, *, open_start: bool = False, open_end: bool = False) -> set[str]:
    """The trigrams pg_trgm makes of `text`: each word padded with two blanks before it and one after.

    A word that runs into the start (end) of a LIKE pattern's literal part, i.e. into a `%`, is not padded on
    that side: open_start / open_end.
    """
    found: set[str] = set()
    lowered = text.lower()
    for match in _WORD.finditer(lowered):
        left = "" if open_start and match.start() == 0 else "  "
        right = "" if open_end and match.end() == len(lowered) else " "
        padded = left + match.group() + right
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def common_trigrams(sample: list[str], share: float = COMMON_SHARE) -> frozenset[str]:
    """Trigrams found in more than `share` of the sampled addresses."""
    counts: dict[str, int] = {}
    for address in sample:
        for trigram in trigrams(address):
            counts[trigram] = counts.get(trigram, 0) + 1
    return frozenset(t for t, n in counts.items() if n > share * len(sample))


def index_part(term: str, common: frozenset[str]) -> str:
    """The longest part of `term` (the earliest of equals) whose trigrams are none of the common ones; `term`
    itself when it has none of them, or when no such part has a trigram at all (the index then reads what it
    must)."""
    lowered = term.lower()
    spans = _common_spans(lowered, common) if common and len(lowered) == len(term) else []
    if not spans:
        return term
    # A part may not contain a whole span: a part ending at `end` starts after every span that ends by then.
    earliest_start = [0] * (len(term) + 1)
    for s, t in spans:
        earliest_start[t] = max(earliest_start[t], s + 1)
    best, start = (0, 0), 0
    for end in range(1, len(term) + 1):
        start = max(start, earliest_start[end])
        if end - start > best[1] - best[0]:
            best = (start, end)
    part = term[best[0] : best[1]]
    return part if len(part) >= _MIN_PART and trigrams(part, open_start=True, open_end=True) else term


def _common_spans(term: str, common: frozenset[str]) -> list[tuple[int, int]]:
    """Spans [s, t) of `term`: a part that contains one gives the index a common trigram to read.

    In a word padded as pg_trgm pads it, the two leading blanks stand for the separator before the word and
    the trailing one for the separator after it: a part makes a padded trigram only if it holds that
    separator (a word at the very start or end of the term has none: its padded trigrams never arise).
    """
    spans = []
    for match in _WORD.finditer(term):
        word_start, word_end = match.span()
        padded = "  " + match.group() + " "
        for k in range(len(padded) - 2):
            if padded[k : k + 3] in common:
                s, t = max(word_start + k - 2, word_start - 1), min(word_start + k + 1, word_end + 1)
                if s >= 0 and t <= len(term):
                    spans.append((s, t))
    return spans


class CommonTrigrams:
    """common_trigrams() of the current sample, read at most every _REFRESH_SECONDS per process."""

    def __init__(self) -> None:
        self._common: frozenset[str] = frozenset()
        self._read_at = -_REFRESH_SECONDS
        self._lock = threading.Lock()

    def get(self, session: Session) -> frozenset[str]:
        if time.monotonic() - self._read_at >= _REFRESH_SECONDS and self._lock.acquire(blocking=False):
            try:
                self._common = common_trigrams(self._sample(session))
            except psycopg.Error as exc:  # searches still work, through the whole term
                log.warning("could not read the email sample for search: %s", exc)
            finally:
                self._read_at = time.monotonic()
                self._lock.release()
        return self._common

    @staticmethod
    def _sample(session: Session) -> list[str]:
        row = session.execute(text(_SAMPLE)).one_or_none()
        return list(row[0]) if row and row[0] else []  # none before the table's first ANALYZE


common_in_emails = CommonTrigrams()
