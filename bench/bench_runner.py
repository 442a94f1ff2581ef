"""The runner's own overhead (everything but the model) for a 4-step runbook on a 10,000-file repo.

The model is the stand-in at 0 ms latency, so what is left is agentbook: pre-flight and prompt, the
worktree, gates (bubblewrap), commits with trailers and checkpoints, report, note and cleanup.
Printed against:
  floor  the same git work done by hand (worktree add, 4x add+commit, worktree remove)
  peer   the same scripted session through Claude Code headless (`claude -p`, ANTHROPIC_BASE_URL at
         the stand-in); skipped with a note when `claude` is not installed
Usage: bench_runner.py [--quick] [--files N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from agentbook.runbooks.executor import start_run
from agentbook.runbooks.plan import RunOptions

RUNBOOK = """---
name: four-steps
description: Write four notes, one per step, each checked.
tools: [read, write, bash]
branch: "bench/{ticket.id}"
---
## First
Write a.txt.
```check
test -f a.txt
```
## Second
Write b.txt.
```check
test -f b.txt
```
## Third
Write c.txt.
```check
test -f c.txt
```
## Fourth
Write d.txt.
```check
test -f d.txt
```
"""

AGENTBOOK_SCRIPT = """version: 1
sessions:
  - name: four
    match: {system: 'runbook "four-steps"'}
    turns:
""" + "".join(f"      - tool_use: {{name: write, input: {{path: {f}.txt, content: \"{f} note\\n\"}}}}\n"
              f"      - text: \"Wrote {f}.txt.\"\n" for f in "abcd")

CLAUDE_SCRIPT = """version: 1
sessions:
  - name: bench
    match: {first_user: {regex: "agentbook-bench root=(?P<root>/\\\\S+)"}}
    turns:
""" + "".join(f"      - tool_use: {{name: Write, input: {{file_path: \"{{root}}/{f}.txt\", content: \"{f} note\\n\"}}}}\n"
              for f in "abcd") + """      - text: "Wrote the four notes."
default:
  after_last: repeat_last
  turns:
    - text: "ok"
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Bench")
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    for i in range(files):
        d = repo / "src" / f"d{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.py").write_text(f"VALUE_{i} = {i}\n")
    (repo / "runbooks").mkdir()
    (repo / "runbooks" / "four-steps.md").write_text(RUNBOOK)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated")
    return repo


def agentbook_run(repo: Path, script: Path, n: int) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    result = start_run(RunOptions(runbook="four-steps", repo=repo, model=f"scripted:{script}",
                                  inputs={}, run_id=f"bench-{n}"))
    total = time.perf_counter() - started
    assert result.record.status == "completed", result.record.outcome
    assert sum(1 for s in result.record.steps if s.commit) == 4
    timings = dict(result.record.timings)
    timings["rest"] = total - sum(timings.values())
    return total, timings


def git_floor(repo: Path, n: int) -> float:
    """The same git work with bare git commands: the least any runner could spend on it."""
    path = repo.parent / f"floor-{n}"
    started = time.perf_counter()
    git(repo, "worktree", "add", "-q", "-b", f"floor/{n}", str(path), "main")
    for f in "abcd":
        (path / f"{f}.txt").write_text(f"{f} note\n")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"step {f}")
    git(repo, "worktree", "remove", "--force", str(path))
    return time.perf_counter() - started


def claude_run(repo: Path, base_url: str, n: int) -> float | None:
    work = repo.parent / f"claude-{n}"
    git(repo, "worktree", "add", "-q", "--detach", str(work), "main")
    env = {**os.environ, "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "sk-bench",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1"}
    started = time.perf_counter()
    proc = subprocess.run(["claude", "-p", f"agentbook-bench root={work} write the four notes",
                           "--allowedTools", "Write Read", "--output-format", "json"],
                          check=False, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    total = time.perf_counter() - started
    ok = proc.returncode == 0 and all((work / f"{f}.txt").exists() for f in "abcd")
    git(repo, "worktree", "remove", "--force", str(work))
    if not ok:
        print(f"  claude -p failed (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-300:]}")
        return None
    data = json.loads(proc.stdout)
    assert data.get("num_turns") == 5, data
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 files, 1 repeat")
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    files, repeat = (1_000, 1) if args.quick else (args.files, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, files)
        script = root / "four.script.yaml"
        script.write_text(AGENTBOOK_SCRIPT)
        agentbook_run(repo, script, 0)  # warm-up: imports, stand-in start, bwrap probe
        runs, floors = [], []
        for n in range(1, repeat + 1):  # interleaved, so load drifting on a shared machine hits both alike
            runs.append(agentbook_run(repo, script, n))
            floors.append(git_floor(repo, n))
        total = statistics.median(r[0] for r in runs)
        phases = {k: statistics.median(r[1].get(k, 0.0) for r in runs)
                  for k in ("plan", "worktree", "model", "gates", "commits", "records", "finish", "rest")}
        overhead = total - phases["model"]
        floor = statistics.median(floors)
        print(f"runner overhead, 4-step runbook, {files:,}-file repo, stand-in at 0 ms (median of {repeat})")
        print(f"  agentbook run total                   {total:7.3f} s")
        for name, label in (("plan", "pre-flight + prompt"), ("worktree", "worktree + branch"),
                            ("model", "model + tools (stand-in)"), ("gates", "gates (4, sandboxed)"),
                            ("commits", "commits + checkpoints"), ("records", "run.json saves (fsync)"),
                            ("finish", "report, note, cleanup"), ("rest", "rest (locks, event loop)")):
            print(f"    {label:<34}{phases[name]:7.3f} s")
        print(f"  overhead outside the model            {overhead:7.3f} s")
        git_part = phases["worktree"] + phases["commits"] + phases["finish"]
        print(f"  floor: same git work by hand          {floor:7.3f} s   runner git work / floor = "
              f"{git_part / floor:.2f}x")
        if shutil.which("claude") is None:
            print("  peer: claude -p                       skipped (npm i -g @anthropic-ai/claude-code to measure)")
            return
        from agentbook.standin import ensure_server

        cc_script = root / "claude.script.yaml"
        cc_script.write_text(CLAUDE_SCRIPT)
        server = ensure_server(cc_script)
        claude_run(repo, server.base_url, 0)  # warm-up
        peer = [t for n in range(1, repeat + 1) if (t := claude_run(repo, server.base_url, n)) is not None]
        if not peer:
            print("  peer: claude -p                       failed (see above)")
            return
        cc = statistics.median(peer)
        print(f"  peer: claude -p, same 4 writes        {cc:7.3f} s   agentbook total / claude -p = "
              f"{total / cc:.2f}x  (claude -p makes no worktree, gates or commits)")


if __name__ == "__main__":
    main()
