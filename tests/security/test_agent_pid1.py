"""Claude Code's exit status is its jail's, which bubblewrap's init (pid 1) returns: Claude Code was sealed
from its commands (not dumpable), but pid 1 was not, so a command could open `/proc/1/mem` and rewrite the
status the runner reads, or signal pid 1 and the launcher. The seal library now also puts the agent in a
Landlock domain of its own, which its commands inherit and pid 1 and the launcher are outside of.

The agent here is a shell whose command is the attack, started as the runner starts Claude Code (the
launcher `relay_forward.py --sealed --preload`, the real library, real bubblewrap); the same attack under
the loader's seal (no Landlock) shows that it is a real one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentbook.models import relay_forward
from agentbook.runbooks.agent_cli import SEAL_AT, seal_loader
from agentbook.session import clib, gatesep, jail
from agentbook.session.limits import Limits
from agentbook.session.sandbox import bwrap_works

pytestmark = [pytest.mark.skipif(not bwrap_works(), reason="agent CLIs run only in the jail"),
              pytest.mark.skipif(clib.build("agentseal")[0] is None, reason="no C compiler: the loader's seal is used"),
              pytest.mark.skipif(gatesep.landlock_abi() < 2, reason="no Landlock of ABI 2 here (docs/SECURITY.md)")]

# What a command of the agent's reaches of the processes outside it: memory opened for writing (pid 1's is
# where its exit status is chosen) and signal 0 (whether a signal would be delivered).
ATTACK = """import os
me = {os.getpid(), os.getppid()}
def name(pid):
    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
    return "pid1" if pid == 1 else "launcher" if any(b"relay_forward" in a for a in argv) else argv[0].decode()
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in me):
    try:
        open(f"/proc/{pid}/mem", "r+b", buffering=0).close()
        print("mem opened", name(pid))
    except OSError as err:
        print("mem refused", name(pid), err.errno)
    try:
        os.kill(pid, 0)
        print("signal delivered", name(pid))
    except OSError as err:
        print("signal refused", name(pid), err.errno)
"""


def _agent(tmp_path: Path, over: list[tuple[str, str]], preload: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "attack.py").write_text(ATTACK)
    options = ["--preload", SEAL_AT] if preload else []
    call = jail.prepare(tmp_path, Limits(), argv=[sys.executable, "-I", relay_forward.__file__,
                                                  str(tmp_path / "no.sock"), "--sealed", *options, "--",
                                                  "/bin/sh", "-c", f"python3 {tmp_path / 'attack.py'}"],
                        ro_at=over)
    try:
        return subprocess.run(call.argv, pass_fds=call.pass_fds, capture_output=True, text=True, timeout=60,
                              check=False, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
    finally:
        call.close()


def test_the_agents_commands_reach_neither_pid_1_nor_the_launcher(tmp_path: Path) -> None:
    loader, interpreter = seal_loader(Path("/bin/sh").resolve(), tmp_path / "state" / "agent-loader")
    unsealed = _agent(tmp_path, [(str(loader), interpreter)], preload=False)
    assert unsealed.returncode == 0, unsealed.stderr
    if gatesep.yama_scope() == 0:  # the attack is real: under the loader's seal alone pid 1's memory opened
        assert "mem opened pid1" in unsealed.stdout, unsealed.stdout
    library, _ = clib.build("agentseal")
    assert library is not None
    sealed = _agent(tmp_path, [(str(library), SEAL_AT)], preload=True)
    assert sealed.returncode == 0, sealed.stderr
    assert "mem refused pid1" in sealed.stdout and "mem refused launcher" in sealed.stdout, sealed.stdout
    assert "mem opened" not in sealed.stdout, sealed.stdout
    if gatesep.landlock_abi() >= 6:  # signals are scoped too
        assert "signal refused pid1" in sealed.stdout and "signal refused launcher" in sealed.stdout, sealed.stdout
        assert "signal delivered" not in sealed.stdout, sealed.stdout
    assert relay_forward.UNSEALED_SAYS not in sealed.stderr
