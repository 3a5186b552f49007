"""The listening socket `serve` binds before loading the model."""

from __future__ import annotations

import asyncio
import socket

from embeddings.server import bind


def test_connections_it_accepts_send_small_writes_at_once() -> None:
    """With Nagle's algorithm on, a response's body waits for the ACK of its headers, which a
    keep-alive client delays by ~40 ms: one request per text ran at a third of its speed."""
    listener = bind("127.0.0.1", 0)
    accepted: list[int] = []

    async def main() -> None:
        def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connection, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            for _ in range(100):
                if accepted:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert len(accepted) == 1
    assert accepted[0] != 0
