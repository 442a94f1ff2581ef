"""Attacks on the warm worker (`agentbook.warm`): code the agent controls, run by a gate, talks to the
worker that answers the gate's `agentbook` calls, to escape the jail, to read another call's data, to
keep a process alive after its call, or to stand in for the worker.

The vehicle is real: `agentbook runs list` runs `git` by PATH (to read the user's global config), so
`PATH=$PWD/evil:$PATH agentbook runs list` runs the agent's own `git` script inside the worker's child. Each test first checks that the
call was answered by the worker (its pid namespace is the worker's, not the gate's)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import SECRETS, Sentinels, bash, ctx_for, make_root, needs_jail, no_secret

from agentbook.runbooks.gates import prewarm, run_gate, tool_path
from agentbook.warm import pool

pytestmark = needs_jail
GATE_SECONDS = 120  # a gate that hangs fails the test, not the suite's own timeout
EVIL_CALL = "PATH=$PWD/evil:$PATH agentbook runs list >/dev/null 2>&1; echo rc=$?; readlink /proc/self/ns/pid"
CLIENT = r"""
import os, socket, struct, sys
def ask(cwd, args, fds=(0, 1, 2)):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect("/run/agentbook-warm/sock")
    env = [k + b"=" + v for k, v in os.environb.items()]
    body = b"\0".join([b"AB1", b"111", b"18", cwd, str(len(args)).encode(), *args, *env])
    socket.send_fds(s, [struct.pack(">I", len(body)) + body], list(fds))
    return s.recv(1)
"""


@pytest.fixture
def warm_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A worktree under /tmp (pytest's tmp_path), the layout where the worker's /tmp holds the root's
    mount, with a ready worker for its gates, started while the runner holds secrets."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTBOOK_WARM", "1")
    root = make_root(tmp_path)
    (root / "evil").mkdir()
    (root / "out").mkdir()
    assert prewarm(root, protected=[], wait=120), _log(root)
    yield root
    pool.stop(root)


def _evil(root: Path, script: str) -> None:
    git = root / "evil" / "git"
    # the worker is the parent of the `agentbook` child that runs this script
    worker = "worker() { local s; s=$(cat /proc/$PPID/stat); s=${s##*) }; set -- $s; echo $2; }\n"
    body = worker + script + "\nreadlink /proc/self/ns/pid > out/ns\n"
    git.write_text("#!/bin/bash\n" + body.replace("out/", f"{root}/out/"))  # git runs in agentbook's folder
    git.chmod(0o755)


def _log(root: Path) -> str:
    worker = pool._workers.get((str(root.resolve()), "gate"))
    return worker.log.read_text() if worker is not None and worker.log.exists() else "(no log)"


def _worker_ns(root: Path, role: str = "gate") -> str:
    pid = pool.worker_python_pid(role, root)
    assert pid is not None, "no worker process"
    return os.readlink(f"/proc/{pid}/ns/pid")


def _in_ns(ns: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "pid") == ns:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def _answered_warm(root: Path, gate_output: str) -> None:
    """The evil git ran in the worker's pid namespace, not in the gate's own."""
    ns = (root / "out" / "ns").read_text().strip()
    assert ns == _worker_ns(root), _log(root)
    assert ns not in gate_output.splitlines()


def test_no_process_outlives_its_call(warm_root: Path) -> None:
    _evil(warm_root, "setsid sleep 300 </dev/null >/dev/null 2>&1 &\n"
                     "(trap '' TERM HUP; exec sleep 301) </dev/null >/dev/null 2>&1 &\ndisown -a")
    gate = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)
    _answered_warm(warm_root, gate.output)
    ns = _worker_ns(warm_root)
    assert len(_in_ns(ns)) == 2, [Path(f"/proc/{p}/cmdline").read_bytes() for p in _in_ns(ns)]  # init + worker


def test_a_call_sees_nothing_the_last_one_left(warm_root: Path) -> None:
    _evil(warm_root, "echo s3cret > /tmp/left; echo s3cret > /dev/shm/left; mkdir -p /tmp/locked/deep\n"
                     "echo s3cret > /tmp/locked/deep/f; chmod 000 /tmp/locked/deep /tmp/locked; ln -s / /tmp/link\n"
                     "ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null; ipcmk -S 2 >/dev/null; chmod 700 /tmp")
    first = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)
    _answered_warm(warm_root, first.output)
    _evil(warm_root, "{ ls -A /tmp /dev/shm; stat -c %a /tmp; ipcs -m -q -s | grep -c '^0x'; } > out/seen 2>&1")
    second = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)
    _answered_warm(warm_root, second.output)
    seen = (warm_root / "out" / "seen").read_text()
    assert "left" not in seen and "locked" not in seen and "link" not in seen, seen
    assert seen.split()[-1] == "0", seen  # no shared memory, queue or semaphore set survived
    # the worktree itself lives under /tmp here, and is never touched by the clean-up
    assert (warm_root / "README.md").read_text() == "# the agent's worktree\n"
    assert (warm_root / "src" / "app.py").exists()


def test_the_worker_child_is_as_confined_as_the_gate(warm_root: Path, tmp_path: Path) -> None:
    sentinels = Sentinels(tmp_path / "outside")
    _evil(warm_root, f"""{{ grep CapEff /proc/self/status; env; cat /proc/*/environ; ls /proc | grep -c '^[0-9]'
cat /proc/$(worker)/mem && echo READ-MEM; cat /proc/$(worker)/environ && echo READ-ENV
echo x > {tmp_path}/outside/victim.txt; mount -t tmpfs none /mnt && echo MOUNTED
cat {tmp_path}/outside/secret.txt; ls /run/agentbook-warm && echo SEES-SOCKET; }} > out/seen 2>&1""")
    gate = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)
    _answered_warm(warm_root, gate.output)
    seen = (warm_root / "out" / "seen").read_text()
    no_secret(seen + gate.output)
    sentinels.unchanged()
    assert "CapEff:\t0000000000000000" in seen
    assert "READ-MEM" not in seen and "READ-ENV" not in seen and "MOUNTED" not in seen, seen
    assert "SEES-SOCKET" not in seen  # a call inside the worker cannot reach the worker's socket


def test_the_shim_and_the_socket_cannot_be_replaced(warm_root: Path) -> None:
    gate = run_gate("rm -f /run/agentbook-warm/sock && echo RM; echo exit 0 > /run/agentbook-warm/agentbook && echo W;"
                    "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"/run/agentbook-warm/x\")' "
                    "2>/dev/null && echo BOUND; chmod 777 /run/agentbook-warm && echo CHMOD; echo done",
                    warm_root, protected=[], timeout=GATE_SECONDS)
    said = gate.output.splitlines()
    assert "done" in said and not {"RM", "W", "BOUND", "CHMOD"} & set(said), gate.output
    _evil(warm_root, "true")
    gate = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)
    _answered_warm(warm_root, gate.output)


def test_requests_the_worker_must_not_serve_warm(warm_root: Path) -> None:
    """Straight to the socket: a folder outside the root, the caller's own /proc or /tmp in an
    argument, foreign interpreter settings, garbage: `N` (the shim runs cold) or nothing, never `Y`."""
    root = str(warm_root).encode()
    script = CLIENT + f"""
print("outside", ask(b"/", [b"version"]))
print("proc", ask({root!r}, [b"eval", b"run", b"/proc/1/environ"]))
print("tmp", ask({root!r}, [b"validate", b"/tmp/x.yaml"]))
print("climb", ask({root!r}, [b"validate", b"../../outside/x.yaml"]))
os.environ["PYTHONPATH"] = "evil"
print("python", ask({root!r}, [b"version"]))
s = socket.socket(socket.AF_UNIX); s.connect("/run/agentbook-warm/sock"); s.sendall(b"\\0\\0\\0\\5hello")
print("garbage", s.recv(1))
"""
    (warm_root / "client.py").write_text(script)
    gate = run_gate("python3 client.py", warm_root, protected=[], timeout=GATE_SECONDS)
    lines = dict(line.split(" ", 1) for line in gate.output.splitlines() if " " in line)
    assert lines == {"outside": "b'N'", "proc": "b'N'", "tmp": "b'N'", "climb": "b'N'", "python": "b'N'",
                     "garbage": "b''"}, gate.output
    _evil(warm_root, "true")
    gate = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)  # and it still serves the next call
    _answered_warm(warm_root, gate.output)


def test_a_timed_out_gate_kills_its_warm_call(warm_root: Path) -> None:
    _evil(warm_root, "readlink /proc/self/ns/pid > out/ns\nexec sleep 300")
    gate = run_gate(EVIL_CALL, warm_root, protected=[], timeout=3)
    assert gate.exit_code == 124
    _answered_warm(warm_root, gate.output)
    ns = _worker_ns(warm_root)
    deadline = time.monotonic() + 30  # the worker sees its caller go, then kills what it ran
    while len(_in_ns(ns)) > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_in_ns(ns)) == 2, _log(warm_root)
    _evil(warm_root, "true")
    gate = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)
    _answered_warm(warm_root, gate.output)


def test_a_killed_worker_leaves_the_gates_cold_and_jailed(warm_root: Path) -> None:
    _evil(warm_root, "kill -9 $(worker)")
    gate = run_gate(EVIL_CALL, warm_root, protected=[], timeout=GATE_SECONDS)
    assert "rc=70" in gate.output  # the call half ran: an error, never a guess
    gate = run_gate("agentbook version --json >/dev/null; echo rc=$?; grep CapEff /proc/self/status", warm_root,
                    protected=[], timeout=GATE_SECONDS)
    assert "rc=0" in gate.output and "CapEff:\t0000000000000000" in gate.output


def test_the_agents_bash_has_a_worker_of_its_own(warm_root: Path) -> None:
    """The agent's first `agentbook` call in bash starts its own worker (and runs cold); later calls go
    to that worker, never to the gates' one (which is bound only into the gates' jails)."""
    ctx = ctx_for(warm_root)
    ctx.env = {"PATH": tool_path()}
    first = bash(ctx, "agentbook version --json >/dev/null; echo rc=$?")
    assert "rc=0" in first.content
    worker = pool._workers[(str(warm_root.resolve()), "bash")]
    assert worker.wait_ready(120), worker.log.read_text()
    _evil(warm_root, "{ grep CapEff /proc/self/status; env; } > out/seen 2>&1")
    call = bash(ctx, EVIL_CALL)
    ns = (warm_root / "out" / "ns").read_text().strip()
    assert ns == _worker_ns(warm_root, "bash") != _worker_ns(warm_root, "gate")
    assert ns not in call.content.splitlines()
    seen = (warm_root / "out" / "seen").read_text()
    no_secret(seen + call.content)
    assert "CapEff:\t0000000000000000" in seen
