"""The one place agentbook runs `git`: a subprocess with a fixed environment and clear errors.

Why not a library: git's own CLI is the reference behaviour for worktrees, notes, signing and hooks,
and its messages are what users recognise. Output is parsed only from plumbing-stable formats.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from agentbook.errors import FatalError

# gc.auto=0: parallel runs share one object store; an automatic gc in one must not race another.
_BASE_CONFIG = ("-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "core.quotePath=false")


class GitError(FatalError):
    """A git command failed; the message names the command and quotes git's own stderr."""

    def __init__(self, args: list[str], code: int, stderr: str, *, hint: str | None = None) -> None:
        self.git_args = args
        self.returncode = code
        self.stderr = stderr.strip()
        detail = "\n".join(self.stderr.splitlines()[-5:]) or "(no output)"
        super().__init__(f"git {' '.join(args)} failed (exit {code}): {detail}", hint=hint)


@dataclass
class Git:
    """Runs git in `cwd`; `env` adds to (never replaces) the process environment."""

    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
        env.update(self.env)
        return env

    def run(self, *args: str, input: str | None = None, hint: str | None = None) -> str:
        """Run `git ARGS` and return stdout; raise `GitError` with git's stderr when it fails."""
        proc = self._call(args, input)
        if proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr, hint=hint)
        return proc.stdout

    def ok(self, *args: str) -> bool:
        """True when `git ARGS` exits 0 (for questions like "does this ref exist?")."""
        return self._call(args, None).returncode == 0

    def out(self, *args: str) -> str:
        """stdout of `git ARGS` stripped, or "" when it fails (for optional config values)."""
        proc = self._call(args, None)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def _call(self, args: tuple[str, ...], input: str | None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(["git", *_BASE_CONFIG, *args], cwd=self.cwd, env=self._env(),
                                  input=input, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            if not Path(self.cwd).is_dir():
                raise FatalError(f"not a directory: {self.cwd}") from exc
            raise FatalError("git is not installed", hint="install git 2.30 or newer") from exc
