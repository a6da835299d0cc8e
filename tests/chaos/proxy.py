"""A TCP proxy for network faults: `python -m tests.chaos.proxy LISTEN_PORT TARGET_PORT [HOST]` (HOST: the
address it listens on and forwards to, 127.0.0.1 unless given; the hosts suite runs it on the db host).

SIGUSR1 cuts the link: every open connection is reset and new ones are refused. SIGHUP makes it slow, the
stand-in for `tc netem delay 50ms loss 1%` where the kernel has no netem (this machine's has not): every chunk
the target sends waits SLOW_DELAY, and one in a hundred waits SLOW_RETRANSMIT more, as a lost TCP segment
waits for its retransmission (Linux's minimum RTO); bytes are never dropped, since TCP would resend them.
SIGUSR2 restores the normal link.
"""

import asyncio
import random
import signal
import sys

SLOW_DELAY = 0.050
SLOW_LOSS = 0.01
SLOW_RETRANSMIT = 0.200


class Link:
    def __init__(self, listen_port: int, target_port: int, host: str = "127.0.0.1") -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.host = host
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()
        self.slow = False

    async def listen(self) -> None:
        self.slow = False
        if self.server is None:
            self.server = await asyncio.start_server(self._serve, self.host, self.listen_port, reuse_address=True)
            print("listening", flush=True)

    def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.open:
            writer.transport.abort()  # RST, as when a host goes away
        self.open.clear()
        print("cut", flush=True)

    def slow_down(self) -> None:
        self.slow = True
        print("slow", flush=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            target_r, target_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        pair = (client_w, target_w)
        self.open.update(pair)
        try:
            await asyncio.gather(self._pipe(client_r, target_w), self._pipe(target_r, client_w, answers=True))
        finally:
            self.open.difference_update(pair)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answers: bool = False) -> None:
        try:
            while data := await reader.read(65536):
                if answers and self.slow:  # in order, as on a TCP connection: a late chunk holds up the next
                    lost = random.random() < SLOW_LOSS
                    await asyncio.sleep(SLOW_DELAY + (SLOW_RETRANSMIT if lost else 0.0))
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


async def main(listen_port: int, target_port: int, host: str) -> None:
    link = Link(listen_port, target_port, host)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, link.cut)
    loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(link.listen()))
    loop.add_signal_handler(signal.SIGHUP, link.slow_down)
    await link.listen()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"))
