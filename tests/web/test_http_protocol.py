"""The web tier answers whole responses over keep-alive, with whichever protocol web/http_protocol.py names:
one write per answer (common/adapters/uvicorn.py, tested there) or, with the adapters off, uvicorn's own."""
import socket

import httpx
import pytest

pytestmark = pytest.mark.stock_path


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
