"""Put the interop samples back from local git copies of their repositories (the shared interop folder
does not survive a change of machine; this list does).

`sources.tsv` names each file: its folder under the interop folder, its name there, the repository,
commit and path it was copied from, how (`git`: one file with `git show COMMIT:PATH`; `git-tree`: the
whole tree at COMMIT; `read_file`: a stored version read one file at a time, which needs doing by hand),
and its licence. Each folder gets a PROVENANCE.md written from the same rows (rewritten every run, so it
always says where every file listed there came from).

    python tests/interop/restore.py --mirrors DIR [--out DIR]

DIR holds one git directory per repository, as `OWNER+NAME/repo`, `OWNER/NAME.git` or `OWNER/NAME`;
`--out` defaults to $AGENTBOOK_INTEROP, else ../shared/interop beside the repository. Files already
there are left alone; what could not be restored is listed, with where to get it, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _git_dir(mirrors: Path, repo: str) -> Path | None:
    owner, name = repo.split("/", 1)
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / owner / f"{name}.git", mirrors / owner / name):
        if candidate.is_dir():
            return candidate
    return None


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True).stdout


def _restore(row: dict[str, str], mirrors: Path, out: Path) -> str | None:
    """Restores one row; None when done (or already there), else why not."""
    dest = out / row["folder"] / row["file"]
    if dest.exists():
        return None
    if row["how"] == "read_file":
        return "stored version only: read it with the code search's read_file and write it unchanged"
    git_dir = _git_dir(mirrors, row["repository"])
    if git_dir is None:
        return f"no local git copy of {row['repository']} in {mirrors}"
    try:
        if row["how"] == "git-tree":
            archive = _git(git_dir, "archive", "--format=tar", row["commit"])
            dest.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(dest, filter="data")
        else:
            data = _git(git_dir, "show", f"{row['commit']}:{row['path']}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    except subprocess.CalledProcessError as err:
        return f"git: {err.stderr.decode(errors='replace').strip()[:200]}"
    return None


def _write_provenance(rows: list[dict[str, str]], out: Path) -> None:
    """One PROVENANCE.md per folder: each file, its repository, commit, path there and licence."""
    folders: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        folders.setdefault(row["folder"], []).append(row)
    for folder, listed in folders.items():
        lines = [f"# Provenance of {folder}/", "",
                 "Copied unchanged from public repositories (tests/interop/sources.tsv in agentbook lists them).", "",
                 "| file | repository | commit | path | licence |", "|---|---|---|---|---|"]
        lines += [f"| {r['file']} | {r['repository']} | {r['commit']} | {r['path']} | {r['licence']} |" for r in listed]
        (out / folder).mkdir(parents=True, exist_ok=True)
        (out / folder / "PROVENANCE.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, required=True)
    parser.add_argument("--out", type=Path,
                        default=Path(os.environ.get("AGENTBOOK_INTEROP") or HERE.parents[2] / "shared" / "interop"))
    args = parser.parse_args()
    rows = list(csv.DictReader((HERE / "sources.tsv").open(encoding="utf-8"), delimiter="\t"))
    missing = [(row, why) for row in rows if (why := _restore(row, args.mirrors, args.out))]
    _write_provenance(rows, args.out)
    for row, why in missing:
        print(f"{row['folder']}/{row['file']}: {row['repository']} @ {row['commit']} : {row['path']}: {why}")
    print(f"{len(rows) - len(missing)} of {len(rows)} present in {args.out}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
