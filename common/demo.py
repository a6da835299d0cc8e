"""Demo data: a campaign filled through the real ingest API, paced so a new user watches the dashboard fill.

Recipients click (some several links), land, and some convert, from real browsers on residential networks;
recipients at companies are also scanned by their mail gateway (Safe Links, Mimecast, Proofpoint, …), whose
clicks the tracker should count as bots. Visitors come from common/data/demo_visitors.json, rows of the
labelled fixture set, sent as the `ip` and `ua` a server-side landing script would forward.
"""
import ipaddress
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import httpx

CONSUMER_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com")
# Companies route mail through a security gateway, which opens the links before the employee does.
COMPANY_MAIL = ("northwind-traders.example", "fabrikam.example", "initech.example", "globex.example")
FIRST = ("ann", "bob", "carla", "dev", "elena", "farid", "grace", "hiro", "ines", "jon", "kemi", "lars")
LAST = ("smith", "garcia", "chen", "muller", "rossi", "kowalski", "silva", "tanaka", "okafor", "dubois")
LINKS = ("hero", "cta", "product", "footer")

# Funnel, per recipient who clicks at all (non-clickers send nothing, so they are not simulated).
P_COMPANY = 0.3
P_LANDING = 0.6
P_CONVERSION = 0.2
COMMISSION = 0.3  # of an order's amount: the payout of a conversion
COST_TOTAL = "150"  # what the demo mailing cost: a list rental
P_SANDBOX_RUNS_PAGE = 0.25  # a detonation sandbox also runs the landing page's script
STORY_SECONDS = 600.0  # the planned times only order the events; `run` paces them by count


class DemoError(Exception):
    """The demo cannot go on; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Visitor:
    ua: str
    ip: str
    scanner: str | None = None  # what scans, for a gateway; None for a person


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    at: float  # seconds into the story; only the order counts
    event: str
    email: str
    domain: str
    visitor: Visitor
    extra: dict[str, str] = field(default_factory=dict)

    def params(self, campaign_id: int) -> dict[str, Any]:
        return {"cid": campaign_id, "event": self.event, "email": self.email, "domain": self.domain,
                "ip": self.visitor.ip, "ua": self.visitor.ua, **self.extra}


@cache
def _visitors() -> dict[str, Any]:
    text = resources.files("common.data").joinpath("demo_visitors.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def people() -> list[Visitor]:
    return [Visitor(v["ua"], v["ip"]) for v in _visitors()["people"]]


def scanners() -> list[Visitor]:
    return [Visitor(v["ua"], v["ip"], v["what"]) for v in _visitors()["scanners"]]


def _person(rng: random.Random) -> Visitor:
    # Another household of the same ISP: a random host in the listed address's /24.
    base = rng.choice(people())
    net = ipaddress.ip_network(f"{base.ip}/24", strict=False)
    return Visitor(base.ua, str(net.network_address + rng.randint(1, 254)))


def _recipient(rng: random.Random, n: int, domain: str) -> list[PlannedEvent]:
    company = rng.random() < P_COMPANY
    mail_domain = rng.choice(COMPANY_MAIL if company else CONSUMER_MAIL)
    email = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{n}@{mail_domain}"
    out: list[PlannedEvent] = []

    def add(at: float, event: str, visitor: Visitor, **extra: str) -> None:
        utm = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "demo"}
        out.append(PlannedEvent(at, event, email, domain, visitor, {**utm, **extra}))

    at = rng.uniform(0, STORY_SECONDS * 0.8)
    if company:  # the gateway opens every link of the mail within a second, before the employee reads it
        gateway = rng.choice(scanners())
        for i, link in enumerate(LINKS[: rng.randint(1, len(LINKS))]):
            add(at + 0.3 * i, "email_click", gateway, link=link)
        if rng.random() < P_SANDBOX_RUNS_PAGE:
            add(at + 2, "landing_click", gateway, page="offer")
        at += rng.uniform(20, 60)
    person = _person(rng)
    add(at, "email_click", person, link=rng.choice(LINKS))
    if rng.random() < P_LANDING:
        at += rng.uniform(2, 15)
        add(at, "landing_click", person, page="offer")
        if rng.random() < P_CONVERSION:
            amount = rng.choice((19, 29, 49, 99))
            # The order's amount, and the marketer's commission on it: the payout the dashboard adds up.
            add(at + rng.uniform(10, 40), "conversion", person, order=f"D{n:05}", amount=f"{amount}.00",
                payout=f"{amount * COMMISSION:.2f}")
    return out


def plan(*, recipients: int, domains: int, seed: int | None = None) -> list[PlannedEvent]:
    """Every event of the demo in the order to send: `recipients` who click, spread over `domains`."""
    rng = random.Random(seed)
    sending = [f"news{i + 1}.demo-sender.example" for i in range(domains)]
    events = [e for n in range(recipients) for e in _recipient(rng, n, sending[n % domains])]
    return sorted(events, key=lambda e: e.at)


def check_reachable(client: httpx.Client) -> None:
    """Fail early, before anything is created, when no tracker answers at the URL."""
    try:
        client.get("/healthz", timeout=5)
    except httpx.HTTPError as exc:
        raise DemoError(f"no tracker answers at {client.base_url} ({exc.__class__.__name__}); "
                        "start it with `make run`, or pass --url") from None


def send(client: httpx.Client, campaign_id: int, event: PlannedEvent, *, attempts: int = 5) -> None:
    """One event through /api/event; waits out a 503 as a landing script should, refuses anything else."""
    for _ in range(attempts):
        try:
            r = client.get("/api/event", params=event.params(campaign_id))
        except httpx.HTTPError as exc:
            raise DemoError(f"the tracker at {client.base_url} stopped answering "
                            f"({exc.__class__.__name__})") from None
        if r.status_code == 200:
            return
        if r.status_code != 503:
            raise DemoError(f"/api/event refused a demo event: {r.status_code} {r.text}")
        time.sleep(float(r.headers.get("retry-after", "1")))
    raise DemoError(f"/api/event kept answering 503 (queue full or database down) after {attempts} tries")


def run(client: httpx.Client, campaign_id: int, events: list[PlannedEvent], *, rate: float,
        progress: Callable[[PlannedEvent], None] = lambda e: None) -> Counter[str]:
    """Send the events in order, `rate` a second at most; returns how many of each kind were sent."""
    sent: Counter[str] = Counter()
    started = time.monotonic()
    for i, event in enumerate(events):
        # Paced by count, not by the planned times: the order is kept and the dashboard fills steadily.
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        send(client, campaign_id, event)
        sent[f"scanner {event.event}" if event.visitor.scanner else event.event] += 1
        progress(event)
    return sent
