"""Which agentbook this is (version and commit), and whether it satisfies a runbook's `requires:`.

A wheel carries `agentbook/_version.py`, written by setup.py at build time with the commit it was
built from; a source checkout has no such file and asks git for HEAD instead. This module imports
only the standard library at the top, so `agentbook --version` answers without loading click, the
model SDK or anything else; `packaging` is imported only when a `requires:` is checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from agentbook import __version__
from agentbook.errors import FatalError

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class VersionInfo:
    version: str
    commit: str | None  # full hex sha, None when neither the build nor git could say
    modified: bool  # built from (or running in) a tree with uncommitted changes to tracked files
    source: str  # "wheel" (baked at build time), "checkout" (asked git) or "unknown"

    def line(self) -> str:
        """`agentbook 0.1.0 (commit 0123456789ab)`: what `--version` prints."""
        if self.commit is None:
            return f"agentbook {self.version} (commit unknown)"
        extra = ", modified" if self.modified else ""
        return f"agentbook {self.version} (commit {self.commit[:12]}{extra})"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@cache
def version_info() -> VersionInfo:
    baked = _baked()
    if baked is not None:
        return baked
    checkout = PACKAGE_DIR.parent.parent
    if (checkout / ".git").exists() and (checkout / "pyproject.toml").is_file():
        commit = _git(checkout, "rev-parse", "--verify", "-q", "HEAD")
        status = _git(checkout, "status", "--porcelain", "--untracked-files=no") if commit else None
        return VersionInfo(__version__, commit or None, bool(status), "checkout")
    return VersionInfo(__version__, None, False, "unknown")


def _baked() -> VersionInfo | None:
    try:
        from agentbook import _version  # type: ignore[attr-defined]  # written only into built packages
    except ImportError:
        return None
    commit = getattr(_version, "COMMIT", None)
    return VersionInfo(str(getattr(_version, "VERSION", __version__)), commit if isinstance(commit, str) else None,
                       bool(getattr(_version, "MODIFIED", False)), "wheel")


def _git(cwd: Path, *args: str) -> str | None:
    """One read-only git query in agentbook's own checkout; None when git is missing or fails.
    System and global config are ignored: nothing but the repository decides the answer."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def describe() -> dict[str, object]:
    """Everything `agentbook version --json` prints."""
    from agentbook.shipped import shipped_root

    root = shipped_root()
    return {**version_info().as_dict(), "python": sys.version.split()[0], "package": str(PACKAGE_DIR),
            "catalog": str(root) if root is not None else None}


def requires_problem(spec: object, version: str = __version__) -> str | None:
    """Why `version` does not satisfy a runbook's `requires:` value, or None when it does.
    The value is a PEP 440 specifier set, optionally after the project name: `>=0.2`,
    `agentbook >= 0.2, < 2`. A value that is not one raises FatalError (the caller adds file:line)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    if not isinstance(spec, str) or not spec.strip():
        raise FatalError("'requires' must be a version specifier such as 'agentbook >= 0.1'")
    text = spec.strip()
    try:
        if text[0].isalpha():
            req = Requirement(text)
            if req.name.lower() != "agentbook":
                raise FatalError(f"'requires' names '{req.name}', not agentbook",
                                 hint="write e.g. 'agentbook >= 0.1'")
            specifiers = req.specifier
        else:
            specifiers = SpecifierSet(text)
        installed = Version(version)
    except (InvalidRequirement, InvalidSpecifier, InvalidVersion) as err:
        raise FatalError(f"'requires' is not a version specifier: {text!r} ({err})",
                         hint="write e.g. 'agentbook >= 0.1' or '>=0.1,<2'") from None
    if specifiers.contains(installed, prereleases=True):
        return None
    return f"needs agentbook {specifiers}, but this is agentbook {version}"


UPGRADE_HINT = ("install a newer agentbook (see the install line in agentbook's README), "
                "then check with `agentbook --version`")
