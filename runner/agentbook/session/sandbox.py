"""Where `bash` runs: in the jail (`agentbook.session.jail`), or nowhere.

A session that offers bash needs a working jail, whatever the mode: `auto` and `bwrap` run any
command in it, `allowlist` runs only allow-listed plain commands, in it too; an allow-list
(`agentbook.session.allowlist`) is checked in every mode, under `bwrap` command by command of a
pipeline or list, otherwise as one plain command run without a shell. Where the jail cannot
run, the session does not start (fail closed) unless the user names the risk:
`--sandbox none-i-accept-the-risk` runs commands unconfined, allow-list still applied when one is set.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from agentbook import confine
from agentbook.errors import FatalError
from agentbook.session import allowlist, jail
from agentbook.session.paths import is_protected

UNCONFINED = "none-i-accept-the-risk"  # the only way to run bash without the jail, named so nobody picks it by accident
MODES = ("auto", "bwrap", "allowlist", UNCONFINED)
SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TERM", "TZ")
# HOME is the worktree, so caches and settings tools keep under it (fontconfig's and matplotlib's when a
# report draws a chart, pip's, npm's) would be committed with the step's work: they go to the call's
# private /tmp instead.
SCRATCH_ENV = {"XDG_CACHE_HOME": "/tmp/.cache", "XDG_CONFIG_HOME": "/tmp/.config", "MPLCONFIGDIR": "/tmp/.matplotlib",
               "npm_config_cache": "/tmp/.npm"}


def bwrap_works() -> bool:
    """True when the jail (bubblewrap, seccomp, the limits) runs here."""
    return jail.works()


_early: list[threading.Thread] = []


def probe_early() -> None:
    """Start the jail's probe (`jail.problem`, once per process) in a thread, so the time bubblewrap
    takes to set up and tear down its namespaces (mostly waiting, little CPU) overlaps the imports and
    set-up of a command that will ask for it; `resolve_mode` waits for it. Not a daemon thread: a
    process that ends first still lets the probe clean up its folder and cgroup."""
    if not _early:
        _early.append(threading.Thread(target=jail.problem, name="agentbook-jail-probe"))
        _early[0].start()


def resolve_mode(requested: str) -> str:
    """The mode a session runs bash in: `bwrap`, `allowlist` (both jailed) or `unconfined`.

    Any mode but the named risk needs a working jail; without one this is a FatalError (fail closed)."""
    if requested not in MODES:
        raise FatalError(f"unknown sandbox mode {requested!r}", hint=f"use one of: {', '.join(MODES)}")
    if requested == UNCONFINED:
        return "unconfined"
    if _early:
        _early[0].join()  # its answer is jail.problem's cached one
    why = jail.problem()
    if why is not None:
        raise FatalError(f"bash needs a working sandbox and there is none here: {why}",
                         hint="install bubblewrap and libseccomp2 (see .ci/sysdeps), drop bash from the tools, "
                              f"or run commands unconfined with --sandbox {UNCONFINED}")
    return "allowlist" if requested == "allowlist" else "bwrap"


def check_command(command: str, allow: list[str] | None, mode: str) -> str | None:
    """Why `command` may not run (a sentence for the agent), or None when it may. Under bubblewrap
    every command of a pipeline or list must match the allow-list; without it, one plain command."""
    if allow is None:
        if mode in ("bwrap", "unconfined"):
            return None
        return "bash is disabled: the allowlist sandbox mode has no allow-list configured"
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


def clean_env(extra: dict[str, str], root: Path) -> dict[str, str]:
    """Only harmless variables reach a command: never the runner's API keys or tokens."""
    env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = str(root)
    env.update(SCRATCH_ENV)
    env.update(extra)
    env.update(confine.marker(root, extra.get(confine.MODEL_ENV)))  # after `extra`: nothing widens the root
    return env
