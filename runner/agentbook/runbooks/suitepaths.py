"""Protected entries that name an input (`{inputs.suite}`): the path the ticket gave, and, when it is an
eval suite, the test files its `tests:` reference, as the base commit has them.

A runbook's globs name one layout (`evals/**/suite.yaml`); a suite at the repository's root
(`promptfooconfig.yaml`) or in another folder, and the CSV, JSONL or case files it reads, were left
writable, so an agent could weaken the cases its own fix is judged by. Files a glob matches at the base
are protected one by one: a new case file the glob would also pick up may still be added.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

import yaml

from agentbook.errors import FatalError
from agentbook.gitops.git import Git
from agentbook.gitops.guard import glob_literal
from agentbook.session.paths import glob_regex

INPUT_ENTRY = re.compile(r"^\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}$")
MAX_SUITE_BYTES = 4 * 1024 * 1024  # a suite's config is small; a larger one is protected alone, not parsed
SUITE_SUFFIXES = (".yaml", ".yml", ".json")


def resolve(entries: list[str], inputs: dict[str, Any], git: Git, base_sha: str, *, where: str) -> list[str]:
    """`entries` with each `{inputs.NAME}` replaced by the globs that match exactly the files it stands for.
    An entry naming no path input is an error: a protection that silently matched nothing fails open."""
    out: list[str] = []
    for entry in entries:
        m = INPUT_ENTRY.match(entry)
        if m is None:
            out.append(entry)
            continue
        value = inputs.get(m.group(1))
        if not isinstance(value, str) or not value or posixpath.isabs(value):
            raise FatalError(f"protected entry {entry!r} names no repository path (input {m.group(1)!r} is {value!r})",
                             location=where, hint="name an input of type path, e.g. \"{inputs.suite}\"")
        rel = posixpath.normpath(value.removeprefix("./"))
        out += [glob_literal(p) for p in [rel, *suite_files(git, base_sha, rel)] if glob_literal(p) not in out]
    return out


def suite_files(git: Git, base_sha: str, suite: str) -> list[str]:
    """The files inside the repository that the suite's `tests:` reads at the base (none when `suite` is
    not a readable suite file there: protecting the path itself is then all there is to do)."""
    if not suite.endswith(SUITE_SUFFIXES) or not git.ok("cat-file", "-e", f"{base_sha}:{suite}"):
        return []
    if int(git.run("cat-file", "-s", f"{base_sha}:{suite}").strip() or 0) > MAX_SUITE_BYTES:
        return []
    try:
        data = yaml.safe_load(git.run_bytes("cat-file", "blob", f"{base_sha}:{suite}"))
    except (yaml.YAMLError, ValueError):
        return []
    tests = data.get("tests") if isinstance(data, dict) else None
    refs = [tests] if isinstance(tests, str) else [t for t in tests if isinstance(t, str)] if isinstance(tests, list) else []
    folder = posixpath.dirname(suite)
    tree = [p for p in git.run("ls-tree", "-r", "-z", "--name-only", "--full-tree", base_sha).split("\0") if p]
    out: list[str] = []
    for ref in refs:
        pattern = ref.strip().removeprefix("file://")
        if not pattern or posixpath.isabs(pattern):
            continue
        full = posixpath.normpath(posixpath.join(folder, pattern))
        if full.startswith("../") or full == "..":
            continue
        out += [p for p in tree if p not in out and _glob_match(p, full)]
    return out


def _glob_match(path: str, pattern: str) -> bool:
    """promptfoo's globs as far as case files use them: `*` within a folder, `**` across folders, matched a
    name at a time (`session.paths.Glob`): a regular expression this was backtracked without end on
    `**/**/**/...` (ten took 33 s against one path 30 folders deep), before the run began."""
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        return path == pattern
    return glob_regex(pattern).fullmatch(path)
