#!/usr/bin/env python3
"""`make changelog`: rewrite the Unreleased section of CHANGELOG.md from the commit log.

The commits since the newest release tag (`vX.Y.Z`; the whole history before the first) are listed
by area, the word before the first colon of their subject (`session: ...` goes under `session`),
newest first, each with its short sha. Only the text between the two markers is rewritten; the
released sections below it are edited by hand when a version is tagged. Merge commits are left out:
the commits they bring are listed themselves.

    python .ci/changelog.py [--repo DIR] [--check]     (--check: exit 1 when the file is out of date)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

BEGIN = "<!-- unreleased:begin (make changelog rewrites this section) -->"
END = "<!-- unreleased:end -->"
AREA = re.compile(r"^([a-z][a-z0-9_+/ .-]{0,24}): (.+)$")
MAX_SUBJECT = 240  # the log's subjects can run long; the changelog links to the commit for the rest


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"changelog: git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def last_tag(repo: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(repo), "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def unreleased(repo: Path) -> str:
    tag = last_tag(repo)
    log = git(repo, "log", "--no-merges", "--format=%h%x1f%s", f"{tag}..HEAD" if tag else "HEAD")
    areas: dict[str, list[str]] = defaultdict(list)
    for line in log.splitlines():
        sha, _, subject = line.partition("\x1f")
        found = AREA.match(subject)
        area, text = (found.group(1), found.group(2)) if found else ("other", subject)
        if len(text) > MAX_SUBJECT:
            text = text[:MAX_SUBJECT].rsplit(" ", 1)[0] + " ..."
        areas[area].append(f"- {text} ({sha})")
    since = f"Changes since {tag}" if tag else "Changes since the first commit (no release tagged yet)"
    parts = [f"{since}, from `git log`:"]
    for area in sorted(areas, key=lambda a: (a == "other", a)):
        parts.append(f"\n### {area}\n\n" + "\n".join(areas[area]))
    return "\n".join(parts) if areas else f"{since}: none."


def rewrite(text: str, section: str) -> str:
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"changelog: CHANGELOG.md must hold the markers\n  {BEGIN}\n  {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{section}\n{END}{tail}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--check", action="store_true", help="exit 1 if CHANGELOG.md is out of date")
    args = parser.parse_args(argv)
    path = args.repo / "CHANGELOG.md"
    old = path.read_text(encoding="utf-8")
    new = rewrite(old, unreleased(args.repo))
    if args.check:
        print("CHANGELOG.md is up to date" if new == old else "CHANGELOG.md is out of date: run `make changelog`")
        return 0 if new == old else 1
    if new != old:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".CHANGELOG.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new)
        os.replace(tmp, path)
    print(f"CHANGELOG.md: {'updated' if new != old else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
