"""Rebuild this folder from the two source repositories (run by hand; tests only read the result).

    python extract.py AGENTRX_GIT_DIR WHOWHEN_GIT_DIR

Each argument is a git directory (a clone's `.git`, or a bare snapshot) of:
  microsoft/AgentRx                        (MIT)  data/ground_truth/{tau,magentic_one}_ground_truth.json, copied whole
  mingyin1/Agents_Failure_Attribution      (MIT)  Who&When/Hand-Crafted/*.json, one line each in
                                                  whowhen/annotations.jsonl without the conversation (`history`)
The commits read are written to PROVENANCE.md's table by hand; check them against `git log -1` of each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENTRX_FILES = ("tau_ground_truth.json", "magentic_one_ground_truth.json")
WHOWHEN_KEYS = ("question_ID", "question", "ground_truth", "mistake_agent", "mistake_step", "mistake_reason")


def _show(git_dir: str, spec: str) -> bytes:
    return subprocess.run(["git", "--git-dir", git_dir, "show", f"HEAD:{spec}"], check=True, capture_output=True).stdout


def _hand_crafted(git_dir: str) -> list[str]:
    names = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "--name-only", "HEAD", "Who&When/Hand-Crafted/"],
                           check=True, capture_output=True, text=True).stdout.split()
    return sorted(names, key=lambda n: int(Path(n).stem) if Path(n).stem.isdigit() else 10**9)


def main(argv: list[str]) -> int:
    agentrx, whowhen = argv
    (HERE / "agentrx").mkdir(exist_ok=True)
    (HERE / "whowhen").mkdir(exist_ok=True)
    for name in AGENTRX_FILES:
        (HERE / "agentrx" / name).write_bytes(_show(agentrx, f"data/ground_truth/{name}"))
    rows = []
    for path in _hand_crafted(whowhen):
        record = json.loads(_show(whowhen, path))
        rows.append(json.dumps({"file": path, **{k: record.get(k) for k in WHOWHEN_KEYS}}, ensure_ascii=False))
    (HERE / "whowhen" / "annotations.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (HERE / "agentrx" / "LICENSE.txt").write_bytes(_show(agentrx, "LICENSE.txt"))
    (HERE / "whowhen" / "LICENSE").write_bytes(_show(whowhen, "LICENSE"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
