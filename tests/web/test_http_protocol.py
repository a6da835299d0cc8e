"""web/http_protocol.py: a response's head and body reach the socket in one write.

The unit tests give the transport wrapper a recording transport; the end-to-end test reads the answer of the
running web tier (every web test serves through this protocol, see tests/services.start_web).
"""
import asyncio
import socket
from typing import Any

import httpx

from tests.services import run_async
from web.http_protocol import _PairedWrites


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return {"peername": ("127.0.0.1", 5555)}.get(name)


def test_head_then_body__one_write() -> None:
    async def scenario() -> RecordingTransport:
        transport = RecordingTransport()
        paired = _PairedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        paired.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        paired.write(b"{}")
        await asyncio.sleep(0)  # the end-of-turn flush finds nothing held
        return transport

    transport = run_async(scenario())
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_lone_write__sent_at_the_end_of_the_loop_turn() -> None:
    async def scenario() -> tuple[list[bytes], RecordingTransport]:
        transport = RecordingTransport()
        paired = _PairedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        paired.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        before = list(transport.writes)
        await asyncio.sleep(0)
        return before, transport

    before, transport = run_async(scenario())
    assert before == []
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_streamed_chunks__all_sent_in_order_at_most_two_per_write() -> None:
    async def scenario() -> RecordingTransport:
        transport = RecordingTransport()
        paired = _PairedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        for chunk in (b"head|", b"a|", b"b|", b"c|", b"d|"):
            paired.write(chunk)
        await asyncio.sleep(0)
        return transport

    transport = run_async(scenario())
    assert b"".join(transport.writes) == b"head|a|b|c|d|"
    assert transport.writes == [b"head|a|", b"b|c|", b"d|"]


def test_close__sends_what_is_held_first() -> None:
    async def scenario() -> RecordingTransport:
        transport = RecordingTransport()
        paired = _PairedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        paired.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
        paired.close()
        await asyncio.sleep(0)
        return transport

    transport = run_async(scenario())
    assert transport.writes == [b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"]
    assert transport.closed


def test_other_transport_calls__reach_the_transport() -> None:
    loop = asyncio.new_event_loop()
    try:
        paired = _PairedWrites(RecordingTransport(), loop)  # type: ignore[arg-type]
        assert paired.get_extra_info("peername") == ("127.0.0.1", 5555)
        assert paired.is_closing() is False
    finally:
        loop.close()


def test_web_tier__answers_whole_responses_over_keep_alive(web: str, campaign_id: int) -> None:
    """Raw HTTP/1.1 on one connection: each answer is complete, head and body, before the next request."""
    host, port = web.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for n in range(3):
            sock.sendall(f"GET /api/event?cid={campaign_id}&event=email_click&email=p{n}@x.com&domain=d.com "
                         f"HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            answer = _read_response(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert b'"status":"ok"' in body
    # And through an ordinary client, a page with a body of its own.
    assert httpx.get(f"{web}/healthz", timeout=10).json()["status"] == "ok"


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    length = int(next(line.split(":", 1)[1] for line in head.split("\r\n") if line.startswith("content-length")))
    while len(data.partition(b"\r\n\r\n")[2]) < length:
        data += sock.recv(65536)
    return data
