"""Where `bash` runs: under bubblewrap when it works here, otherwise only allow-listed commands.

Under bubblewrap the whole filesystem is read-only except the root (bound writable at the same path),
`/tmp` is private, there is no network, and protected paths inside the root are bound read-only
again. An allow-list (`agentbook.session.allowlist`) is checked in both modes: under bubblewrap every
command of a pipeline or list must match it; without bubblewrap only one plain command that matches
runs, and it is executed without a shell.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from agentbook import confine
from agentbook.errors import FatalError
from agentbook.session import allowlist
from agentbook.session.paths import is_protected

BWRAP = "/usr/bin/bwrap"
SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TERM", "TZ")


@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """True when bubblewrap is installed and can create the namespaces it needs here."""
    path = shutil.which("bwrap") or (BWRAP if os.path.exists(BWRAP) else None)
    if path is None:
        return False
    try:
        probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "--die-with-parent", "true"],
                               check=False, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def resolve_mode(requested: str) -> str:
    """`auto` picks bwrap when it works; asking for bwrap where it does not is a FatalError."""
    if requested not in ("auto", "bwrap", "allowlist"):
        raise FatalError(f"unknown sandbox mode {requested!r}", hint="use auto, bwrap or allowlist")
    if requested == "bwrap" and not bwrap_works():
        raise FatalError("sandbox 'bwrap' requested but bubblewrap is not usable here",
                         hint="install bubblewrap or use --sandbox allowlist with --bash-allow")
    if requested == "auto":
        return "bwrap" if bwrap_works() else "allowlist"
    return requested


def check_command(command: str, allow: list[str] | None, mode: str) -> str | None:
    """Why `command` may not run (a sentence for the agent), or None when it may. Under bubblewrap
    every command of a pipeline or list must match the allow-list; without it, one plain command."""
    if allow is None:
        if mode == "bwrap":
            return None
        return "bash is disabled: bubblewrap is not available and no allow-list was configured"
    return allowlist.check(command, allow, shell=mode == "bwrap")


def protected_binds(root: Path, patterns: list[str]) -> list[str]:
    """Existing files and folders under `root` matching a protected glob, for read-only binds."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for name in dirnames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if is_protected(rel, patterns) is not None:
                out.append(os.path.join(dirpath, name))  # the whole folder, nothing below it can change
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if is_protected(rel, patterns) is not None:
                out.append(os.path.join(dirpath, name))
    return out


def _installs_under_tmp() -> list[str]:
    """This Python and agentbook's install, when they live under /tmp (a CI checkout often does):
    the sandbox's private /tmp would hide them, and gates call `agentbook` from there."""
    import agentbook
    from agentbook.shipped import shipped_root

    places = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
              str(Path(agentbook.__file__).resolve().parent.parent)}
    shipped = shipped_root()  # skills, runbooks and schemas of a checkout sit beside runner/
    if shipped is not None:
        places.add(str(shipped))
    return sorted(p for p in places if p == "/tmp" or p.startswith("/tmp/"))


def bwrap_argv(root: Path, argv: list[str], read_only: list[str]) -> list[str]:
    cmd = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in _installs_under_tmp():
        cmd += ["--ro-bind", path, path]
    cmd += ["--bind", str(root), str(root)]
    for path in read_only:
        if not os.path.islink(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session",
            "--chdir", str(root), "--", *argv]
    return cmd


def clean_env(extra: dict[str, str], root: Path) -> dict[str, str]:
    """Only harmless variables reach a command: never the runner's API keys or tokens."""
    env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = str(root)
    env.update(extra)
    env.update(confine.marker(root, extra.get(confine.MODEL_ENV)))  # after `extra`: nothing widens the root
    return env
