"""`bench.app` under uvicorn on a port that several such processes share (`SO_REUSEPORT`).

Run: `python -m bench.reuseport <port>`. The kernel spreads incoming connections over the processes
listening on the port, so engines that all sync the one serve URL call all of them; each process reports
its checkpoints to the engine in its own `STEPSTONE_DEV`. Apart from the socket, this is
`python -m uvicorn bench.app:app --port <port> --log-level warning` (`procs.uvicorn_command`).
"""

from __future__ import annotations

import socket
import sys

import uvicorn


def shared_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    # Listening before the app is imported: connections hashed to this process wait in its backlog
    # until it serves them, rather than being refused.
    sock.listen(2048)
    return sock


def main(argv: list[str]) -> None:
    (port,) = argv
    sock = shared_socket(int(port))
    config = uvicorn.Config("bench.app:app", log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
