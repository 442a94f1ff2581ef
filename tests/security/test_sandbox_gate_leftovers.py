"""What the code a gate ran leaves running against the gate's later checks.

The agent's "tests" pass and leave a daemon behind: one that forks until the jail's process limit made a later
`! timeout 20 grep -q BAD src.txt` fail to start grep, and the negation passed with BAD there; below Landlock ABI 6
(no signal scoping) one that kills the later check did the same. A shell of the gate now ends what earlier
commands left running (processes whose parent has exited) before it starts another program, and a gate whose
jail reached its process limit fails. docs/SECURITY.md, "A gate's verdict against the code it runs"."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import make_root, needs_jail

from agentbook.runbooks.gates import run_gate
from agentbook.session import gatesep, jail
from agentbook.session.limits import Limits

pytestmark = [needs_jail,
              pytest.mark.skipif(gatesep.separation().library is None,
                                 reason="no Landlock (ABI 2+) or no C compiler here: gates rely on Yama or say so")]

# The agent's "tests": they pass, and leave three processes that start threads (each one a pid) as fast as they
# can for 15 s, so every pid the jail frees is taken again at once.
HOG = """import os, threading, time
def spin():
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        except RuntimeError:
            pass
if os.fork() == 0:
    os.setsid()
    for _ in range(2):
        if os.fork() == 0:
            break
    spin()
    os._exit(0)
time.sleep(1.5)
print("tests ok", flush=True)
"""
LEFT = "left running"  # the note a shell of the gate writes when it ended such processes


def _root(tmp_path: Path) -> Path:
    root = make_root(tmp_path)
    (root / "hog.py").write_text(HOG)
    (root / "src.txt").write_text("BAD\n")
    return root


def test_a_daemon_holding_every_process_never_passes_a_negated_check(tmp_path: Path) -> None:
    """`timeout` could not fork grep (exit 125) and `!` made that a pass; now the hog is ended first."""
    root = _root(tmp_path)
    gate = run_gate("python3 hog.py\n! timeout 20 grep -q BAD src.txt", root, protected=[],
                    limits=Limits(processes=64), timeout=60)
    assert gate.exit_code != 0, gate.output
    assert "tests ok" in gate.output and LEFT in gate.output, gate.output


def test_a_script_of_the_gate_ends_its_own_leftovers(tmp_path: Path) -> None:
    """The same attack inside a script the gate runs (`bash check.sh`, its shell in a domain of its own)."""
    root = _root(tmp_path)
    (root / "check.sh").write_text("python3 hog.py\n! timeout 20 grep -q BAD src.txt\n")
    gate = run_gate("bash check.sh", root, protected=[], limits=Limits(processes=64), timeout=60)
    assert gate.exit_code != 0 and LEFT in gate.output, gate.output


FORK_ALL = """import os, time
kids = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        kids.append(pid)
except OSError:
    pass
for kid in kids:
    os.kill(kid, 9)
    os.waitpid(kid, 0)
print("held", len(kids), flush=True)
"""


@pytest.mark.skipif(jail.pids_cgroup_base() is None, reason="no pids cgroup here (not root, or none to make)")
def test_a_gate_whose_jail_reached_its_process_limit_fails(tmp_path: Path) -> None:
    """A program that could not start one (`! make check`, whose recipe's fork failed) fails as a check does, and
    `!` turns that into a pass: the kernel counts every fork the call's pids cgroup refused, and the runner reads
    that count, which nothing in the jail can lower."""
    root = _root(tmp_path)
    (root / "fork_all.py").write_text(FORK_ALL)
    gate = run_gate("python3 fork_all.py", root, protected=[], limits=Limits(processes=64), timeout=60)
    assert "held" in gate.output, gate.output
    assert gate.exit_code != 0 and "process limit" in gate.output, gate.output
    ordinary = run_gate("python3 -c 'print(6 * 7)'", root, protected=[], limits=Limits(processes=64))
    assert ordinary.exit_code == 0 and "process limit" not in ordinary.output, ordinary.output  # the pool's reuse


def test_what_the_gates_line_started_keeps_running(tmp_path: Path) -> None:
    """A job of the gate's shell (`server &`) is not a leftover; a process whose parent is gone is."""
    root = _root(tmp_path)
    gate = run_gate("sleep 30 & job=$!\n(sleep 31 &)\npython3 -c pass\nkill -0 $job && echo job alive\n"
                    "pgrep -x sleep | wc -l\nkill $job", root, protected=[])
    assert "job alive\n1\n" in gate.output and LEFT in gate.output, gate.output


# The agent's "tests": they pass, and leave a daemon that kills whatever runs `find_todo` next.
KILLER = """import os, time
if os.fork() == 0:
    os.setsid()
    for _ in range(1000):
        for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
            try:
                if open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")[1:2] == [b"find_todo.py"]:
                    os.kill(pid, 9)
                    print("daemon: killed the check", flush=True)
            except OSError:
                pass
        time.sleep(0.01)
    os._exit(0)
print("tests ok")
"""
FIND_TODO = "import sys, time\ntime.sleep(2)\nsys.exit(0 if 'TODO' in open('src.txt').read() else 1)\n"


def test_without_signal_scoping_a_daemon_cannot_kill_a_later_check(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Below Landlock ABI 6 (forced here with AGENTBOOK_LANDLOCK_ABI, which only lowers what the kernel has) a
    program may signal any other: the daemon the tests left killed `find_todo.py` and `!` passed."""
    monkeypatch.setenv(gatesep.ABI_ENV, "5")
    assert gatesep.landlock_abi() == 5
    root = _root(tmp_path)
    (root / "tests.py").write_text(KILLER)
    (root / "find_todo.py").write_text(FIND_TODO)
    (root / "src.txt").write_text("def f():\n    pass  # TODO\n")
    unscoped = run_gate("sleep 30 & python3 -c 'import os, sys; os.kill(int(sys.argv[1]), 9); print(\"unscoped\")' $!",
                        root, protected=[])
    assert "unscoped" in unscoped.output, unscoped.output  # the library took the switch: no signal scope
    gate = run_gate("python3 tests.py\n! python3 find_todo.py", root, protected=[], timeout=30)
    assert gate.exit_code == 1, gate.output
    assert "tests ok" in gate.output and "killed the check" not in gate.output and LEFT in gate.output


# The same killer as a job of the gate's line, beside the check: nothing is left over, so nothing is ended first.
KILLER_JOB = KILLER.replace("if os.fork() == 0:\n    os.setsid()\n", "if True:\n")
STOPPED = "killed by a signal its shell did not send"


def test_without_signal_scoping_a_check_killed_by_another_program_stops_the_gate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below ABI 6 a program the gate's shell ran that died of a signal the shell did not send ends the gate as
    an error: any program may have sent it. What the shell sends (its builtin `kill`, in a subshell too, and the
    system's kill and pkill it runs: what may signal from ABI 6 on) and a pipeline's SIGPIPE stay as they were;
    a program killing a sibling it did not start (refused from ABI 6) stops the gate."""
    monkeypatch.setenv(gatesep.ABI_ENV, "5")
    root = _root(tmp_path)
    (root / "tests.py").write_text(KILLER_JOB)
    (root / "find_todo.py").write_text(FIND_TODO)
    (root / "src.txt").write_text("def f():\n    pass  # TODO\n")
    gate = run_gate("python3 tests.py &\n! python3 find_todo.py", root, protected=[], timeout=30)
    assert gate.exit_code == 137 and STOPPED in gate.output and "signal 9" in gate.output, gate.output
    ordinary = run_gate("sleep 30 & kill %1; wait $! || echo builtin kill\n"
                        "sleep 31 & ( kill $! ); wait $! || echo subshell kill\n"
                        "sleep 32 & /usr/bin/kill $!; wait $! || echo system kill\n"
                        "sleep 33 & until pgrep -x sleep >/dev/null; do :; done; pkill -x sleep; wait $! || echo pkill\n"
                        "yes | head -1\nfor i in $(seq 100000); do echo $i; done | head -1\n"
                        "timeout 1 sleep 5 || echo timeout $?\necho done", root, protected=[])
    assert ordinary.exit_code == 0, ordinary.output
    for said in ("builtin kill", "subshell kill", "system kill", "pkill", "y\n", "1\n", "timeout 124", "done"):
        assert said in ordinary.output, ordinary.output
    other = run_gate("sleep 34 & python3 -c 'import os, sys; os.kill(int(sys.argv[1]), 9)' $!; wait $!; echo after",
                     root, protected=[])
    assert other.exit_code == 137 and STOPPED in other.output and "after" not in other.output, other.output


# The agent's "tests" make their daemon a child of the gate's shell (clone with CLONE_PARENT), which no sweep of
# processes whose parent has exited would see.
ADOPTED = """import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
pid = libc.syscall(56, 0x00008000 | 17, 0, 0, 0, 0)  # clone(CLONE_PARENT | SIGCHLD): x86_64's number
if pid == 0:
    time.sleep(30)
    os._exit(0)
print("cloned", pid, "errno", ctypes.get_errno(), flush=True)
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the clone call is written with x86_64's number")
def test_a_daemon_cannot_make_itself_a_child_of_the_gates_shell(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "adopted.py").write_text(ADOPTED)
    gate = run_gate("python3 adopted.py", root, protected=[])
    assert "cloned -1 errno 1" in gate.output, gate.output  # EPERM: the seccomp filter refuses CLONE_PARENT
