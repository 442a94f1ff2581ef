"""The same scripted runbook worked by agentbook's own session and by Claude Code (`--agent claude-code`).

Both runs go through the whole runner (worktree, gates in the jail, commits, report) with the stand-in
at 0 ms latency on a priced model name, so the model costs nothing in time and what differs is the
agent: agentbook's in-process loop, or a headless `claude -p` process per step in the jail talking
through the keyless relay. Printed per agent, and Claude Code as a ratio of agentbook (the peer
measured in the same run):
  wall               the run, start to finish (median of --repeat runs)
  overhead per turn  time inside the agent (the runner's `model` phase) / model requests
  input per request  input tokens (uncached + cache writes + cache reads) / model requests
  cost               USD at the price table's rate for the script's model
Claude Code is the pinned one the tests install (~/.cache/agentbook-test), $AGENTBOOK_CLAUDE, or
`claude` on PATH; without one, or without a working jail, the bench says so and exits 0.
Usage: bench_agent.py [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agentbook.runbooks.executor import start_run
from agentbook.runbooks.plan import RunOptions
from agentbook.session.sandbox import bwrap_works

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "runner" / "data"
SCRIPTS = {"agentbook": DATA / "four-steps.script.yaml",
           "claude-code": ROOT / "tests" / "agent" / "data" / "four-steps.claude.script.yaml"}
PRICED = "claude-sonnet-4-5"  # a priced name, so both runs have a cost to compare


def find_claude() -> str | None:
    if os.environ.get("AGENTBOOK_CLAUDE"):
        return os.environ["AGENTBOOK_CLAUDE"]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentbook-test"
    found = sorted(cache.glob("claude-code-*/node_modules/.bin/claude"))
    return str(found[-1]) if found else shutil.which("claude")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_repo(base: Path) -> Path:
    repo = base / "repo"
    (repo / "runbooks").mkdir(parents=True)
    shutil.copy(DATA / "four-steps.md", repo / "runbooks" / "four-steps.md")
    skill = repo / "skills" / "note-style"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: note-style\ndescription: How to write a short note.\n---\n"
                                    "Keep each note to one line.\n")
    (repo / "README.md").write_text("# bench\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Bench")
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def priced_script(agent: str, base: Path) -> Path:
    text = SCRIPTS[agent].read_text()
    lines = [f"model: {PRICED}" if line.startswith("model:") else line for line in text.splitlines()]
    out = base / f"{agent}.script.yaml"
    out.write_text("\n".join(lines) + "\n")
    return out


def one_run(agent: str, base: Path, n: int) -> dict[str, Any]:
    repo = make_repo(base / f"{agent}-{n}")
    script = priced_script(agent, base)
    started = time.perf_counter()
    result = start_run(RunOptions(runbook="four-steps", inputs={"topic": "owls"}, repo=repo,
                                  model=f"scripted:{script}", agent=agent))
    wall = time.perf_counter() - started
    record = result.record
    if result.outcome.kind.value != "completed":
        raise SystemExit(f"{agent}: the run ended {result.outcome.kind.value}: {result.outcome.message}")
    usage = record.usage or {}
    total_input = sum(usage.get(k, 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                "cache_read_input_tokens"))
    turns = max(1, record.turns)
    return {"wall": wall, "turns": record.turns, "per_turn": record.timings.get("model", 0.0) / turns,
            "input_per_request": total_input / turns, "cost": record.cost_usd}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    claude = find_claude()
    if claude is None:
        print("bench_agent: skipped: no Claude Code (run tests/agent once, set AGENTBOOK_CLAUDE, or put claude on PATH)")
        return 0
    if not bwrap_works():
        print("bench_agent: skipped: the jail does not work here, and agent CLIs run only inside it")
        return 0
    os.environ["AGENTBOOK_CLAUDE"] = claude
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
        for agent in ("agentbook", "claude-code"):
            runs = [one_run(agent, Path(tmp), n) for n in range(args.repeat)]
            rows[agent] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"4-step runbook, scripted model {PRICED} at 0 ms, median of {args.repeat} runs per agent")
    print(f"{'':<20}{'agentbook':>14}{'claude-code':>14}{'ratio':>9}")
    a, c = rows["agentbook"], rows["claude-code"]
    for key, label, fmt in (("wall", "wall (s)", "{:.2f}"), ("turns", "model requests", "{:.0f}"),
                            ("per_turn", "overhead/turn (s)", "{:.3f}"),
                            ("input_per_request", "input tok/request", "{:.0f}"), ("cost", "cost (USD)", "{:.4f}")):
        ratio = c[key] / a[key] if a[key] else float("nan")
        print(f"{label:<20}{fmt.format(a[key]):>14}{fmt.format(c[key]):>14}{ratio:>8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
