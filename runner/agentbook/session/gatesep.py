"""Keeping a gate's verdict from the code the gate runs: each program a shell of the gate executes enters a
Landlock domain of its own (`agentbook/data/gatesep.c`, preloaded into the gate's programs, active in its
shells), so none can open the memory of the shell, of bubblewrap's init (pid 1, whose exit status is the
gate's) or of another program of the gate, and rewrite what the gate will say; where Landlock has ABI 6 the
domain is scoped for signals too, so none kills a later check either (`! cmd` passes when cmd dies), while the
shell's own `kill` and the system's kill, pkill and killall that a shell runs signal what the gate started.
Before a shell of the gate starts a program, what earlier commands left running is ended (a daemon that held
every pid made `! cmd` pass, as did one that killed the check where signals are not scoped); below ABI 6 a program
a shell waited for that died of a signal the shell did not send stops the gate.
docs/SECURITY.md, "A gate's verdict against the code it runs".

The library is compiled here, once per process, with the host's C compiler (`agentbook.session.clib`),
and shown read-only in each gate's jail. Where it cannot be used (no Landlock of ABI 2 or
later, no compiler), Yama (`kernel.yama.ptrace_scope` 1 or more) gives the same separation; where neither
is there, gates still run and every gate's output says that the code it ran could have chosen its result.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from agentbook.session import clib

JAIL_PATH = "/run/agentbook-gate/gatesep.so"
REFUSED = 125  # the gate's exit code when its shell is not separated (nothing of the gate ran)
LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture
HOW = "docs/SECURITY.md, \"A gate's verdict against the code it runs\""
# Lowers the Landlock ABI the gates use (never raises it): how a host without signal scoping (ABI 6) is tried on a
# kernel that has it. Read from the runner's environment and handed to the library in the gate's jail.
ABI_ENV = "AGENTBOOK_LANDLOCK_ABI"


@dataclass(frozen=True)
class Separation:
    """How gates are kept from the code they run here: `library` is the preload to bind (None when none is
    used), `note` the line every gate's output then carries (None when the verdict is separated)."""

    library: Path | None
    note: str | None

    def guard(self) -> str:
        """The shell's first line: refuse (exit REFUSED) if a program it runs can read its /proc/PID/environ
        (the library did not load, or Landlock did not hold): a real check of the separation itself."""
        if self.library is None:
            return ""
        return (f"if (exec cat /proc/$$/environ) >/dev/null 2>&1; then echo '[gate not run: the programs it runs "
                f"could reach its shell: the separation library did not load or Landlock refused it]' >&2; "
                f"exit {REFUSED}; fi\n")

    def bwrap_options(self) -> list[str]:
        """bubblewrap options that show the library and preload it into every program of the gate (it acts
        in the shells among them)."""
        if self.library is None:
            return []
        cap = _abi_cap()
        return ["--ro-bind", str(self.library), JAIL_PATH, "--setenv", "LD_PRELOAD", JAIL_PATH,
                *(["--setenv", ABI_ENV, str(cap)] if cap is not None else [])]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (lowered by AGENTBOOK_LANDLOCK_ABI), or -1 without Landlock (an older
    kernel, or not among its LSMs)."""
    libc = ctypes.CDLL(None, use_errno=True)
    abi = int(libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    cap = _abi_cap()
    return abi if cap is None else min(abi, cap)


def _abi_cap() -> int | None:
    value = os.environ.get(ABI_ENV, "").strip()
    return int(value) if value.isdigit() else None


def yama_scope() -> int:
    """`kernel.yama.ptrace_scope` (0 where there is no Yama: a process may open its peers' memory)."""
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip())
    except (OSError, ValueError):
        return 0


_lock = threading.Lock()


def separation() -> Separation:
    """How this host keeps gates from their code (worked out and the library built once per process)."""
    with _lock:
        return _separation()


@functools.lru_cache(maxsize=1)
def _separation() -> Separation:
    abi = landlock_abi()
    why = ("this kernel has no Landlock (Linux 5.19 or later, with landlock among its LSMs)" if abi < 0
           else "this kernel's Landlock is ABI 1 (Linux 5.19 or later is needed)" if abi < 2 else None)
    if why is None:
        library, why = clib.build("gatesep")
        if library is not None:
            return Separation(library, None)
    if yama_scope() >= 1:
        return Separation(None, None)  # Yama keeps a process out of its non-descendants' memory
    return Separation(None, f"[note: the code this check ran could have chosen its result: {why}, and "
                            f"kernel.yama.ptrace_scope is 0 ({HOW})]")
