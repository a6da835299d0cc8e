"""A small campaign for the mending tools' tests: people, a scanner, a burst, a visitor unknown, conversions
with payouts, over several hours and days, stored the way the worker stores them."""
import time
from typing import Any

import psycopg

from tests.events import CHROME, Wire, store

HOUR = 3600
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"


def wire(conn: psycopg.Connection[Any], cid: int, specs: list[tuple[str, str, float, dict[str, Any]]]) -> list[Wire]:
    """Events (type, email, seconds ago, overrides) of campaign `cid`, with ids from the events sequence."""
    ids = [r[0] for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)", (len(specs),))]
    now = time.time()
    out = []
    for i, (kind, email, ago, more) in zip(ids, specs, strict=True):
        event = {"id": i, "cid": cid, "type": kind, "email": email, "domain": email.split("@")[1].replace(
            "x.", "send-"), "ip": "198.51.100.7", "ua": CHROME, "extra": {}, "ts": now - ago}
        out.append({**event, **more})
    return out


def paid(amount: str) -> dict[str, Any]:
    return {"payout": amount, "extra": {"payout": amount}}


def fill(conn: psycopg.Connection[Any], cid: int) -> int:
    """Stores the campaign's events; returns how many."""
    specs: list[tuple[str, str, float, dict[str, Any]]] = [
        ("email_click", "ann@x.a.com", 50 * HOUR, {}),
        ("landing_click", "ann@x.a.com", 49 * HOUR, {}),
        ("conversion", "ann@x.a.com", 48 * HOUR, paid("12.50")),
        ("email_click", "bob@x.a.com", 26 * HOUR, {"ua": SCANNER}),
        ("email_click", "bob@x.a.com", 3 * HOUR, {}),
        ("email_click", "bob@x.a.com", 3 * HOUR - 2, {}),  # a burst: 2 s after the previous click
        ("email_click", "cat@x.b.com", 2 * HOUR, {"ua": None, "ip": None, "caller_ip": True,
                                                  "caller_ua": True}),  # visitor unknown
        ("conversion", "cat@x.b.com", 1 * HOUR, paid("7.25")),
        ("email_click", "dan@x.b.com", 0.5 * HOUR, {}),
    ]
    return store(conn, wire(conn, cid, specs))
