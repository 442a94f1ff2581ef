"""Benchmark: what the strict YAML loader (`agentbook.yamlsafe`) costs over plain PyYAML.

The peer, measured in the same run on the same text: `yaml.load(text, CSafeLoader)` (libyaml's safe
load, the fastest safe loader there is) for the strict loader on libyaml, and `yaml.safe_load` for the
strict loader on the pure-Python parser (its default: better error wording for small files). The
strict loader composes the node tree, checks it (aliases, depth, tags, duplicate keys) and then builds
it, so the ratio is the price of the checks. Also shown: how fast an alias bomb is refused, which
plain PyYAML would spend minutes and gigabytes expanding once something walks the result.

    .venv/bin/python bench/bench_yamlsafe.py            # a 1,000-case suite and 300 runbook fronts
    .venv/bin/python bench/bench_yamlsafe.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner"))

import yaml

from agentbook import yamlsafe
from agentbook.errors import FatalError

FRONT = """name: fix-prompt-{i}
description: Investigate a failing case and fix the prompt that causes it, without breaking the suite.
inputs:
  prompt: {{type: path, required: true, description: Prompt file to change}}
  suite: {{type: path, required: true, description: Eval suite that covers it}}
skills: [prompt-debugging, eval-writing]
tools: [read, write, edit, grep, glob, bash]
bash: {{allow: ["agentbook eval *", "git diff*"]}}
protected: ["evals/**/cases/*.yaml", "prompts/system.md"]
limits: {{max_turns: 80, max_usd: 5, timeout: 45m}}
branch: "agentbook/fix-prompt/{{ticket.id}}"
"""


def suite(cases: int) -> str:
    lines = ["description: support answers", "providers: [scripted:model.script.yaml]",
             "defaults: &d {threshold: 0.8, tags: [support, regression]}", "tests:"]
    for i in range(cases):
        lines += [f"  - description: case {i} about refunds and shipping",
                  f"    vars: {{question: 'Where is order {i}?', customer: c{i % 97}, lang: en}}",
                  "    options: *d",
                  "    assert:",
                  f"      - {{type: contains, value: 'order {i}'}}",
                  "      - {type: not-contains, value: 'I cannot help'}",
                  "      - {type: javascript, value: 'output.length < 800'}"]
    return "\n".join(lines) + "\n"


def bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        refs = ", ".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\n"


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()  # CPU time: on a shared machine, wall time measures the neighbours
        fn()
        times.append(time.process_time() - t0)
    return min(times)  # the least disturbed run: the machine is shared


def compare(label: str, texts: list[str], repeat: int) -> None:
    size = sum(len(t) for t in texts)
    c_peer = best_of(lambda: [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts], repeat)
    c_strict = best_of(lambda: [yamlsafe.load(t, "bench", loader=yamlsafe.SafeLoader) for t in texts], repeat)
    py_peer = best_of(lambda: [yaml.safe_load(t) for t in texts], repeat)
    py_strict = best_of(lambda: [yamlsafe.load(t, "bench") for t in texts], repeat)
    for t in texts:  # same values either way: the checks refuse, they never change what loads
        assert yamlsafe.load(t, "bench", loader=yamlsafe.SafeLoader) == yaml.load(t, Loader=yaml.CSafeLoader)
    print(f"{label} ({len(texts)} document(s), {size / 1e6:.2f} MB; CPU time, best of {repeat})")
    print(f"  libyaml:     plain {c_peer * 1e3:8.1f} ms   strict {c_strict * 1e3:8.1f} ms   "
          f"ratio {c_strict / c_peer:.2f}x")
    print(f"  pure Python: plain {py_peer * 1e3:8.1f} ms   strict {py_strict * 1e3:8.1f} ms   "
          f"ratio {py_strict / py_peer:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cases, fronts, repeat = (100, 50, 3) if args.quick else (1000, 300, 5)
    if not hasattr(yaml, "CSafeLoader"):
        sys.exit("PyYAML was built without libyaml: no peer to compare with")
    compare("suite", [suite(cases)], repeat)
    compare("runbook front-matter", [FRONT.format(i=i) for i in range(fronts)], repeat)
    text = bomb()
    t0 = time.perf_counter()
    try:
        yamlsafe.load(text, "bomb.yaml")
    except FatalError as err:
        refused = time.perf_counter() - t0
        print(f"alias bomb ({len(text)} bytes, 9^9 = {9 ** 9:,} values once expanded): refused in "
              f"{refused * 1e3:.2f} ms: {err.message}")
    else:
        sys.exit("the alias bomb was accepted")


if __name__ == "__main__":
    main()
