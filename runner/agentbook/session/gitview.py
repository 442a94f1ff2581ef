"""What the jail shows of the root's own git data: a read-only view with nothing that can hold a token.

A plain checkout keeps credentials in its git folder: actions/checkout writes the job's token into
`.git/config` (`http.<url>.extraheader`), a clone by URL keeps `https://user:TOKEN@host/...` as the
remote (in `config`, and in `modules/*/config` for submodules), a `credential.helper store --file`
may point anywhere inside it. A run's worktree never showed any of it (its git data lies outside the
root), but `agentbook session --root CHECKOUT` and a gate in a checkout did.

The agent may still want `git status`, `git diff` or `git log` in its bash (an allow-list such as
`git diff*` is the usual first one), so the git folder is not simply hidden: an empty read-only
folder is laid over it and only what those commands read is bound back, read-only, by name (an
allow-list, so a file nobody thought of stays hidden): `HEAD`, `objects`, `refs`, `packed-refs`,
`index`, `shallow`, `reftable`, `info/exclude`, `info/attributes`, `info/sparse-checkout`, and a
`config` written here from the real one's few repository-format keys (no remote, no URL, no
`http.*`, no credential helper, no include). The runner's own git, outside the jail, commits and
pushes; nothing in the view can make the agent's git reach a network it does not have anyway.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from agentbook.session.paths import git_data_places

SHOWN = ("HEAD", "objects", "refs", "packed-refs", "index", "shallow", "reftable", "info/exclude",
         "info/attributes", "info/sparse-checkout")
# repository-format keys git needs to read the repository at all; nothing here names a place or a program
CONFIG_KEPT = ("core.repositoryformatversion", "core.bare", "core.filemode", "core.symlinks", "core.ignorecase",
               "core.precomposeunicode", "core.logallrefupdates", "core.autocrlf", "core.eol", "core.safecrlf",
               "core.sparsecheckout", "core.sparsecheckoutcone", "extensions.objectformat",
               "extensions.refstorage", "extensions.compatobjectformat")
_VALUE = re.compile(r"[A-Za-z0-9_.+-]{1,40}")


def cover(root: Path) -> list[str]:
    """bubblewrap options (after the root's own bind) that replace the root's git data by the view."""
    out: list[str] = []
    for place in git_data_places(root):
        if os.path.islink(place) or not os.path.exists(place):
            continue  # a link is covered where it leads (the next place)
        if not place.is_dir():  # a `gitdir:` file: only a path, but nobody may write another there
            out += ["--ro-bind", _empty_file(), str(place)]
            continue
        out += ["--tmpfs", str(place)]
        for name in SHOWN:
            shown = place / name
            if not shown.is_symlink() and shown.exists():
                out += ["--ro-bind", str(shown), str(shown)]
        out += ["--ro-bind", sanitized_config(place), str(place / "config"), "--remount-ro", str(place)]
    return out


def sanitized_config(git_dir: Path) -> str:
    """A file holding only the CONFIG_KEPT keys of `git_dir/config` (read by git itself, without
    includes), rewritten when the real one changes."""
    real = git_dir / "config"
    try:
        st = os.stat(real)
        mark = f"{real}:{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"
    except OSError:
        mark = f"{real}:none"
    path = _scratch() / (hashlib.sha256(mark.encode()).hexdigest()[:32] + ".config")
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(_config_text(_read_config(real)))
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)
    return str(path)


def _read_config(path: Path) -> dict[str, str]:
    """The file's keys (last value wins), read by git with no other config and no includes."""
    if not path.is_file():
        return {}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
           "GIT_CONFIG_GLOBAL": "/dev/null"}
    try:
        ran = subprocess.run(["git", "config", "--file", str(path), "--no-includes", "--null", "--list"],
                             capture_output=True, env=env, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    out: dict[str, str] = {}
    for item in ran.stdout.decode("utf-8", "replace").split("\0"):
        key, _, value = item.partition("\n")
        out[key.lower()] = value
    return out


def _config_text(keys: dict[str, str]) -> str:
    sections: dict[str, list[str]] = {}
    for name in CONFIG_KEPT:
        value = keys.get(name.lower())
        if value is not None and _VALUE.fullmatch(value):  # a plain word: nothing that could carry a URL or a token
            section, _, key = name.partition(".")
            sections.setdefault(section, []).append(f"\t{key} = {value}\n")
    sections.setdefault("core", ["\trepositoryformatversion = 0\n"])
    return "".join(f"[{section}]\n" + "".join(lines) for section, lines in sections.items())


def _empty_file() -> str:
    """An empty read-only regular file (not /dev/null: a device on a read-only mount still takes
    writes, so `> .git` would look as if it worked)."""
    path = _scratch() / "empty"
    if not path.is_file() or path.stat().st_size:
        path.unlink(missing_ok=True)
        path.touch(mode=0o444)
    return str(path)


@functools.lru_cache(maxsize=1)
def _scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="agentbook-gitview-"))
    atexit.register(shutil.rmtree, path, True)
    return path
