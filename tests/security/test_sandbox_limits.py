"""Resource attacks on the bash sandbox: fork bombs, memory, huge files, disk filling, CPU burn, file
descriptors, /tmp and /dev/shm, processes left behind, raising the limits back. Small limits keep each
test to a second or two; the defaults are documented in docs/SECURITY.md (Limits)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import bash, ctx_for, make_root, needs_jail

from agentbook.errors import FatalError
from agentbook.session import jail
from agentbook.session.limits import MIB, Limits, parse_flags, resolve
from agentbook.session.watchdog import tree_bytes

pytestmark = needs_jail


def survivors(root: Path) -> list[str]:
    """Host processes still working in `root` (by their cwd): none may outlive a call."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == str(root) or cwd.startswith(str(root) + "/"):
            found.append(pid)
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    made = make_root(tmp_path)
    yield made
    # The kernel kills what is left in the call's pid namespace once its init exits; on a loaded machine
    # the dying processes can still show in /proc for a moment, so give them a few seconds to go.
    deadline = time.monotonic() + 10
    while survivors(made) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert survivors(made) == []


FORK = ("python3 - <<'EOF'\nimport os, time\nn = 0\ntry:\n    while n < 2000:\n        if os.fork() == 0:\n"
        "            time.sleep(30)\n            os._exit(0)\n        n += 1\nexcept OSError as e:\n"
        "    print('stopped after', n, 'errno', e.errno)\nelse:\n    print('made', n)\nEOF")


def test_process_limit_stops_a_fork_loop(root: Path) -> None:
    out = bash(ctx_for(root, processes=40), FORK, timeout=20).content
    assert "stopped after" in out, out
    assert int(out.split("stopped after ")[1].split()[0]) < 40


def test_fork_bomb_ends_at_the_timeout_and_leaves_nothing(root: Path) -> None:
    result = bash(ctx_for(root, processes=60), ":(){ :|:& };:; sleep 30", timeout=2)
    assert result.is_error and "[timed out after 2s; killed]" in result.content


def test_memory_limit(root: Path) -> None:
    out = bash(ctx_for(root, memory=256 * MIB), "python3 -c 'b = bytearray(600 * 2**20); print(\"got it\")'").content
    assert "MemoryError" in out and "got it" not in out


MANY = ("for i in 1 2 3 4 5 6; do python3 -c 'import time; b = bytearray(150 * 2**20); b[::4096] = b\"x\" * len(b[::4096]); "
        "time.sleep(2); print(\"held\")' & done; wait")


@pytest.mark.skipif(jail.memory_cgroup_base() is None, reason="no memory cgroup can be made here (root only)")
def test_memory_limit_binds_the_whole_call_not_each_process(root: Path) -> None:
    """Six processes of 150 MiB each pass a 256 MiB per-process limit; together they are over the call's
    256 MiB, and the kernel kills some of them instead of letting the call take the host's memory."""
    out = bash(ctx_for(root, memory=256 * MIB), MANY, timeout=30).content
    assert out.splitlines().count("held") < 6 and "Killed" in out, out
    alone = bash(ctx_for(root, memory=2048 * MIB), MANY, timeout=30).content  # the same work fits in 2 GiB
    assert alone.splitlines().count("held") == 6, alone


def test_file_size_limit(root: Path) -> None:
    out = bash(ctx_for(root, file_size=1 * MIB), "head -c 3M /dev/zero > big.bin; echo rc=$?").content
    assert "rc=0" not in out
    assert (root / "big.bin").stat().st_size <= 1 * MIB


def test_cpu_limit_kills_a_busy_loop(root: Path) -> None:
    result = bash(ctx_for(root, cpu=1), "python3 -c 'while True: pass'; echo rc=$?", timeout=20)
    assert "rc=152" in result.content or "rc=137" in result.content  # SIGXCPU, or SIGKILL at the hard limit
    assert "timed out" not in result.content


def test_open_files_limit(root: Path) -> None:
    out = bash(ctx_for(root, open_files=32),
               "python3 -c 'fs = [open(\"README.md\") for _ in range(100)]; print(\"opened\")'").content
    assert "Too many open files" in out and "opened" not in out


def test_disk_watchdog_kills_a_slow_filler(root: Path) -> None:
    result = bash(ctx_for(root, disk=8 * MIB),
                  "for i in $(seq 60); do head -c 1M /dev/urandom > fill$i; sleep 0.03; done; echo finished",
                  timeout=20)
    assert result.is_error and "disk limit of 8M" in result.content and "finished" not in result.content
    assert tree_bytes(root) < 40 * MIB


def test_disk_over_after_a_fast_burst_is_reported(root: Path) -> None:
    result = bash(ctx_for(root, disk=4 * MIB), "head -c 12M /dev/urandom > burst; echo wrote")
    assert result.is_error and "disk limit of 4M" in result.content


def test_disk_usage_counts_what_was_there_before(root: Path) -> None:
    (root / "old.bin").write_bytes(os.urandom(5 * MIB))
    result = bash(ctx_for(root, disk=4 * MIB), "echo tiny > more; echo wrote")
    assert result.is_error and "disk limit" in result.content


def test_tmp_is_small_and_private(root: Path) -> None:
    out = bash(ctx_for(root, tmp=4 * MIB), "head -c 8M /dev/zero > /tmp/x; echo rc=$?; df -k /tmp | tail -1").content
    assert "No space left on device" in out and "rc=1" in out


def test_dev_shm_is_capped_and_dev_read_only(root: Path) -> None:
    out = bash(ctx_for(root), "head -c 100M /dev/zero > /dev/shm/x; echo shm=$?; echo x > /dev/newfile; "
                              "echo dev=$?; mknod /dev/sda2 b 8 2; echo mknod=$?").content
    assert "shm=1" in out and "dev=1" in out and "mknod=0" not in out


def test_background_processes_do_not_outlive_a_call(root: Path) -> None:
    result = bash(ctx_for(root), "setsid sleep 300 & nohup sleep 301 >/dev/null 2>&1 & disown; "
                                 "(sleep 302 &); echo started")
    assert result.content.startswith("started")  # returns at once: nothing left holds it


def test_timeout_kills_everything_the_call_started(root: Path) -> None:
    result = bash(ctx_for(root), "setsid sleep 300 & sleep 303", timeout=1)
    assert "[timed out after 1s; killed]" in result.content


def test_tool_seconds_caps_the_agents_timeout(root: Path) -> None:
    result = bash(ctx_for(root, tool_seconds=1), "sleep 30", timeout=600)
    assert "[timed out after 1s; killed]" in result.content


def test_output_flood_is_bounded(root: Path) -> None:
    result = bash(ctx_for(root), "head -c 50M /dev/zero | tr '\\0' x; echo; echo end")
    assert len(result.content) < 31_000 and "bytes of output cut" in result.content


def test_limits_cannot_be_raised_again(root: Path) -> None:
    out = bash(ctx_for(root, processes=100, open_files=64),
               "ulimit -u 100000; echo u=$?; ulimit -n 100000; echo n=$?; ulimit -Hf unlimited; echo f=$?; "
               "python3 -c 'import resource as r; r.setrlimit(r.RLIMIT_NPROC, (10**6, 10**6))'; echo py=$?; "
               "ulimit -c; ulimit -Hu").content
    for probe in ("u", "n", "f", "py"):
        assert f"{probe}=0" not in out
    assert out.splitlines()[-3:-1] == ["0", "100"]


def test_limit_flags_and_runbook_values_parse() -> None:
    limits = resolve({"memory": "2G", "processes": 64, "tool_seconds": "2m"}, parse_flags(["disk=512M", "cpu=90s"]))
    assert limits == Limits(memory=2 * 1024 * MIB, processes=64, tool_seconds=120.0, disk=512 * MIB, cpu=90.0)
    for bad in ({"memory": "lots"}, {"processes": -1}, {"forks": 3}, {"cpu": True}, {"tmp": "0"}):
        with pytest.raises(FatalError):
            resolve(bad, None)
    with pytest.raises(FatalError, match="expected NAME=VALUE"):
        parse_flags(["memory"])


def test_each_call_gets_its_own_process_limit_and_leaves_its_cgroup_empty(root: Path) -> None:
    for processes in (40, 15):  # a pooled cgroup is reused with the new call's limit
        out = bash(ctx_for(root, processes=processes), FORK, timeout=20).content
        assert int(out.split("stopped after ")[1].split()[0]) < processes
    # as root: the cgroups of finished calls (back in the pool) hold nothing; a warm worker another test
    # of this process started keeps its own group while it lives, and it is not in the pool
    for group in jail.pooled_cgroups():
        assert all(_settles(procs.parent) for procs in group.procs_files())


def _settles(group: Path) -> bool:
    """The last call's pid namespace takes a moment to go after bubblewrap exits."""
    for _ in range(200):
        if not (group / "cgroup.procs").read_text().strip():
            return True
        time.sleep(0.01)
    return False


def test_disk_limit_counts_files_that_hold_no_data(root: Path) -> None:
    """Empty files and symlinks take no data block, only an inode and a directory entry: under the
    default 2G limit an agent could make some 60 million of them and use up every inode of the host's
    file system (this one has 16 million), after which nothing on the host can make a file. Each entry
    now counts at least one block."""
    result = bash(ctx_for(root, disk=8 * MIB),
                  "mkdir many && python3 -c 'import os\n"
                  "for i in range(20000): os.symlink(\"x\", f\"many/{i}\")' && echo made", timeout=60)
    assert result.is_error and "disk limit of 8M" in result.content and "made" not in result.content, result.content


POOLED_AT_EXIT = """
import subprocess, sys, time
from pathlib import Path
from agentbook.session import jail
from agentbook.session.limits import Limits

call = jail.prepare(Path(sys.argv[1]), Limits(), argv=["sleep", "600"])
proc = subprocess.Popen(call.argv, pass_fds=call.pass_fds, cwd=sys.argv[1], start_new_session=True)
procs = call.cgroup.pids / "cgroup.procs"
while len(procs.read_text().split()) < 2:  # the joining shell, then bubblewrap's own processes
    time.sleep(0.01)
call.close()  # pooled while its processes live, as a warm worker's group is until the worker stops
print(call.cgroup.pids, call.cgroup.memory or "", proc.pid, flush=True)
"""


needs_cgroup = pytest.mark.skipif(jail.pids_cgroup_base() is None, reason="no pids cgroup here (root with cgroups only)")


@needs_cgroup
def test_a_pooled_cgroup_still_holding_processes_is_removed_when_the_process_exits(root: Path) -> None:
    """At exit a pooled group may still hold processes (a warm worker's, or a call's pid namespace on its
    way out); rmdir alone fails then and left the group behind (one per call). Its processes are killed
    first, and the exit waits a bounded time for them, never on the kernel."""
    done = subprocess.run([sys.executable, "-c", POOLED_AT_EXIT, str(root)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    pids, memory, _ = done.stdout.split("\n")[0].split(" ")
    assert not Path(pids).exists()
    assert not memory or not Path(memory).exists()


@needs_cgroup
def test_closing_the_pool_kills_what_a_pooled_group_holds_and_removes_it(root: Path) -> None:
    """close_pool itself, in a process of its own (it closes this process's pool for good)."""
    script = POOLED_AT_EXIT + "left = jail.close_pool()\nprint(left, open(f'/proc/{proc.pid}/stat').read().split()[2])\n"
    done = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    pids, memory, _ = done.stdout.split("\n")[0].split(" ")
    left, state = done.stdout.split("\n")[1].rsplit(" ", 1)
    assert left == "[]" and not Path(pids).exists() and not (memory and Path(memory).exists())
    assert state in ("Z", "X")  # bubblewrap was killed with everything in its group: only its parent's wait is left
