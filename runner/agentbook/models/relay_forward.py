"""The in-sandbox end of the relay: `python -I relay_forward.py SOCKET -- AGENT ARGV...`.

The sandbox has its own network namespace with nothing in it but loopback, so the agent cannot reach
the runner's relay (or anything else) over TCP. This launcher listens on a free loopback port inside
the sandbox, starts the agent with `ANTHROPIC_BASE_URL` set to it, and copies each connection's bytes
to and from the relay's unix socket (bound read-only into the sandbox). It exits with the agent's
exit code. Standard library only: it runs with `-I`, before anything of the agent's can load.

`--out FD` and `--err FD` make the agent's stdout and stderr FD, pipes the runner passed in for it
alone, instead of the jail's, which bubblewrap's init (dumpable: any process in the jail can open
`/proc/1/fd/2`) and this launcher hold too. `--sealed` (Claude Code, whose
events decide a step's outcome) checks that the agent is sealed from its own tools before letting it
run: every process in the jail has the same user, so a command the agent runs could open
`/proc/<agent>/fd/1` and write events of its own into what the runner reads. The `/proc/<pid>/fd`, `mem`
and `environ` of a process that is not dumpable are closed to processes without CAP_SYS_PTRACE (the jail
has no capability). The runner seals the agent with `--preload LIB`, a library (agentbook/data/agentseal.c)
preloaded into the agent alone that makes it not dumpable before any of its code runs, or, without a C
compiler, by laying an execute-only copy of the ELF interpreter over the jail's (agent_cli.seal_loader:
the kernel marks a process that runs a program it cannot read not dumpable, unless `fs.suid_dumpable`
is 1). This launcher makes itself not dumpable. Where the agent is not sealed within SEAL_SECONDS (or
ended before it was seen sealed), it stops the agent and exits UNSEALED.

`--status FD` is a pipe the runner reads after the jail has ended: `launching`, written before anything
of the agent's runs, then `started`, `unsealed` or `cannot start ...`. Only this launcher holds the pipe
(not dumpable, so no process of the jail opens it through /proc), so the runner knows what happened from
it and not from the jail's stderr, which any process there can write: nothing on it means the jail never
started this launcher (bubblewrap's setup failed, and its own words on the jail's stderr say why).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

PR_SET_DUMPABLE = 4
SEAL_SECONDS = 10.0  # how long a preloaded agent may take to seal itself (it does so before its own code)
UNSEALED = 86  # the exit code when the agent's output could not be sealed from its tools
UNSEALED_SAYS = "relay_forward: the agent is readable through /proc by its own tools"


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


def seal_self() -> None:
    """No process of the agent's may open this launcher's descriptors or memory through /proc."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")


def sealed(pid: int) -> bool | None:
    """Whether a process of the same user (no capability) is kept out of `pid`'s descriptors; None when
    it is gone (nothing of it is left to write through, nor to check)."""
    try:
        os.readlink(f"/proc/{pid}/fd/0")
    except PermissionError:
        return True
    except FileNotFoundError:
        return None
    return False


def wait_sealed(child: subprocess.Popen[bytes]) -> bool:
    """Whether `child` was seen sealed: at once (the loader's seal is the kernel's, at exec), or within
    SEAL_SECONDS (a preloaded library seals it as the program loads, before any code of its own)."""
    deadline = time.monotonic() + SEAL_SECONDS
    while True:
        state = sealed(child.pid)
        if state is not None:
            if state:
                return True
            if child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
                continue
        return False


def parse(argv: list[str]) -> tuple[str, dict[str, int], bool, str | None, list[str]] | None:
    """(socket, {"--out"/"--err"/"--status": FD}, --sealed, --preload's library, command), or None when the
    line is not one of ours."""
    if len(argv) < 3 or "--" not in argv:
        return None
    cut = argv.index("--")
    path, options, command = argv[0], argv[1:cut], argv[cut + 1:]
    sealed = "--sealed" in options
    if sealed:
        options.remove("--sealed")
    preload = None
    if "--preload" in options:
        at = options.index("--preload")
        if at + 1 >= len(options) or not options[at + 1].startswith("/"):
            return None
        preload = options[at + 1]
        del options[at:at + 2]
    fds: dict[str, int] = {}
    for name, value in zip(options[::2], options[1::2], strict=False):
        if name not in ("--out", "--err", "--status") or name in fds or not value.isdigit():
            return None
        fds[name] = int(value)
    if not command or len(options) % 2:
        return None
    return path, fds, sealed, preload, command


def tell(fd: int | None, line: str, last: bool = True) -> None:
    """A line of `--status`; the pipe is closed after the `last`."""
    if fd is None:
        return
    try:
        os.write(fd, line.encode("utf-8", "replace")[:4000] + b"\n")
    except OSError:
        pass
    finally:
        if last:
            os.close(fd)


def main(argv: list[str]) -> int:
    parsed = parse(argv)
    if parsed is None:
        sys.stderr.write("usage: relay_forward.py SOCKET [--out FD] [--err FD] [--status FD] [--sealed] "
                         "[--preload LIB] -- COMMAND [ARG...]\n")
        return 2
    path, fds, check_sealed, preload, command = parsed
    seal_self()
    status = fds.pop("--status", None)
    tell(status, "launching", last=False)  # before anything of the agent's runs: the jail did start
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    threading.Thread(target=_serve, args=(listener, path), daemon=True).start()
    env = dict(os.environ, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}")
    if preload is not None:  # the agent alone: the library takes it out of the agent's environment
        env["LD_PRELOAD"] = preload
    try:
        child = subprocess.Popen(command, env=env, stdout=fds.get("--out"), stderr=fds.get("--err"))
    except OSError as err:
        sys.stderr.write(f"relay_forward: cannot start {command[0]}: {err}\n")
        tell(status, f"cannot start {command[0]}: {err}")
        return 127
    finally:
        for fd in fds.values():
            os.close(fd)  # the agent holds the runner's pipes alone now
    if check_sealed and not wait_sealed(child):
        child.kill()
        child.wait()
        sys.stderr.write(f"{UNSEALED_SAYS} (its seal library did not load, or fs.suid_dumpable is 1 on this host)\n")
        tell(status, "unsealed")
        return UNSEALED
    tell(status, "started")
    # the runner stops a step with SIGTERM to this launcher: pass it on, so the agent can save its session
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
