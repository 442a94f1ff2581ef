"""Copy this example out as its own git repository: `python scripts/make_repo.py DEST`.

The copy gets the generated files (including the ~5 MB `evals/root-cause.yaml`, which agentbook's
own repository does not commit) and one initial commit on `main`, so a runbook can branch from it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".git", ".agentbook", "__pycache__", "*.pyc", "*.tmp", ".pytest_cache")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)


def make_repo(dest: Path, *, big: bool = True) -> Path:
    """Copy, generate, `git init -b main`, commit. DEST must not exist or be empty."""
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"make_repo: {dest} exists and is not empty")
    shutil.copytree(HERE, dest, ignore=SKIP, dirs_exist_ok=True)
    cmd = [sys.executable, str(dest / "scripts" / "generate.py"), "--root", str(dest)]
    subprocess.run(cmd + (["--big"] if big else []), check=True, capture_output=True)
    git(dest, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Incident Assistant Dev"), ("user.email", "dev@incident-assistant.example"),
                       ("commit.gpgsign", "false")):
        git(dest, "config", key, value)
    # In the copy the big suite is an ordinary tracked file.
    (dest / ".gitignore").write_text(".agentbook/\n__pycache__/\n*.tmp\n")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "incident-assistant: prompts, eval suites, traces")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--small", action="store_true", help="skip the ~5 MB root-cause suite")
    args = parser.parse_args(argv)
    print(make_repo(args.dest, big=not args.small))
    return 0


if __name__ == "__main__":
    sys.exit(main())
