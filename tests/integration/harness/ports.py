"""Free loopback ports for test servers."""

from __future__ import annotations

import socket

_handed_out: set[tuple[str, int]] = set()


def free_port(kind: str = "tcp") -> int:
    """A port on 127.0.0.1 that is free now and was not handed out before in this process.

    The kernel picks it (bind to port 0); remembering what we handed out avoids giving the
    same number to two servers that have not bound it yet.
    """
    sock_type = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, sock_type) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if (kind, port) not in _handed_out:
            _handed_out.add((kind, port))
            return port
    raise RuntimeError("no free port found on 127.0.0.1")
