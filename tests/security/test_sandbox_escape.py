"""Attacks on the bash sandbox itself: capabilities, mounts, namespaces, /proc, host files, secrets,
network and sockets. Each runs through the real bash tool in the real jail (as the user running the
tests: root on CI) and checks that nothing outside the root changed, no secret came back and nothing
connected."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import (
    SECRETS,
    Listener,
    Sentinels,
    bash,
    ctx_for,
    make_root,
    needs_jail,
    no_secret,
)

pytestmark = needs_jail


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    root = make_root(tmp_path)
    listener = Listener(tmp_path / "outside" / "host.sock")
    sentinels = Sentinels(tmp_path / "outside")
    yield root, ctx_for(root), listener
    sentinels.unchanged()
    assert listener.accepted() == []
    listener.close()


def run(env, command: str, **args) -> str:
    _root, ctx, _listener = env
    result = bash(ctx, command, **args)
    no_secret(result.content)
    return result.content


def test_no_capabilities_at_all(env) -> None:
    out = run(env, "grep ^Cap /proc/self/status; sh -c 'grep ^CapEff /proc/self/status'")
    caps = dict(line.split(":\t") for line in out.splitlines() if line.startswith("Cap"))
    assert set(caps) == {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}
    assert set(caps.values()) == {"0000000000000000"}


def test_setuid_binaries_give_nothing_back(env) -> None:
    out = run(env, "for b in /usr/bin/su /usr/bin/sudo /usr/bin/passwd /usr/bin/newgrp; do "
                   "test -u $b && $b root -c 'grep CapEff /proc/self/status' </dev/null; done; "
                   "grep NoNewPrivs /proc/self/status")
    assert "NoNewPrivs:\t1" in out and "CapEff:\t000001" not in out


SET_ID_ATTEMPTS = {
    "chmod": "cp /bin/sh sh-u && chmod 4755 sh-u; cp /bin/sh sh-g && chmod g+s sh-g",
    "install": "install -m 4755 /bin/sh sh-i",
    "mkdir": "mkdir -m 2775 dir-g; mkdir dir-h && chmod 2775 dir-h",
    "open": "python3 -c \"import os; os.close(os.open('sh-o', os.O_CREAT | os.O_WRONLY, 0o6755))\"",
    "mknod": "python3 -c \"import os, stat; os.mknod('sh-n', stat.S_IFREG | 0o4755)\"",
    "fchmod": "python3 -c \"import os; f = os.open('sh-f', os.O_CREAT | os.O_WRONLY); os.fchmod(f, 0o4755)\"",
    "fchmodat2": "python3 -c \"import ctypes; open('sh-2', 'w').close(); "
                 "ctypes.CDLL(None).syscall(452, -100, b'sh-2', 0o4755, 0)\"",
}


@pytest.mark.parametrize("how", sorted(SET_ID_ATTEMPTS))
def test_no_set_id_file_reaches_the_host(env, how: str) -> None:
    """The jail's files are the host's and owned by the runner's user (root): a set-user-id copy of sh in
    the worktree or the agent's home was a root shell for any user of the host who could reach it."""
    root, _ctx, _listener = env
    run(env, SET_ID_ATTEMPTS[how] + "; chmod 755 README.md; echo done")
    set_id = [str(p) for p in root.rglob("*") if p.lstat().st_mode & (0o4000 | 0o2000)]
    assert set_id == []
    assert root.joinpath("README.md").stat().st_mode & 0o777 == 0o755  # ordinary modes still change


def test_remount_root_read_write_fails(env) -> None:
    out = run(env, "mkdir -p mnt; mount --bind / mnt; echo bind=$?; mount -o remount,rw,bind mnt; "
                   "echo remount=$?; mount -o remount,rw /usr; echo usr=$?; touch /usr/agentbook-probe; "
                   "echo touch=$?")
    assert "bind=0" not in out and "remount=0" not in out and "usr=0" not in out and "touch=1" in out
    assert not Path("/usr/agentbook-probe").exists()


def test_unmounting_proc_shows_no_host(env) -> None:
    out = run(env, "umount /proc; echo umount=$?; umount -l /proc; ls /proc | grep -c '^[0-9]'")
    assert "umount=0" not in out
    count = int(out.splitlines()[-2])
    assert count < 10  # a pid namespace of its own: the shell and its few children, no host process


def test_runner_environment_unreachable_through_proc(env) -> None:
    out = run(env, f"cat /proc/{os.getpid()}/environ /proc/{os.getppid()}/environ /proc/1/environ "
                   "/proc/*/environ 2>&1 | tr '\\0' '\\n' | grep -E 'API_KEY|TOKEN'; env | grep -E 'KEY|TOKEN'; "
                   "echo done")
    assert out.startswith("done")


def test_enter_host_namespaces_fails(env) -> None:
    _root, _ctx, listener = env
    out = run(env, f"nsenter --net=/proc/1/ns/net -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/{listener.port}'; "
                   "echo net=$?; nsenter -t 1 -m -u -i -n -p true; echo all=$?")
    assert "net=0" not in out and "all=0" not in out


def test_new_user_or_mount_namespace_fails(env) -> None:
    out = run(env, "unshare -U true; echo u=$?; unshare -r true; echo r=$?; unshare -m true; echo m=$?; "
                   "unshare -n true; echo n=$?; python3 -c 'import os; os.unshare(os.CLONE_NEWUSER)'; echo py=$?")
    for probe in ("u", "r", "m", "n", "py"):
        assert f"{probe}=0" not in out


def test_no_network_to_loopback_listener(env) -> None:
    _root, _ctx, listener = env
    out = run(env, f"exec 3<>/dev/tcp/127.0.0.1/{listener.port} && echo connected; "
                   f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {listener.port}), 2)\"; "
                   "echo py=$?; ip link 2>/dev/null | grep -c UP; cat /proc/net/route | wc -l")
    assert "connected" not in out and "py=0" not in out


def test_no_network_to_the_hosts_own_address(env) -> None:
    """A local Ray (`backtest --executor ray`) listens on every interface, runs what a client submits, as the
    runner's user with its keys: no jail reaches the host's own, non-loopback address either."""
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: the kernel picks the outward address
        address = probe.getsockname()[0]
    except OSError:
        pytest.skip("this host has no outward address")
    finally:
        probe.close()
    if address.startswith("127."):
        pytest.skip("this host's only address is loopback")
    wide = socket.socket()
    wide.bind(("0.0.0.0", 0))  # as Ray's GCS and raylet bind
    wide.listen(8)
    wide.setblocking(False)
    try:
        port = wide.getsockname()[1]
        out = run(env, f"exec 3<>/dev/tcp/{address}/{port} && echo connected; "
                       f"python3 -c \"import socket; socket.create_connection(('{address}', {port}), 2)\"; echo py=$?")
        try:
            wide.accept()[0].close()
            reached = True
        except BlockingIOError:
            reached = False
    finally:
        wide.close()
    assert "connected" not in out and "py=0" not in out and not reached


def test_no_host_unix_socket(env) -> None:
    _root, _ctx, listener = env
    name = listener.abstract_name[1:]
    out = run(env, f"python3 - <<'EOF'\nimport socket\nfor addr in ({str(listener.unix_path)!r}, '\\0{name}', "
                   "'/run/docker.sock', '/var/run/docker.sock', '/run/systemd/private'):\n"
                   "    s = socket.socket(socket.AF_UNIX)\n    try:\n        s.connect(addr); print('connected', addr)\n"
                   "    except OSError as e:\n        print('refused', e.errno)\nEOF")
    assert "connected" not in out and out.count("refused") == 5


def test_host_secret_files_unreadable(env, tmp_path: Path) -> None:
    out = run(env, f"cat /etc/shadow /etc/gshadow {tmp_path}/outside/secret.txt; ls /root /home /run /var "
                   "/sys 2>&1; ls -a / ; echo end")
    assert "root:" not in out.split("end")[0].split("ls -a")[0] or "No such file" in out
    listing = out.rsplit("end", 1)[0]
    for gone in ("home", "run", "var", "sys", "boot", "mnt", "srv"):
        assert f"\n{gone}\n" not in listing
    assert "ghp_" not in out


def test_etc_shadow_hidden_even_for_root(env) -> None:
    out = run(env, "head -c 40 /etc/shadow 2>/dev/null | wc -c; cat /etc/shadow 2>&1 | grep -c 'root:'")
    assert out.splitlines()[:2] == ["0", "0"]


def test_global_sysctl_core_pattern_read_only(env) -> None:
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    out = run(env, "echo '|/tmp/x' > /proc/sys/kernel/core_pattern; echo w=$?; "
                   "echo 1 > /proc/sys/kernel/sysrq; echo s=$?; echo x > /proc/sys/kernel/modprobe; echo m=$?")
    assert "w=0" not in out and "s=0" not in out and "m=0" not in out
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before


def test_writes_outside_the_root_fail(env, tmp_path: Path) -> None:
    out = run(env, f"echo x > {tmp_path}/outside/victim.txt; rm -f {tmp_path}/outside/victim.txt; "
                   "echo x > /etc/agentbook-probe; echo x > /usr/bin/agentbook-probe; touch /agentbook-probe; "
                   "echo ok > inside.txt && cat inside.txt")
    assert out.count("Read-only file system") + out.count("No such file") >= 3 and "ok" in out
    assert (env[0] / "inside.txt").read_text() == "ok\n"


def test_ptrace_and_friends_refused_by_seccomp(env) -> None:
    script = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              "for name, nr, args in (('ptrace', 101, (0, 0, 0, 0)), ('keyctl', 250, (0, 0, 0, 0)),"
              " ('bpf', 321, (0, 0, 0, 0)), ('perf_event_open', 298, (0, 0, -1, -1)),"
              " ('kexec_load', 246, (0, 0, 0, 0)), ('init_module', 175, (0, 0, 0, 0)),"
              " ('userfaultfd', 323, (0, 0, 0, 0)), ('io_uring_setup', 425, (1, 0, 0, 0)),"
              " ('setns', 308, (0, 0, 0, 0)), ('mount', 165, (0, 0, 0, 0)), ('unshare', 272, (0x10000000, 0, 0, 0))):\n"
              "    rc = libc.syscall(nr, *args)\n    print(name, rc, ctypes.get_errno())\n")
    out = run(env, f"python3 - <<'EOF'\n{script}EOF")
    lines = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines()
                 if len(ln.split()) == 3 and not ln.startswith("[")}
    assert len(lines) == 11
    for name, (rc, err) in lines.items():
        assert rc == "-1" and err == "1", (name, rc, err)  # EPERM from the filter
