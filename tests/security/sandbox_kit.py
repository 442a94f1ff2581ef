"""Attack kit for the bash sandbox: run a command through the real bash tool in the real jail, and
check what an escape would leave behind.

- `Sentinels`: hashes of files outside the root (a folder beside it, and host files such as
  /etc/passwd and /proc/sys/kernel/core_pattern), compared after the attack.
- `SECRETS`: fake runner secrets the tests put in this process's environment; the attack's output
  must never contain them.
- `Listener`: a loopback TCP server (and a unix socket outside the root); `accepted()` says whether
  anything got through.
- `as_nobody()`: the same jail started by an unprivileged user (setpriv), where the machine allows.

Imported by `test_sandbox_*.py` (pytest runs in importlib mode, so they add this folder to sys.path).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentbook.session import jail
from agentbook.session.limits import Limits
from agentbook.session.tools import ToolContext, ToolResult, get_tools

needs_jail = pytest.mark.skipif(not jail.works(), reason=f"the sandbox cannot run here: {jail.problem()}")

SECRETS = {"ANTHROPIC_API_KEY": "sk-ant-api03-SANDBOXtest7Hq2Lm9Xw4Kp8Rt3Vz6Nb1Jc5-AbCdEfGhIj",
           "GITHUB_TOKEN": "ghp_SandboxTestToken0a1B2c3D4e5F6g7H8i9J0k1L"}
HOST_FILES = ("/etc/passwd", "/etc/hosts", "/etc/group", "/proc/sys/kernel/core_pattern",
              "/proc/sys/kernel/hostname", "/proc/sys/kernel/modprobe", "/proc/sys/vm/overcommit_memory")


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# the agent's worktree\n")
    (root / "src" / "app.py").write_text("print('hi')\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("must not change\n")
    (outside / "secret.txt").write_text(SECRETS["GITHUB_TOKEN"] + "\n")
    return root


def ctx_for(root: Path, **limits: Any) -> ToolContext:
    return ToolContext(root=root, sandbox="bwrap", limits=Limits(**limits))


def bash(ctx: ToolContext, command: str, **args: Any) -> ToolResult:
    (tool,) = get_tools(["bash"])
    result = tool.run({"command": command, **args}, ctx)
    assert isinstance(result, ToolResult)
    return result


def no_secret(text: str) -> None:
    for name, value in SECRETS.items():
        for form in (value, value[::-1], value[8:24]):
            assert form not in text, f"{name} leaked"


class Sentinels:
    """Hashes of everything the attack must not change outside the root."""

    def __init__(self, *extra: Path) -> None:
        self.paths = [Path(p) for p in HOST_FILES if os.path.exists(p)] + list(extra)
        self.before = self.hashes()

    def hashes(self) -> dict[str, str]:
        out = {}
        for path in self.paths:
            if path.is_dir():  # its entries and the files right in it (site-packages is too big to walk)
                for sub in sorted(path.iterdir()):
                    out[str(sub)] = _digest(sub)
                out[str(path)] = "dir:" + ",".join(sorted(p.name for p in path.iterdir()))
            else:
                out[str(path)] = _digest(path)
        return out

    def unchanged(self) -> None:
        after = self.hashes()
        changed = [p for p in sorted(set(self.before) | set(after)) if self.before.get(p) != after.get(p)]
        assert not changed, f"changed outside the root: {changed}"


def _digest(path: Path) -> str:
    try:
        if path.is_symlink():
            return "link:" + os.readlink(path)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "special"
    except OSError as err:
        return f"unreadable:{err.errno}"


class Listener:
    """A loopback TCP listener and a unix socket at `unix_path`; nothing may connect to either."""

    def __init__(self, unix_path: Path) -> None:
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.setblocking(False)
        self.port = self.tcp.getsockname()[1]
        self.unix_path = unix_path
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(str(unix_path))
        self.unix.listen(8)
        self.unix.setblocking(False)
        self.abstract_name = f"\0agentbook-test-{os.getpid()}-{self.port}"
        self.abstract = socket.socket(socket.AF_UNIX)
        self.abstract.bind(self.abstract_name)
        self.abstract.listen(8)
        self.abstract.setblocking(False)

    def accepted(self) -> list[str]:
        got = []
        for name, sock in (("tcp", self.tcp), ("unix", self.unix), ("abstract", self.abstract)):
            try:
                conn, _ = sock.accept()
                conn.close()
                got.append(name)
            except BlockingIOError:
                pass
        return got

    def close(self) -> None:
        for sock in (self.tcp, self.unix, self.abstract):
            sock.close()


def nobody_problem() -> str | None:
    """Why the jail cannot be tried as an unprivileged user here, or None."""
    if os.geteuid() != 0:
        return "already unprivileged: every other sandbox test runs this way"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"],
                           capture_output=True, check=False)
    return None if probe.returncode == 0 else "setpriv cannot switch to uid 65534 here"


def as_nobody(root: Path, command: str, limits: Limits | None = None, timeout: float = 30) -> tuple[int, str]:
    """`command` in the jail, with bubblewrap started by uid 65534 (the root made writable for it).

    This Python may live where that user cannot read, so the jail binds no install here: shell only."""
    os.chmod(root, 0o777)
    call = jail.prepare(root, limits or Limits(), shell=command, installs=False, cgroup=False)
    try:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", *call.argv]
        proc = subprocess.run(argv, pass_fds=call.pass_fds, cwd="/", capture_output=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "HOME": str(root)})
    finally:
        call.close()
    return proc.returncode, proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
