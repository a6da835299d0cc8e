"""common/adapters/uvicorn.py: a response's head and body reach the socket in one write.

The transport wrapper is given a recording transport; tests/web/test_http_protocol.py reads the answers of the
running web tier, which serves through the protocol web/http_protocol.py names (tests/services.start_web).
"""
import asyncio
from typing import Any

from common.adapters.uvicorn import _PairedWrites
from tests.services import run_async


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
