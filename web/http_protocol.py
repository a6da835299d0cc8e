"""uvicorn's httptools protocol, with each response's head and body leaving in one write.

uvicorn writes the status line and headers the moment the app sends `http.response.start`, and the body as
a second write: two send() calls, two TCP segments and two wake-ups of the client for every /api/event
answer. On loopback the kernel delivers each segment inside the sender's send(), and under load the two
writes were ~30 % of a web process's samples (py-spy, docs/performance.md). Holding a write until the next
one, or until the end of the loop turn, sends the pair as one.

Served with `uvicorn --http web.http_protocol:HttpToolsProtocol` (Procfile, docker-compose.yml, tests).
"""
import asyncio
from typing import Any

from uvicorn.protocols.http import httptools_impl


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


class HttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_PairedWrites(transport, self.loop))  # type: ignore[arg-type]
