"""The same jail when agentbook runs as an unprivileged user: bubblewrap started by uid 65534 through
setpriv (as root, where the machine allows; skipped with the reason otherwise). Shell-only attacks:
this Python may live where that user cannot read."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import Listener, Sentinels, as_nobody, make_root, needs_jail, no_secret, nobody_problem

from agentbook.session.limits import MIB, Limits

pytestmark = [needs_jail, pytest.mark.skipif(nobody_problem() is not None, reason=str(nobody_problem()))]


@pytest.fixture
def base() -> Path:
    """A folder uid 65534 can reach (pytest's own temp folders are private to their owner)."""
    made = Path(tempfile.mkdtemp(prefix="agentbook-nobody-"))
    made.chmod(0o755)
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def jailed(base: Path):
    root = make_root(base)
    listener = Listener(base / "outside" / "host.sock")
    sentinels = Sentinels(base / "outside")

    def run(command: str, limits: Limits | None = None) -> tuple[int, str]:
        code, out = as_nobody(root, command, limits)
        no_secret(out)
        return code, out

    yield run
    sentinels.unchanged()
    assert listener.accepted() == []
    listener.close()


def test_nobody_has_no_capabilities_and_no_new_privileges(jailed) -> None:
    _code, out = jailed("id -u; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status")
    lines = out.splitlines()
    assert lines[0] == "65534"
    assert "CapEff:\t0000000000000000" in lines and "CapBnd:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines


def test_nobody_cannot_mount_unshare_or_write_sysctls(jailed) -> None:
    _code, out = jailed("mount -t tmpfs none .; echo m=$?; unshare -U true; echo u=$?; "
                        "echo x > /proc/sys/kernel/core_pattern; echo s=$?; nsenter -t 1 -n true; echo n=$?")
    for probe in ("m", "u", "s", "n"):
        assert f"{probe}=" in out and f"{probe}=0\n" not in out


def test_nobody_sees_no_host_files(jailed, base: Path) -> None:
    _code, out = jailed(f"cat /etc/shadow 2>&1 | grep -c root:; ls /home /run /root 2>&1 | grep -c 'No such'; "
                        f"echo x > {base}/outside/victim.txt; echo w=$?")
    assert out.splitlines()[:2] == ["0", "3"] and "w=1" in out


def test_nobody_gets_no_network(jailed) -> None:
    _code, out = jailed("exec 3<>/dev/tcp/127.0.0.1/1 && echo connected; "
                        "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 443), 2)\" 2>&1 | tail -1")
    assert "connected" not in out and "Network is unreachable" in out


def test_nobody_process_limit_holds_by_rlimit(jailed) -> None:
    fork = ("python3 -c \"import os, time\nn = 0\ntry:\n    while n < 500:\n        if os.fork() == 0:\n"
            "            time.sleep(20); os._exit(0)\n        n += 1\nexcept OSError:\n    print('stopped', n)\"")
    _code, out = jailed(fork + "; kill -9 -1", Limits(processes=30))
    assert "stopped" in out and int(out.split("stopped ")[1].split()[0]) < 30


def test_nobody_file_size_and_tmp_limits(jailed) -> None:
    _code, out = jailed("head -c 3M /dev/zero > big; echo f=$?; head -c 8M /dev/zero > /tmp/x; echo t=$?",
                        Limits(file_size=1 * MIB, tmp=4 * MIB))
    assert "f=0\n" not in out and "t=0\n" not in out
