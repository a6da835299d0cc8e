"""A TCP proxy for network faults: `python -m tests.chaos.proxy LISTEN_PORT TARGET_PORT` (127.0.0.1 only).

SIGUSR1 cuts the link: every open connection is reset and new ones are refused. SIGUSR2 restores it.
"""

import asyncio
import signal
import sys


class Link:
    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def listen(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.listen_port, reuse_address=True
            )
            print("listening", flush=True)

    def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.open:
            writer.transport.abort()  # RST, as when a host goes away
        self.open.clear()
        print("cut", flush=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            target_r, target_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        pair = (client_w, target_w)
        self.open.update(pair)
        try:
            await asyncio.gather(_pipe(client_r, target_w), _pipe(target_r, client_w))
        finally:
            self.open.difference_update(pair)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def main(listen_port: int, target_port: int) -> None:
    link = Link(listen_port, target_port)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, link.cut)
    loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(link.listen()))
    await link.listen()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
