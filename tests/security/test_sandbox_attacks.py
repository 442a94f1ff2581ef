"""A table of attacks on the bash sandbox, one command each, run through the real bash tool in the real
jail. After every one: no file outside the root changed (hashes), no secret of the runner came back,
nothing connected to the test's loopback, unix or abstract listeners; and each has its own check of
what it tried. They run as the test user (root on CI); test_sandbox_nobody.py repeats the shell-only
ones with bubblewrap started by an unprivileged user."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import SECRETS, Listener, Sentinels, bash, ctx_for, make_root, needs_jail, no_secret

import agentbook
from agentbook.session import jail

pytestmark = needs_jail
SITE = Path(agentbook.__file__).resolve().parent
PY = ("python3 - <<'EOF'\n", "\nEOF")
# /root holds nothing for the agent but the mount points of an install that lives there (pyenv's Python)
INSTALLS_IN_ROOT_HOME = {p.split("/")[2] for p in jail.install_paths(Path("/nonexistent")) if p.startswith("/root/")}


def py(code: str) -> str:
    return PY[0] + code + PY[1]


def fails(*probes: str) -> Callable[[str], bool]:
    """Each `probe=$?` the command echoes must be non-zero."""
    return lambda out: all(f"{p}=" in out and f"{p}=0\n" not in out for p in probes)


def absent(*words: str) -> Callable[[str], bool]:
    return lambda out: not any(w in out for w in words)


def present(*words: str) -> Callable[[str], bool]:
    return lambda out: all(w in out for w in words)


def both(*checks: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda out: all(c(out) for c in checks)


SYSCALL = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
           "rc = libc.syscall({nr}, {args})\nprint('rc', rc, 'errno', ctypes.get_errno())")


def syscall(nr: int, args: str = "0, 0, 0, 0") -> str:
    return py(SYSCALL.format(nr=nr, args=args))


ATTACKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "chroot-escape": ("mkdir -p c && chroot c /bin/true; echo a=$?; chroot / true; echo b=$?", fails("a", "b")),
    "pivot-root": (syscall(155, "0, 0, 0, 0"), present("rc -1 errno 1")),
    "mount-tmpfs-over-root": ("mount -t tmpfs none .; echo a=$?", fails("a")),
    "mount-proc-again": ("mkdir -p p; mount -t proc proc p; echo a=$?; ls p | grep -c '^[0-9]'", fails("a")),
    "mount-cgroup-release-agent": (("mkdir -p cg; mount -t cgroup -o rdma cgroup cg; echo a=$?; "
                                   "ls /sys/fs/cgroup; echo b=$?"), fails("a", "b")),
    "bind-over-git-folder": ("mkdir -p .git x; mount --bind x .git; echo a=$?", fails("a")),
    "setuid-other-user": (py("import os\ntry:\n    os.setuid(1000); print('became 1000')\n"
                             "except OSError as e:\n    print('refused', e.errno)"), present("refused")),
    "chown-to-other-user": ("touch f && chown 1000:1000 f; echo a=$?", fails("a")),
    "setuid-copy-of-bash": ("cp /bin/bash ./sh && chmod 4755 sh; ./sh -p -c 'grep CapEff /proc/self/status'",
                            present("CapEff:\t0000000000000000")),
    "kill-a-host-process": ("kill -9 {host_pid}; echo a=$?", fails("a")),
    "host-process-memory": (("cat /proc/{host_pid}/environ; echo a=$?; dd if=/proc/{host_pid}/mem bs=1 count=1;"
                            " echo b=$?"), fails("a", "b")),
    "dev-mem-and-disks": ("ls /dev; cat /dev/mem /dev/kmem /dev/port /dev/sda /dev/vda /dev/kmsg 2>&1 | head -c 300",
                          absent("\nmem\n", "\nsda\n", "\nvda\n", "kmsg\n")),
    "tiocsti-into-a-terminal": (py("import fcntl, termios, os\ntry:\n    fd = os.open('/dev/tty', os.O_RDWR)\n"
                                   "    fcntl.ioctl(fd, termios.TIOCSTI, b'x'); print('typed')\n"
                                   "except OSError as e:\n    print('refused', e.errno)"), absent("typed")),
    "kernel-keyring": ("keyctl show @u 2>&1; " + syscall(250, "0, -3, 0, 0"), present("rc -1 errno 1")),
    "clone3-namespaces": (syscall(435, "0, 0, 0, 0"), present("rc -1 errno 38")),
    "nested-bubblewrap": ("bwrap --ro-bind / / true; echo a=$?; bwrap --unshare-user --ro-bind / / true; echo b=$?",
                          fails("a", "b")),
    "sysctl-command": ("sysctl -w kernel.core_pattern='|/tmp/x'; echo a=$?; sysctl -w vm.drop_caches=3; echo b=$?",
                       fails("a", "b")),
    "proc-sys-writes": (("for f in kernel/ns_last_pid vm/drop_caches fs/protected_symlinks kernel/hostname; do "
                        "echo 1 > /proc/sys/$f && echo wrote $f; done; echo done"), absent("wrote")),
    "binfmt-misc": ("echo ':x:E::x::/tmp/x:' > /proc/sys/fs/binfmt_misc/register; echo a=$?", fails("a")),
    "kallsyms-and-kcore": (("head -c 200 /proc/kcore 2>/dev/null | wc -c; grep -v '^0000000000000000' /proc/kallsyms "
                           "2>/dev/null | head -2 | wc -l; cat /proc/keys /proc/timer_list 2>/dev/null | wc -c"),
                           lambda out: [ln.strip() for ln in out.splitlines()[:3]] == ["0", "0", "0"]),
    "dmesg": ("dmesg | head -3; echo a=${{PIPESTATUS[0]}}", fails("a")),
    "hostname": ("hostname evil; echo a=$?; hostname", lambda out: "a=0\n" not in out or "evil" not in out),
    "set-clock": ("date -s '2001-01-01'; echo a=$?", fails("a")),
    "raw-socket": (py("import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_RAW, 1); print('raw')\n"
                      "except OSError as e:\n    print('refused', e.errno)"), present("refused")),
    "packet-socket": (py("import socket\ntry:\n    socket.socket(socket.AF_PACKET, socket.SOCK_RAW); print('pkt')\n"
                         "except OSError as e:\n    print('refused', e.errno)"), present("refused")),
    "add-network-link": ("ip link add dummy0 type dummy; echo a=$?; ip route add default dev lo; echo b=$?",
                         fails("a", "b")),
    "dns-exfiltration": ("getent hosts example.com; echo a=$?; " + py(
        "import socket\ntry:\n    socket.getaddrinfo('example.com', 443); print('resolved')\n"
        "except OSError as e:\n    print('no dns')"), both(fails("a"), present("no dns"))),
    "loopback-ipv6": (("exec 3<>/dev/tcp/::1/{port} && echo connected6; exec 3<>/dev/tcp/localhost/{port} && "
                      "echo connected-name; echo done"), absent("connected")),
    "udp-to-loopback": ("echo hi > /dev/udp/127.0.0.1/{udp_port}; echo sent=$?", lambda out: True),
    "outbound-internet": (("exec 3<>/dev/tcp/1.1.1.1/443 && echo out; exec 3<>/dev/tcp/8.8.8.8/53 && echo out2; "
                          "echo done"), absent("out\n", "out2")),
    "symlink-to-slash": (("ln -s / rl && cat rl/etc/shadow rl/root/.bashrc {outside}/secret.txt 2>&1 | head -3; "
                         "echo x > rl{outside}/victim.txt; echo a=$?"), fails("a")),
    "hardlink-outside": (("ln /etc/passwd pw; echo a=$?; ln {outside}/victim.txt v; echo b=$?; ln /usr/bin/env e; "
                         "echo c=$?"), fails("a", "b", "c")),
    "proc-self-root-write": (("echo x >> /proc/self/root/etc/passwd; echo a=$?; echo x > /proc/1/root/usr/x; "
                             "echo b=$?"), fails("a", "b")),
    "proc-1-root-home": ("ls -a /proc/1/root/ ; ls /proc/1/root/root /proc/1/root/home 2>&1",
                         absent("\nhome\n", "\nroot\n\n")),
    "inherited-descriptors": ("ls /proc/self/fd | wc -l; ls -l /proc/self/fd",
                              lambda out: int(out.splitlines()[0]) <= 5 and ".sock" not in out),
    "tamper-with-agentbook": ((f"echo 'import os' >> {SITE}/__init__.py; echo a=$?; "
                              f"touch {Path(sys.prefix)}/lib/evil.pth; echo b=$?; "
                              f"echo x >> {Path(sys.executable).resolve()}; echo c=$?"), fails("a", "b", "c")),
    "pth-injection-site-packages": (py("import site, os\nfor d in site.getsitepackages():\n    try:\n"
                                       "        open(os.path.join(d, 'evil.pth'), 'w').write('import os')\n"
                                       "        print('planted', d)\n    except OSError as e:\n"
                                       "        print('refused', e.errno)"), absent("planted")),
    "host-tmp-invisible": ("ls /tmp; cat {host_tmp_file} 2>&1; echo x > {host_tmp_file}; echo done",
                           absent("HOSTONLYCONTENT")),
    "usr-local-write": ("echo x > /usr/local/bin/git; echo a=$?; echo x > /etc/profile.d/evil.sh; echo b=$?",
                        fails("a", "b")),
    "etc-hosts-poison": ("echo '1.2.3.4 github.com' >> /etc/hosts; echo a=$?", fails("a")),
    "late-writer-after-return": ("(sleep 1; echo late > late.txt) & echo now", present("now")),
    "exit-code-truthful": ("echo '[exit code 0]'; exit 3", lambda out: out.endswith("[exit code 3]")),
    "self-kill-truthful": ("kill -9 $$", lambda out: out.endswith("[exit code 137]") or "[exit code -9]" in out),
    "secrets-by-every-path": (("env; cat /proc/*/environ; cat /proc/*/cmdline; set; declare -p; "
                              "cat ~/.netrc ~/.git-credentials ~/.config/gh/hosts.yml 2>&1 | head; "
                              "grep -rs 'ghp_\\|sk-ant' /etc /usr/local/etc 2>/dev/null | head -3; echo done"),
                              present("done")),
    "runner-files-unreachable": (("cat /root/.bash_history /root/.ssh/id_rsa /root/.config/gh/hosts.yml 2>&1; "
                                 "ls -A /home /run /var/run /var/lib 2>&1; echo ROOT:; ls -A /root 2>/dev/null"),
                                 lambda out: absent("BEGIN OPENSSH", "oauth_token")(out)
                                 and set(out.split("ROOT:\n")[1].splitlines()[:-1]) <= INSTALLS_IN_ROOT_HOME),
}


@pytest.fixture(scope="module")
def host_process():
    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_process: subprocess.Popen) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    root = make_root(tmp_path)
    outside = tmp_path / "outside"
    host_tmp = Path("/tmp") / f"agentbook-probe-{os.getpid()}-{tmp_path.name}"
    host_tmp.write_text("HOSTONLYCONTENT\n")
    listener = Listener(outside / "host.sock")
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    site_packages = next(Path(sys.prefix).glob("lib/python*/site-packages"))
    sentinels = Sentinels(outside, host_tmp, SITE / "__init__.py", site_packages)
    command, check = ATTACKS[name]
    command = command.format(host_pid=host_process.pid, port=listener.port, udp_port=udp.getsockname()[1],
                             outside=outside, host_tmp_file=host_tmp)
    try:
        result = bash(ctx_for(root), command, timeout=20)
        if name == "late-writer-after-return":
            time.sleep(1.5)
            assert not (root / "late.txt").exists()
        no_secret(result.content)
        assert check(result.content.strip()), result.content
        sentinels.unchanged()
        assert listener.accepted() == []
        try:
            udp.recv(100)
            raise AssertionError("a datagram reached the host's loopback")
        except BlockingIOError:
            pass
        assert host_process.poll() is None
    finally:
        listener.close()
        udp.close()
        host_tmp.unlink()
