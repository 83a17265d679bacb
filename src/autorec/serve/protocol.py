"""uvicorn's HTTP protocol with TCP_NODELAY set on every connection.

With ``--workers N``, uvicorn binds the listening socket itself with protocol number 0, and
asyncio then leaves Nagle's algorithm on for the accepted connections (it sets TCP_NODELAY
only on sockets whose protocol is IPPROTO_TCP).  Nagle's algorithm and the client's delayed
ACK then held every response back about 40 ms: measured 44 ms per request for one client with
two workers, against 1.7 ms with one (benchmarks/bench_serve.py).
"""

from __future__ import annotations

import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport) -> None:  # noqa: D401
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not a TCP socket after all: nothing to turn off
                pass
        super().connection_made(transport)
