"""uvicorn: each response's head and body in one write, and the GET /api/event fast path that reads its scope.

Tested with uvicorn 0.55.0. Private names touched: `uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`
(subclassed; served with `--http web.http_protocol:HttpToolsProtocol`), whose `connection_made` is given a
transport that holds one write back. The wrapper relies on how uvicorn writes a response (the head at
`http.response.start`, the body at `http.response.body`) and passes every other transport call through.
The fast path (web/ingest/fastpath.py) answers GET /api/event from the raw ASGI scope ahead of FastAPI; it
relies on uvicorn's scope: header names lower-cased (ASGI only recommends it) and the query string as sent.

What each bought (docs/performance.md):
- one write per answer: uvicorn's two `send()` calls were 18.3 % and 12.2 % of a web process's samples
  (py-spy); with one, the project ran faster than the bare endpoint, ratio 0.82-0.94 -> 1.04-1.07, web CPU
  77-91 -> 66-70 us per event (b039362, solo worker, session 5);
- the fast path, with task events and per-batch INFO lines off: 1,669 -> 2,485 req/s, ratio 0.32 -> 0.59,
  p99 172.7 -> 63.3 ms (the first ingest table).

Stock path, when off: uvicorn's own httptools protocol (the `--http` class is uvicorn's) and FastAPI's route
serving GET /api/event too (it serves POST already, with the same `record()`).
"""
import asyncio
from typing import Any

from uvicorn.protocols.http import httptools_impl

from common.adapters import Adapter
from common.config import Settings

ADAPTER = Adapter(
    module="common/adapters/uvicorn.py",
    tested=(("uvicorn", "0.55.0"),),
    stock="uvicorn's own httptools protocol writes each response and FastAPI's route answers GET /api/event",
)


def active(settings: Settings) -> bool:
    return ADAPTER.active(settings)


class _PairedWrites:
    """A transport that holds one write back, to send it together with the next.

    At most one write is held, so a streamed response still goes out chunk by chunk (two at a time) and
    uvicorn's flow control sees the real transport's buffer. A held write is sent at the end of the loop
    turn if nothing follows it, and before the transport is closed.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = bytes(data)
            self._loop.call_soon(self._send_held)
        else:
            held, self._held = self._held, None
            self._transport.write(held + data)

    def _send_held(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        # Everything else (is_closing, get_extra_info, pause_reading, set_protocol, ...) is the transport's.
        return getattr(self._transport, name)


class PairedWritesProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol, with each response's head and body leaving in one write.

    On loopback the kernel delivers each segment inside the sender's send(); two writes per answer meant two
    TCP segments and two wake-ups of the client. Holding a write until the next one, or until the end of
    the loop turn, sends the pair as one.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_PairedWrites(transport, self.loop))  # type: ignore[arg-type]


def http_protocol(settings: Settings) -> type[httptools_impl.HttpToolsProtocol]:
    """The protocol class uvicorn's `--http` should serve with: ours when active, else uvicorn's own."""
    return PairedWritesProtocol if active(settings) else httptools_impl.HttpToolsProtocol
