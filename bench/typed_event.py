"""Which typed value is cheapest for the event on the hot path (the choice behind common/event.py).

    .venv/bin/python bench/typed_event.py

Per event, for each candidate: building one (validation's job in the web tier), encoding a batch of 32 (the
publish), and decoding a batch back into typed values (the worker). A plain dict, today's wire format, is the
floor. Best of five runs; run it on a quiet machine.
"""
import dataclasses
import time
import timeit
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
import pydantic

from common.event import Event, decode, encode

FIELDS: dict[str, Any] = {
    "cid": 5, "type": "email_click", "email": "john@gmail.com", "domain": "example1.com", "ip": "203.0.113.9",
    "ua": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "extra": {"utm_source": "newsletter", "sub1": "abc"}, "ts": time.time(), "id": 12345,
}
BATCH = 32


@dataclasses.dataclass(slots=True)
class SlottedEvent:
    cid: int
    type: str
    email: str
    domain: str
    ip: str | None
    ua: str | None
    extra: dict[str, Any]
    ts: float
    id: int = 0


class PydanticEvent(pydantic.BaseModel):
    cid: int
    type: str
    email: str
    domain: str
    ip: str | None
    ua: str | None
    extra: dict[str, Any]
    ts: float
    id: int = 0


def _struct() -> Event:
    return Event(campaign_id=5, event_type="email_click", email="john@gmail.com", domain="example1.com",
                 ip=FIELDS["ip"], user_agent=FIELDS["ua"], extra_params={"utm_source": "newsletter", "sub1": "abc"},
                 received_at=FIELDS["ts"], id=12345)


CANDIDATES: list[tuple[str, Callable[[], Any], Callable[[list[Any]], bytes], Callable[[bytes], Any]]] = [
    ("dict + orjson (untyped, before)", lambda: {**FIELDS}, orjson.dumps, orjson.loads),
    ("slotted dataclass + orjson", lambda: SlottedEvent(**FIELDS), orjson.dumps,
     lambda b: [SlottedEvent(**d) for d in orjson.loads(b)]),
    ("msgspec.Struct (common/event.py)", _struct, encode, decode),
    ("pydantic model", lambda: PydanticEvent(**FIELDS),
     lambda events: orjson.dumps([e.model_dump() for e in events]),
     lambda b: [PydanticEvent(**d) for d in orjson.loads(b)]),
]


def per_call_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    print(f"{'candidate':34s} {'build':>8s} {'encode':>8s} {'decode':>8s} {'total':>8s}  (µs per event)")
    for name, build, dump, load in CANDIDATES:
        batch = [build() for _ in range(BATCH)]
        data = dump(batch)
        assert msgspec.json.decode(data) == msgspec.json.decode(encode([_struct()] * BATCH)), name  # same JSON
        costs = (per_call_us(build, 100_000), per_call_us(lambda: dump(batch), 10_000) / BATCH,  # noqa: B023
                 per_call_us(lambda: load(data), 10_000) / BATCH)  # noqa: B023
        print(f"{name:34s} {costs[0]:8.3f} {costs[1]:8.3f} {costs[2]:8.3f} {sum(costs):8.3f}")


if __name__ == "__main__":
    main()
