"""The in-sandbox end of the relay: `python -I relay_forward.py SOCKET -- AGENT ARGV...`.

The sandbox has its own network namespace with nothing in it but loopback, so the agent cannot reach
the runner's relay (or anything else) over TCP. This launcher listens on a free loopback port inside
the sandbox, starts the agent with `ANTHROPIC_BASE_URL` set to it, and copies each connection's bytes
to and from the relay's unix socket (bound read-only into the sandbox). It exits with the agent's
exit code. Standard library only: it runs with `-I`, before anything of the agent's can load.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _serve(listener: socket.socket, path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(path)
        except OSError:
            client.close()
            upstream.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: relay_forward.py SOCKET -- COMMAND [ARG...]\n")
        return 2
    path, command = argv[0], argv[2:]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    threading.Thread(target=_serve, args=(listener, path), daemon=True).start()
    env = dict(os.environ, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}")
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as err:
        sys.stderr.write(f"relay_forward: cannot start {command[0]}: {err}\n")
        return 127
    # the runner stops a step with SIGTERM to this launcher: pass it on, so the agent can save its session
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
