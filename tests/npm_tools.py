"""npm packages some tests run for real (Claude Code, promptfoo), installed once per machine into a cache
folder. `make test` calls `python -m tests.npm_tools` before pytest, so a cold npm cache costs set-up time
rather than a test's timeout; the tests call the same functions and skip with the reason when npm or the
registry is not there."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

CLAUDE_VERSION = "2.1.328"
PROMPTFOO_VERSION = "0.121"


def cache_base() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def npm_install(folder: Path, package: str, binary: str) -> tuple[Path | None, str]:
    """(folder/node_modules/.bin/BINARY, "") once `npm install PACKAGE` into folder has worked, else (None,
    why not). A lock keeps parallel test workers and the prefetch from racing npm into the same folder."""
    path = folder / "node_modules" / ".bin" / binary
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path, ""
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            return None, f"node and npm are not installed ({package} comes from the npm registry)"
        try:
            proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                                   "--prefix", str(folder), package],
                                  capture_output=True, text=True, timeout=900, check=False)
        except subprocess.TimeoutExpired:
            return None, f"npm install {package} timed out (registry unreachable or slow)"
        if proc.returncode != 0 or not path.exists():
            return None, f"npm install {package} failed (registry unreachable?): {(proc.stderr or proc.stdout).strip()[-300:]}"
    return path, ""


def install_claude() -> tuple[Path | None, str]:
    """The pinned `claude`, checked to be that version."""
    binary, why = npm_install(cache_base() / "agentbook-test" / f"claude-code-{CLAUDE_VERSION}",
                              f"@anthropic-ai/claude-code@{CLAUDE_VERSION}", "claude")
    if binary is None:
        return None, why
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False)
    if CLAUDE_VERSION not in version.stdout:
        return None, f"{binary} --version says {version.stdout.strip()!r}, not {CLAUDE_VERSION}"
    return binary, ""


def install_promptfoo() -> tuple[Path | None, str]:
    base = Path(os.environ.get("AGENTBOOK_TEST_CACHE", Path.home() / ".cache" / "agentbook-tests"))
    return npm_install(base / f"promptfoo-{PROMPTFOO_VERSION}", f"promptfoo@{PROMPTFOO_VERSION}", "promptfoo")


def main() -> int:
    for name, install in (("Claude Code", install_claude), ("promptfoo", install_promptfoo)):
        binary, why = install()
        print(f"{name}: {binary}" if binary else f"warning: {name} not installed, its tests will skip: {why}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
