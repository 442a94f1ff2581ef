"""Benchmark: strict validation of N generated skills + runbooks in one process.

Prints the time per file and the ratio to a floor measured in the same run: reading the same files
with no validation (what any validator must at least do). The issue's target: 2,000 files < 2 s.

    .venv/bin/python bench/bench_validate.py            # 1,000 skills + 1,000 runbooks
    .venv/bin/python bench/bench_validate.py --quick    # 100 + 100
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner"))

from agentbook.catalog.discover import Target
from agentbook.catalog.validate import collect_targets, validate

BODY = "\n".join(
    ["# {name}", "", "Use this skill to handle {topic} in production.", "",
     "## Steps", ""]
    + [f"{i}. Check the {{topic}} signal number {i} and write down what you saw." for i in range(1, 31)]
    + ["", "See [the reference](references/guide.md) and [the checklist](references/checklist.md).", ""])

RUNBOOK = """---
name: {name}
description: Investigate {topic} and fix the prompt that causes it, without breaking the eval suite.
inputs:
  prompt: {{type: path, required: true, description: Prompt file to change}}
  suite: {{type: path, required: true, description: Eval suite that covers it}}
skills: [{skill}]
tools: [read, write, edit, grep, glob, bash]
bash: {{allow: ["agentbook eval *", "git diff*"]}}
protected: ["evals/**/cases/*.yaml"]
limits: {{max_turns: 80, max_usd: 5, timeout: 45m}}
branch: "agentbook/{name}/{{ticket.id}}"
---

Read the ticket, then follow the steps.

## Reproduce

Run the suite on {{inputs.suite}} and find the failing case.

```check
agentbook eval run {{inputs.suite}}
```

## Fix the prompt

Change {{inputs.prompt}} so the case passes.

```check
agentbook eval run {{inputs.suite}} --quiet
```

## Summarise

Write what changed and why.
"""


def generate(root: Path, n_skills: int, n_runbooks: int) -> None:
    topics = ["latency", "refusals", "tool errors", "hallucinated ids", "timeouts", "cost spikes"]
    for i in range(n_skills):
        name = f"skill-{i:05d}"
        folder = root / "skills" / name
        (folder / "references").mkdir(parents=True)
        topic = topics[i % len(topics)]
        front = (f"---\nname: {name}\ndescription: Diagnose {topic} in an AI system from its traces and evals. "
                 f"Use when a ticket mentions {topic}, a failing eval, or a trace folder.\nlicense: Apache-2.0\n"
                 f"metadata:\n  area: debugging\n  version: \"1.{i % 10}\"\n---\n")
        (folder / "SKILL.md").write_text(front + BODY.format(name=name, topic=topic))
        (folder / "references" / "guide.md").write_text("# Guide\n")
        (folder / "references" / "checklist.md").write_text("# Checklist\n")
    (root / "runbooks").mkdir(parents=True, exist_ok=True)
    for i in range(n_runbooks):
        name = f"runbook-{i:05d}"
        text = RUNBOOK.format(name=name, topic=topics[i % len(topics)], skill=f"skill-{i % max(n_skills, 1):05d}")
        (root / "runbooks" / f"{name}.md").write_text(text)


def read_only(targets: list[Target]) -> float:
    start = time.perf_counter()
    for target in targets:
        data = target.path.read_bytes()
        data.decode("utf-8")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 skills + 100 runbooks")
    parser.add_argument("--skills", type=int, default=1000)
    parser.add_argument("--runbooks", type=int, default=1000)
    args = parser.parse_args()
    n_skills, n_runbooks = (100, 100) if args.quick else (args.skills, args.runbooks)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        root = Path(tmp)
        generate(root, n_skills, n_runbooks)
        paths = [p for p, n in ((root / "skills", n_skills), (root / "runbooks", n_runbooks)) if n]
        targets, _ = collect_targets(paths, root)
        validate(paths, root=root)  # warm imports, caches and the page cache outside the timing
        floor = min(read_only(targets) for _ in range(3))
        start, cpu_start = time.perf_counter(), time.process_time()
        report = validate(paths, root=root)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    files = len(targets)
    assert report.errors == 0, [f.render() for f in report.findings[:5]]
    print(f"validated {files} files ({n_skills} skills + {n_runbooks} runbooks) in {elapsed:.3f} s wall, "
          f"{cpu:.3f} s CPU, {report.errors} errors")
    print(f"machine load while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall time above is inflated when load exceeds the CPU count; CPU time much less so)")
    print(f"per file: {elapsed / files * 1e6:.0f} us validating vs {floor / files * 1e6:.1f} us just reading")
    print(f"ratio to reading the same files with no validation: {elapsed / floor:.1f}x")
    per_2000 = min(elapsed, cpu) / files * 2000
    print(f"target (2,000 files < 2 s): {'met' if per_2000 < 2.0 else 'NOT met'} "
          f"({per_2000:.2f} s per 2,000 files, the lower of wall and CPU time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
