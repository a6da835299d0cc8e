"""What the webhook outbox costs the ingest statement: the same batches stored by the statement without the
outbox (what batches without a conversion run) and with it (batches holding a conversion), alternately.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH .venv/bin/python bench/webhook_outbox.py \\
        [--batches 200] [--batch 50] [--hooked]

Run it on a scratch database (`tracker migrate` creates it): it adds campaigns and events. `--hooked` gives the
campaign a webhook URL, so the outbox rows are written too. Prints the median statement time per batch and
per event for each.
"""
import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import store
from common.campaigns import create_campaign
from common.config import get_settings
from common.db import connect, get_session
from common.event import Event, encode
from common.vocabulary import EVENT_TYPE_NAMES

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--hooked", action="store_true")
    args = parser.parse_args()
    with get_session() as session:
        campaign = create_campaign(session=session, name=f"Bench {uuid.uuid4().hex[:6]}",
                                   offer_url="https://offer.example.com/")
        campaign.webhook_url = "https://hooks.example.com/bench" if args.hooked else None
        cid = campaign.id
    options = store.StoreOptions.of(get_settings())
    timings: dict[str, list[float]] = {"without outbox": [], "with outbox": []}
    with connect() as conn:
        for i in range(args.batches * 2):
            ids = [r[0] for r in conn.execute("SELECT nextval('events_id_seq') FROM generate_series(1, %s)",
                                              (args.batch,))]
            # The types in turn, so every batch holds conversions (as the outbox variant's batches do).
            events = [Event(id=event_id, campaign_id=cid, event_type=EVENT_TYPE_NAMES[k % len(EVENT_TYPE_NAMES)],
                            email=f"u{i}-{k % 7}@x.com", domain="d.com", ip="198.51.100.7", user_agent=CHROME,
                            payout="1.5" if EVENT_TYPE_NAMES[k % len(EVENT_TYPE_NAMES)] == "conversion" else None,
                            received_at=time.time())
                      for k, event_id in enumerate(ids)]
            rows = encode([store._enriched(e) for e in events]).decode()
            label, statement = (("without outbox", store._STATEMENT) if i % 2 else
                                ("with outbox", store._STATEMENT_WITH_OUTBOX))
            started = time.perf_counter()
            conn.execute(statement, {"rows": rows, **options.params()})
            timings[label].append(time.perf_counter() - started)
        outbox = conn.execute("SELECT count(*) FROM webhook_deliveries WHERE campaign_id = %s", (cid,)).fetchone()
    for label, took in timings.items():
        median = statistics.median(took[10:])  # the first ones plan and warm the caches
        print(f"{label:15s} median {median * 1000:7.2f} ms per batch of {args.batch}, "
              f"{median / args.batch * 1e6:6.1f} µs per event")
    print(f"outbox rows written: {outbox[0] if outbox else 0}")


if __name__ == "__main__":
    main()
