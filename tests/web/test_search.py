"""Which part of a search term the trigram index is asked for (web/dashboard/search.py), and that the rows stay the same."""
import random
from typing import Any

import psycopg
import pytest

from common.db import get_session
from web.dashboard import search
from web.dashboard.search import CommonTrigrams, common_trigrams, index_part, trigrams

PROVIDERS = frozenset({"  g", " gm", "gma", "mai", "ail", "il ", "  c", " co", "com", "om "})


@pytest.mark.parametrize("address", ["jane.doe@gmail.com", "a_b@x.co.uk", "x", "user123@mail-1.example.org"])
def test_trigrams__as_pg_trgm_makes_them(db: psycopg.Connection[Any], address: str) -> None:
    assert trigrams(address) == set(db.execute("SELECT show_trgm(%s)", (address,)).fetchone()[0])


def test_common_trigrams__those_in_more_than_the_share_of_the_sample() -> None:
    sample = [f"u{n}@gmail.com" for n in range(7)] + ["a@yahoo.de", "b@yahoo.de", "c@web.de"]
    common = common_trigrams(sample, share=0.5)
    assert {"gma", "com", "  u"} <= common and not {"yah", " de", "web"} & common


@pytest.mark.parametrize(("term", "part"), [
    ("jane.doe@gmail.com", "jane.doe@"),       # the provider's trigrams left to strpos()
    ("jane.doe@gmail.co", "jane.doe@"),
    ("@gmail.com", "@gmail.com"),              # nothing but common trigrams: the whole term
    ("gmail", "gmail"),
    ("jane", "jane"),                          # no common trigram: the whole term
    ("x@gmail.com", "x@gmail.com"),            # "x@" has no trigram to look up: the whole term
    ("comet@x.org", "omet@x.org"),             # "com" is common; the padded "  c", " co" never arise at the start
    ("a%b@gmail.com", "a%b@"),
])
def test_index_part__longest_part_without_a_common_trigram(term: str, part: str) -> None:
    assert index_part(term, PROVIDERS) == part


def test_index_part__always_a_part_of_the_term() -> None:
    rng = random.Random(5)
    alphabet = "abcgmilo.@_%1 "
    for _ in range(2_000):
        term = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        part = index_part(term, PROVIDERS)
        assert part in term and not (part != term and trigrams(part, open_start=True, open_end=True) & PROVIDERS)


def test_common_in_emails__read_from_the_planners_sample(db: psycopg.Connection[Any], campaign_id: int) -> None:
    db.execute("INSERT INTO journeys (campaign_id, email, domain, first_seen, last_seen, email_clicks) "
               "SELECT %s, 'sample' || i || '@gmail.com', 'd.com', now(), now(), 1 FROM generate_series(1, 50) i",
               (campaign_id,))
    db.execute("ANALYZE journeys")
    with get_session() as session:
        sample = CommonTrigrams._sample(session)
    assert len(sample) > 1  # addresses of the column, as sampled by ANALYZE
    found = db.execute("SELECT count(DISTINCT email) FROM journeys WHERE email = ANY(%s)", (sample,)).fetchone()
    assert found == (len(set(sample)),)
    common = CommonTrigrams()
    with get_session() as session:
        assert common.get(session) == common_trigrams(sample)
        assert common.get(session) is common.get(session)  # read once, then kept for _REFRESH_SECONDS


@pytest.mark.parametrize("common", [frozenset(), PROVIDERS], ids=["no sample", "providers common"])
def test_search__same_rows_whichever_part_the_index_is_asked_for(
    dashboard_client: Any, db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch, common: frozenset[str]
) -> None:
    from tests.web.test_dashboard import HX, new_campaign, seed_journeys

    monkeypatch.setattr(search.common_in_emails, "get", lambda session: common)
    cid = new_campaign()
    emails = ["jane.doe@gmail.com", "jane.doe@gmail.co", "jane.doe@yahoo.com", "xjane.doe@gmail.com.br",
              "a%b@gmail.com", "axb@gmail.com", "comet@x.org", "comet@y.org"]
    seed_journeys(db, cid, [(email, "d.com", 1, 0, 0) for email in emails])
    for term in ("Jane.Doe@Gmail.com", "jane.doe@gmail.co", "a%b@gmail.com", "@yahoo.com", "comet@x.org", "gmail"):
        expected = sorted(email for email in emails if term.lower() in email)
        r = dashboard_client.get(f"/campaign/{cid}/users", params={"q": term}, headers=HX)
        assert sorted(j.email for j in r.context["rows"]) == expected, term
        assert r.context["total"].value == len(expected), term
