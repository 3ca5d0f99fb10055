"""Serving the API with uvicorn, on a listening socket made here.

uvicorn's multi-worker supervisor creates its socket with ``proto`` 0, and asyncio then does not set
TCP_NODELAY on accepted connections: every keep-alive response waits ~40 ms for Nagle (measured here: 87
rps with 2 workers against 1,376 with 1; uvicorn issue 3149). A socket made with IPPROTO_TCP is inherited
by the workers, and asyncio sets TCP_NODELAY on what it accepts.

The event loop is uvloop and the HTTP parser httptools, named here rather than left to uvicorn's "auto"
(which picks them only when they happen to be installed; both are pinned dependencies). Against asyncio's loop
and h11, same code, same run (bench/api_throughput.py's two endpoints, with and without the context): 9-21%
more requests per second, 2-16% less CPU per request. uvloop also sets TCP_NODELAY on every TCP connection.
"""

from __future__ import annotations

import socket


def serve(
    *, host: str, port: int, workers: int = 1, log_level: str = "info", access_log: bool = True
) -> None:
    """Run the API (settings from the environment) until interrupted."""
    import uvicorn  # only here: the CLI's other verbs start faster without it
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "orgbase.api.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        loop="uvloop",
        http="httptools",
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default and rewrites the client address with it:
        # any local client could then pick the address that sign-in rate limits count (lesson 15).
        proxy_headers=False,
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])
