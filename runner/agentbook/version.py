"""Which agentbook this is (version and commit), and whether it satisfies a runbook's `requires:`.

A wheel carries `agentbook/_version.py`, written by setup.py at build time with the commit it was
built from; a source checkout has no such file and asks git for HEAD instead. This module imports
only the standard library at the top, so `agentbook --version` answers without loading click, the
model SDK or anything else; `packaging` is imported only when a `requires:` is checked.
"""

from __future__ import annotations

import os
import select
import sys
import time

from agentbook import __version__
from agentbook.errors import FatalError

# A plain path string, not pathlib: `--version` imports nothing it does not use (see the docstring).
PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))
GIT_TIMEOUT = 10.0  # seconds for one git query before it is killed and the answer is "unknown"
_FIELDS = ("version", "commit", "modified", "source")


class VersionInfo:
    """A plain class rather than a dataclass or NamedTuple: `dataclasses` and `typing` cost
    `--version` more than the rest of its work (they pull in `inspect`, `ast`, `re`)."""

    __slots__ = _FIELDS

    def __init__(self, version: str, commit: str | None, modified: bool, source: str) -> None:
        self.version = version
        self.commit = commit  # full hex sha, None when neither the build nor git could say
        self.modified = modified  # built from (or running in) a tree with uncommitted changes to tracked files
        self.source = source  # "wheel" (baked at build time), "checkout" (asked git) or "unknown"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VersionInfo) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return "VersionInfo(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"

    def line(self) -> str:
        """`agentbook 0.1.0 (commit 0123456789ab)`: what `--version` prints."""
        if self.commit is None:
            return f"agentbook {self.version} (commit unknown)"
        extra = ", modified" if self.modified else ""
        return f"agentbook {self.version} (commit {self.commit[:12]}{extra})"

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _FIELDS}


_CACHED: list[VersionInfo] = []  # one answer per process (functools.cache would import more)


def version_info() -> VersionInfo:
    if not _CACHED:
        _CACHED.append(_find())
    return _CACHED[0]


def _find() -> VersionInfo:
    baked = _baked()
    if baked is not None:
        return baked
    checkout = os.path.dirname(os.path.dirname(PACKAGE_DIR))
    if os.path.exists(os.path.join(checkout, ".git")) and os.path.isfile(os.path.join(checkout, "pyproject.toml")):
        commit, status = _git(checkout, ("rev-parse", "--verify", "-q", "HEAD"),
                              ("status", "--porcelain", "--untracked-files=no"))
        return VersionInfo(__version__, commit or None, bool(commit and status), "checkout")
    return VersionInfo(__version__, None, False, "unknown")


def _baked() -> VersionInfo | None:
    try:
        from agentbook import _version  # type: ignore[attr-defined]  # written only into built packages
    except ImportError:
        return None
    commit = getattr(_version, "COMMIT", None)
    return VersionInfo(str(getattr(_version, "VERSION", __version__)), commit if isinstance(commit, str) else None,
                       bool(getattr(_version, "MODIFIED", False)), "wheel")


def _git(cwd: str, *queries: tuple[str, ...]) -> list[str | None]:
    """Read-only git queries in agentbook's own checkout, run side by side; each answer is None when
    git is missing, fails or takes longer than GIT_TIMEOUT. System and global config are ignored:
    nothing but the repository decides the answer. Spawned with `os.posix_spawnp` rather than
    `subprocess`, whose imports cost `--version` more than git itself does."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_OPTIONAL_LOCKS": "0"}
    started = [_spawn(["git", "-C", cwd, *args], env) for args in queries]
    deadline = time.monotonic() + GIT_TIMEOUT
    return [None if one is None else _collect(*one, deadline) for one in started]


def _spawn(argv: list[str], env: dict[str, str]) -> tuple[int, int] | None:
    """(pid, read end of its stdout) of a process with stdin and stderr on /dev/null."""
    read_end, write_end = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, write_end, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2)])
    except OSError:
        os.close(read_end)
        return None
    finally:
        os.close(write_end)
        os.close(devnull)
    return pid, read_end


def _collect(pid: int, fd: int, deadline: float) -> str | None:
    """What the process printed, stripped, when it exits 0 before `deadline` (else it is killed)."""
    out = _read_until(fd, deadline)
    if out is None:
        os.kill(pid, 9)  # SIGKILL; the `signal` module would import `enum`
    _pid, status = os.waitpid(pid, 0)
    if out is None or os.waitstatus_to_exitcode(status) != 0:
        return None
    return out.decode("utf-8", "replace").strip()


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything written to the pipe `fd` until its writer closes it; None past `deadline`."""
    chunks: list[bytes] = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def describe() -> dict[str, object]:
    """Everything `agentbook version --json` prints."""
    from agentbook.shipped import shipped_root

    root = shipped_root()
    return {**version_info().as_dict(), "python": sys.version.split()[0], "package": PACKAGE_DIR,
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


def extra_hint(extra: str) -> str:
    """How to add the optional dependencies `extra` to this agentbook: from its checkout, from the wheel
    or repository it was installed from, or from its own repository at its release. Never by the bare name: on a package index `agentbook` is another
    project (README, "Install it in your own project"), so `pip install 'agentbook[x]'` installs it."""
    if version_info().source == "checkout":
        return f"in agentbook's checkout: .venv/bin/python -m pip install -e '.[{extra}]'"
    source = _installed_from() or f"git+{_repository_url()}@v{__version__}"
    requirement = f'"agentbook[{extra}] @ {source}"'
    return (f"pip install {requirement} into the environment agentbook runs in "
            f"(or uv tool install / pipx install --force with the same requirement)")


def _installed_from() -> str | None:
    """Where this agentbook was installed from, as pip recorded it (PEP 610 `direct_url.json`): the
    wheel or folder it came from while that is still there, or the repository at the commit pip
    checked out. The same source again is the one requirement sure to add the extra to this install."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    try:
        record = json.loads(metadata.distribution("agentbook").read_text("direct_url.json") or "null")
    except (metadata.PackageNotFoundError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return None
    url, vcs = record["url"], record.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str) and isinstance(vcs.get("commit_id"), str):
        return f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
    parsed = urlparse(url)
    if parsed.scheme == "file" and not os.path.exists(unquote(parsed.path)):
        return None  # the wheel was deleted since: a hint naming it would fail
    return url


def _repository_url() -> str:
    """`[project.urls] Repository` as the installed package's metadata records it."""
    from importlib import metadata

    for entry in metadata.metadata("agentbook").get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip() == "Repository":
            return url.strip()
    return "<agentbook's repository: see its README>"


UPGRADE_HINT = ("install a newer agentbook (see the install line in agentbook's README), "
                "then check with `agentbook --version`")
