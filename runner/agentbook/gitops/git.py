"""The one place agentbook runs `git`: a subprocess with a fixed environment and clear errors.

Why not a library: git's own CLI is the reference behaviour for worktrees, notes, signing and hooks,
and its messages are what users recognise. Output is parsed only from plumbing-stable formats.

Hardening (the agent writes files in the worktree this git reads; it must never make git run them):
- No system config, and of the user's global config only identity, signing and `safe.directory`
  (copied into a private file): a global `core.fsmonitor`, hook path, pager or credential helper
  never applies to a run. The repository's own `.git/config` lives outside the agent's reach.
- Every call overrides the keys that make git execute a program while it adds, commits, diffs or
  checks status: fsmonitor, hooks, pager, editors, submodule recursion (a nested repository's config
  is the agent's), external diff and textconv (`--no-ext-diff --no-textconv` where git accepts them).
- Only an allow-list of environment variables reaches git: no API keys, no `GIT_DIR`/`GIT_CONFIG_*`
  from the caller. Network transports are off (`protocol.allow=never`) except for `push`, which
  alone gets the credentials it needs (`Git(..., push=True)`).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from agentbook.errors import FatalError

# gc.auto=0: parallel runs share one object store; an automatic gc in one must not race another.
_BASE_CONFIG = ("gc.auto=0", "maintenance.auto=false", "core.quotePath=false")
# Keys whose value is a program git would run (or that make git run one) in the commands the runner
# uses; each is forced to a harmless value on every call, whatever any config file says.
HARDENED_CONFIG = (
    "core.fsmonitor=false", "core.untrackedCache=false", "core.hooksPath=/dev/null",
    "core.pager=cat", "core.editor=true", "sequence.editor=true",
    "submodule.recurse=false", "diff.ignoreSubmodules=all", "status.submoduleSummary=false",
    "fetch.recurseSubmodules=false", "push.recurseSubmodules=no", "log.showSignature=false",
    "core.protectNTFS=true", "core.protectHFS=true", "protocol.ext.allow=never",
    # A folder holding HEAD, objects/ and refs/ is a bare repository to git's discovery, its `config` (any
    # fsmonitor, filter or worktree) the repository's: files anyone can commit, below a checkout's top.
    "safe.bareRepository=explicit",
)
# Without push no transport is needed at all: no credential helper, no ssh, no proxy command.
_OFFLINE_CONFIG = ("protocol.allow=never", "credential.helper=", "core.sshCommand=ssh", "core.gitProxy=",
                   "core.askPass=")
# Push may use https/ssh/git and a local path; `ext::` (runs a command) and file URLs from anywhere
# but the user's own remote setting are refused.
_PUSH_CONFIG = ("protocol.file.allow=user",)
# The environment git sees: locale, paths, and (push only) what credentials and ssh need.
ENV_ALLOW = ("PATH", "HOME", "LANG", "TZ", "TMPDIR", "USER", "LOGNAME", "XDG_CONFIG_HOME",
             "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
             "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE", "GNUPGHOME", "GPG_TTY")
PUSH_ENV_ALLOW = ("SSH_AUTH_SOCK", "SSH_AGENT_PID", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "SSH_ASKPASS",
                  "GITHUB_TOKEN", "GH_TOKEN", "GIT_TRACE_CURL", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
                  "https_proxy", "http_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO")
# Global keys a run keeps: who commits, how commits are signed, and which foreign-owned checkouts
# the user trusts (CI containers). Nothing here runs because of what the agent wrote.
GLOBAL_KEYS_KEPT = ("user.name", "user.email", "user.signingkey", "commit.gpgsign", "tag.gpgsign",
                    "gpg.format", "gpg.program", "gpg.ssh.program", "gpg.openpgp.program", "gpg.x509.program",
                    "gpg.ssh.allowedsignersfile", "safe.directory", "init.defaultbranch")


class GitError(FatalError):
    """A git command failed; the message names the command and quotes git's own stderr."""

    def __init__(self, args: list[str], code: int, stderr: str, *, hint: str | None = None) -> None:
        self.git_args = args
        self.returncode = code
        self.stderr = stderr.strip()
        detail = "\n".join(self.stderr.splitlines()[-5:]) or "(no output)"
        super().__init__(f"git {' '.join(args)} failed (exit {code}): {detail}", hint=hint)


class GitTimeout(GitError):
    """A git command stopped (killed) at its caller's wall clock."""


@dataclass
class Git:
    """Runs hardened git in `cwd`; `env` adds to the allow-listed environment. `push=True` is for
    `git push` alone: the user's full git config and the credential variables, never an API key."""

    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    push: bool = False

    def _env(self) -> dict[str, str]:
        allow = ENV_ALLOW + PUSH_ENV_ALLOW if self.push else ENV_ALLOW
        env = {k: os.environ[k] for k in allow if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat",
                    "PAGER": "cat", "GIT_EDITOR": "true", "GIT_NO_REPLACE_OBJECTS": "1"})
        if not self.push:
            env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": trusted_global_config(),
                        "GIT_PROTOCOL_FROM_USER": "0"})
        env.update(self.env)
        return env

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        pairs = (*_BASE_CONFIG, *HARDENED_CONFIG, *(_PUSH_CONFIG if self.push else _OFFLINE_CONFIG))
        argv = ["git"]
        for pair in pairs:
            argv += ["-c", pair]
        return [*argv, *args]

    def run(self, *args: str, input: str | None = None, hint: str | None = None, timeout: float | None = None) -> str:
        """Run `git ARGS` and return stdout; raise `GitError` with git's stderr when it fails, `GitTimeout`
        (killed) past `timeout` seconds."""
        proc = self._call(args, input, timeout)
        if proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr, hint=hint)
        return proc.stdout

    def run_bytes(self, *args: str) -> bytes:
        """stdout of `git ARGS` as bytes (blob contents); `GitError` when it fails."""
        proc = self._spawn(args, None, text=False)
        if proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr.decode("utf-8", "replace"))
        out: bytes = proc.stdout
        return out

    @contextlib.contextmanager
    def stream(self, *args: str) -> Iterator[IO[bytes]]:
        """stdout of `git ARGS` to read a piece at a time (a blob larger than memory should hold);
        `GitError` when it fails."""
        proc = subprocess.Popen(self._argv(args), cwd=self.cwd, env=self._env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            err = proc.stderr.read()
            proc.stderr.close()
            code = proc.wait()
        if code != 0:
            raise GitError(list(args), code, err.decode("utf-8", "replace"))

    def ok(self, *args: str) -> bool:
        """True when `git ARGS` exits 0 (for questions like "does this ref exist?")."""
        return self._call(args, None).returncode == 0

    def out(self, *args: str) -> str:
        """stdout of `git ARGS` stripped, or "" when it fails (for optional config values)."""
        proc = self._call(args, None)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def _call(self, args: tuple[str, ...], input: str | None,
              timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        proc: subprocess.CompletedProcess[str] = self._spawn(args, input, text=True, timeout=timeout)
        return proc

    def _spawn(self, args: tuple[str, ...], input: str | None, *, text: bool,
               timeout: float | None = None) -> subprocess.CompletedProcess[Any]:
        try:
            return subprocess.run(self._argv(args), cwd=self.cwd, env=self._env(), input=input,
                                  capture_output=True, text=text, check=False, stdin=None if input is not None
                                  else subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GitTimeout(list(args), -9, f"stopped after {timeout:g}s") from None
        except FileNotFoundError as exc:
            if not Path(self.cwd).is_dir():
                raise FatalError(f"not a directory: {self.cwd}") from exc
            raise FatalError("git is not installed", hint="install git 2.30 or newer") from exc


def trusted_global_config() -> str:
    """A private file with the kept keys of the user's global git config (`/dev/null` when none):
    what every non-push git call reads instead of `~/.gitconfig`. Made once per place it comes from."""
    return _trusted_copy(tuple(os.environ.get(k) for k in _GLOBAL_SOURCE))


_GLOBAL_SOURCE = ("HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "PATH")


@functools.lru_cache(maxsize=8)
def _trusted_copy(source: tuple[str | None, ...]) -> str:
    pairs = _global_pairs(dict(zip(_GLOBAL_SOURCE, source, strict=True)))
    if not pairs:
        return os.devnull
    fd, path = tempfile.mkstemp(prefix="agentbook-gitconfig-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(_config_text(pairs))
    atexit.register(_remove, path)
    return path


def _global_pairs(source: dict[str, str | None]) -> list[tuple[str, str]]:
    env = {k: v for k, v in source.items() if v is not None}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    try:
        proc = subprocess.run(["git", "config", "--global", "--includes", "-z", "--list"], cwd="/", env=env,
                              capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    except OSError:
        return []
    pairs = []
    for item in proc.stdout.split("\0"):
        key, _, value = item.partition("\n")
        if key.lower() in GLOBAL_KEYS_KEPT:
            pairs.append((key, value))
    return pairs


def _config_text(pairs: list[tuple[str, str]]) -> str:
    lines = []
    for key, value in pairs:
        section, _, rest = key.partition(".")
        sub, _, name = rest.rpartition(".")
        header = f'[{section} "{_quote(sub)}"]' if sub else f"[{section}]"
        lines += [header, f'\t{name} = "{_quote(value)}"']
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
