"""A bounded load for the chaos tests: `total` events at a steady rate against 127.0.0.1, every answer kept.
The hosts suite gives it several web hosts (each event goes to the next in turn) and the host it runs from.

The load runs in a thread of its own (an asyncio loop, one keep-alive connection per sender) so the test can
break things meanwhile. Each event carries its sequence number as the extra parameter `seq`, so a stored row
can be traced to the request that sent it, whatever the answer was.
"""

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.hosts.network import Host, enter_namespace

EVENT_TYPES = ("email_click", "landing_click", "conversion")
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)


@dataclass(slots=True, frozen=True)
class Outcome:
    seq: int
    sent_at: float  # time.monotonic()
    answered_at: float
    status: int | None  # None: no answer (connection reset, timeout)
    event_id: int | None = None
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.event_id is not None


class Load:
    """Sends `total` events spread evenly over `duration` seconds; never runs longer than `deadline`."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        campaign_id: int,
        *,
        total: int = 20_000,
        duration: float = 20.0,
        connections: int = 32,
        request_timeout: float = 20.0,
        deadline: float = 60.0,
        client: Host | None = None,
    ) -> None:
        urls = [urlsplit(url) for url in ([base_url] if isinstance(base_url, str) else base_url)]
        self.client = client
        if client is None and any(url.hostname != "127.0.0.1" for url in urls):
            raise ValueError("the chaos load only targets 127.0.0.1 (or hosts it reaches from a client host)")
        self.targets = [(url.hostname or "", url.port or 80) for url in urls]
        self.campaign_id = campaign_id
        self.total = total
        self.interval = duration / total
        self.connections = connections
        self.request_timeout = request_timeout
        self.deadline = deadline
        self.outcomes: list[Outcome] = []  # appended from the load thread; list.append is atomic
        self.started_at = 0.0
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="chaos-load", daemon=True)

    def start(self) -> "Load":
        self._thread.start()
        self._started.wait(10)
        return self

    def join(self) -> None:
        self._thread.join(self.deadline + self.request_timeout + 10)
        assert not self._thread.is_alive(), "load generator did not finish"
        assert self.error is None, f"load generator failed: {self.error!r}"

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def wait_until_elapsed(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds - self.elapsed()))

    def ok_ids(self) -> list[int]:
        return [o.event_id for o in list(self.outcomes) if o.event_id is not None]

    def _path(self, seq: int) -> str:
        return (
            f"/api/event?cid={self.campaign_id}&event={EVENT_TYPES[seq % 3]}"
            f"&email=user{seq % 997}%40example.com&domain=sender{seq % 7}.example&seq={seq}"
        )

    async def _send(self, conn: "_Connection", seq: int) -> Outcome:
        sent_at = time.monotonic()
        agent = CHROME if seq % 2 else "curl/8.5.0"  # humans and bots in the rollups
        try:
            answer = await asyncio.wait_for(conn.get(self._path(seq), agent), self.request_timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            conn.close()  # the next request opens a new connection
            return Outcome(seq, sent_at, time.monotonic(), None)
        status, headers, body = answer
        event_id = None
        if status == 200:
            decoded = json.loads(body)
            if decoded.get("status") == "ok":
                event_id = int(decoded["event_id"])
        return Outcome(seq, sent_at, time.monotonic(), status, event_id, headers.get("retry-after"))

    def _main(self) -> None:
        try:
            if self.client is not None:
                enter_namespace(self.client.netns)
            asyncio.run(self._run())
        except BaseException as exc:
            self.error = exc
            self._started.set()

    async def _run(self) -> None:
        self.started_at = start = time.monotonic()
        self._started.set()
        seqs = itertools.count()

        async def sender() -> None:
            conns = [_Connection(host, port) for host, port in self.targets]
            try:
                for seq in seqs:
                    due = start + seq * self.interval
                    if seq >= self.total or time.monotonic() - start > self.deadline:
                        return
                    await asyncio.sleep(due - time.monotonic())
                    self.outcomes.append(await self._send(conns[seq % len(conns)], seq))
            finally:
                for conn in conns:
                    conn.close()

        await asyncio.gather(*(sender() for _ in range(self.connections)))


# uvicorn closes a keep-alive connection idle for 5 s (its default): a request sent on it just then gets no
# answer. Like browsers and httpx's pool (keepalive_expiry), the client opens a new connection instead.
IDLE_REUSE_SECONDS = 4.0


class _Connection:
    """One keep-alive HTTP/1.1 connection; opened on first use, after any failure and after being idle.

    A minimal client on purpose: it never retries, so every answer (or its absence) is the server's.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._used_at = 0.0

    async def get(self, path: str, user_agent: str) -> tuple[int, dict[str, str], bytes]:
        if self._streams is not None and time.monotonic() - self._used_at > IDLE_REUSE_SECONDS:
            self.close()
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nUser-Agent: {user_agent}\r\n\r\n".encode())
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = (line.partition(":") for line in head[1:] if line)
        headers = {name.strip().lower(): value.strip() for name, _, value in fields}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self._used_at = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].transport.abort()
            self._streams = None
