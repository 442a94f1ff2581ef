"""A fresh git repository made from a folder: what a runbook test or the demo runs on.

A runbook test's `setup:` commands come from its spec, a repository file a pull request may write, and CI
runs `agentbook test-runbook` on pull requests: they run in the jail the gates run in (no network, read-only
system, only the copy writable, the gates' environment without API keys or tokens). Where the jail cannot
run they do not run (fail closed) unless the user names the risk (`UNCONFINED`); then they run on the host,
still without the runner's keys. What a jailed setup leaves is the attacker's too: a `.git` in the copy
(whose config, filters and fsmonitor the runner's `git add` would run unconfined) is refused, and the
copy's `.gitignore` is edited only when it is a plain file.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import agentbook
from agentbook.errors import FatalError
from agentbook.gitops.git import Git

# Never copied: VCS data, run state and caches a previous use of the folder left behind.
SKIP = (".git", ".agentbook", "__pycache__", "*.pyc", "*.tmp", ".pytest_cache", ".mypy_cache")
DEMO_DIR = "_demo"  # in the installed package: what the demo reads, under its paths in the checkout
SETUP_SECONDS = 600.0  # each setup command's wall clock
IDENTITY = (("user.name", "agentbook fixture"), ("user.email", "fixture@agentbook.invalid"),
            ("commit.gpgsign", "false"))


def source_root() -> Path | None:
    """agentbook's source checkout (where `examples/` and `tests/runbooks/` live), if there is one."""
    root = Path(agentbook.__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "examples").is_dir() else None


def demo_file(relative: str) -> Path | None:
    """A file or folder the demo reads, by its path in the checkout (`examples/incident-assistant`,
    `tests/runbooks/fix-prompt.yaml`): there in a checkout, else in the wheel's `agentbook/_demo/`, where
    setup.py copies them under the same paths (the example without what `backtest/generate.py` writes)."""
    root = source_root()
    path = root / relative if root else Path(agentbook.__file__).resolve().parent / DEMO_DIR / relative
    return path if path.exists() else None


def example_dir(name: str = "incident-assistant") -> Path:
    path = demo_file(f"examples/{name}")
    if path is None or not path.is_dir():
        raise FatalError(f"the example system '{name}' is not available",
                         hint="it ships with agentbook's source checkout (and incident-assistant with the "
                              "wheel): clone the repository and run `make demo` there")
    return path


def make_repo(src: Path, dest: Path, setup: list[str] | None = None,
              message: str = "fixture: initial commit", *, sandbox: str = "auto") -> Path:
    """Copy `src` to `dest`, run each `setup` command in the copy, then `git init` and commit all.

    `python` at the start of a setup command means this interpreter, so scripts see the same
    packages agentbook does. `sandbox` is `auto` (the jail) or `UNCONFINED`.
    """
    if not src.is_dir():
        raise FatalError(f"fixture folder not found: {src}")
    if dest.exists() and any(dest.iterdir()):
        raise FatalError(f"fixture destination is not empty: {dest}")
    # links are copied as links: followed, one to ~/.ssh/id_rsa put that file's bytes in the fixture
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(*SKIP), dirs_exist_ok=True)
    for command in setup or []:
        _setup(command, dest, sandbox)
    _refuse_repos(dest)
    git = Git(dest)
    git.run("init", "-q", "-b", "main")
    for key, value in IDENTITY:
        git.run("config", key, value)
    _track_generated(dest)
    git.run("add", "-A")
    git.run("commit", "-q", "--no-verify", "-m", message)
    return dest


def _setup(command: str, cwd: Path, sandbox: str) -> None:
    from agentbook.runbooks.gates import gate_env
    from agentbook.session import jail
    from agentbook.session.limits import Limits
    from agentbook.session.sandbox import UNCONFINED
    from agentbook.session.tools.bash import run_command
    from agentbook.session.watchdog import DiskMeter

    argv = shlex.split(command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    root = cwd.resolve()
    env = gate_env(root, jailed=sandbox != UNCONFINED)
    if sandbox == UNCONFINED:
        ran = run_command(argv, root, env, SETUP_SECONDS)
    else:
        why = jail.problem()
        if why is not None:
            raise FatalError(f"fixture setup commands run in the sandbox and there is none here: {why}",
                             hint="install bubblewrap and libseccomp2 (see .ci/sysdeps), or, for a spec you "
                                  f"trust, run them unconfined with --setup-sandbox {UNCONFINED}")
        limits = Limits()
        call = jail.prepare(root, limits, argv=argv)
        try:
            ran = run_command(call.argv, root, env, SETUP_SECONDS, pass_fds=call.pass_fds,
                              meter=DiskMeter(root, limits.disk_total))
        finally:
            call.close()
    if ran.code != 0 or ran.stopped:
        why = f"stopped: {ran.stopped}" if ran.stopped else f"exit {ran.code}"
        tail = ran.output.strip().splitlines()[-5:]
        raise FatalError(f"fixture setup command failed ({why}): {command}", hint="\n".join(tail) or None)


def _refuse_repos(dest: Path) -> None:
    """A `.git` the setup left (at the top or below), or a folder git takes for a bare repository, is a
    repository whose config it wrote: the runner's git would run its filters and fsmonitor unconfined."""
    from agentbook.gitops.nested import find_bare_repos, find_nested_repos

    found = [".git"] if os.path.lexists(dest / ".git") else []
    found += find_nested_repos(dest) + find_bare_repos(dest)
    if found:
        raise FatalError(f"fixture setup left a git repository in the copy: {', '.join(found[:5])}",
                         hint="a setup command may generate files, not git repositories")


def _track_generated(dest: Path) -> None:
    """A setup step may generate files the source folder git-ignores (the example's 5 MB suite):
    in the copy they are ordinary tracked files, so drop ignore lines that name an existing path."""
    ignore = dest / ".gitignore"
    if ignore.is_symlink() or not ignore.is_file():  # a link a setup left would have us write its target
        return
    keep = [line for line in ignore.read_text(encoding="utf-8").splitlines()
            if not (line.startswith("/") and (dest / line.lstrip("/")).exists())]
    ignore.write_text("\n".join(keep) + "\n", encoding="utf-8")
