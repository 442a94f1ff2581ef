#!/usr/bin/env python3
"""What the model pass of `backtest cluster --model` costs per 1,000 failures: calls, tokens, time.

A support-agent backtest (examples/support-agent/generate.py) big enough for about --failures
failures, with templated analysts (several framings and phrasings per cause, causeless noise), is
clustered once deterministically and once with the model pass against the stand-in over loopback
(the scripted model answers every batch; its token counts are the stand-in's, the same counter for
both sides below).

The peer, measured in the same run on the same failures: a pass that shows the model every
failure's finding (what LLM clustering over all summaries, Docent- or LangSmith-Insights-style,
sends), one request per 20 cohorts' worth of failures, counted by the same token counter. The
ratio says how much the bounded pass (medoid findings + the questions the clustering is unsure
about) saves.

    .venv/bin/python bench/bench_refine.py [--failures 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from loader import load_module

from agentbook.backtest.cluster import candidate_cohorts, collect_failures
from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.refine import BATCH, SYSTEM, _finding, build_prompt, plan
from agentbook.standin import running
from agentbook.standin.tokens import count_input

REPO = Path(__file__).resolve().parents[1]
SUPPORT = REPO / "examples" / "support-agent"
SCRIPT = """\
version: 1
model: scripted
sessions:
  - name: review
    match: {system: "settle the questions it could not"}
    turns:
      - when:
          - if: {first_user: {regex: 'Merge questions[^\\n]*?(?P<m>m\\d+): '}}
            text: '{"names": [{"cohort": "c01", "name": "The biggest cause"}], "merges": [{"id": "{m}", "same_cause": true}]}'
          - text: '{"names": [{"cohort": "c01", "name": "The biggest cause"}]}'
"""


def _request(prompt: str) -> dict[str, object]:
    return {"model": "scripted", "system": SYSTEM, "max_tokens": 4096, "messages": [{"role": "user", "content": prompt}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", type=int, default=1000)
    args = parser.parse_args()
    gen = load_module(SUPPORT / "generate.py", "support_generate")
    count = math.ceil(args.failures / gen.FAILURE_RATE)
    with tempfile.TemporaryDirectory(prefix="bench-refine-") as tmp:
        src, bt = Path(tmp) / "src", Path(tmp) / "bt"
        gen.generate(src, seed=11, count=count)
        wrong = sum(json.loads(line)["verdict"] == "wrong" for line in (src / "manifest.jsonl").read_text().splitlines())
        if wrong < args.failures:  # the generator's failure share is not exact at every size
            count = math.ceil(count * args.failures / max(1, wrong))
            gen.generate(src, seed=11, count=count)
        import_backtest(src / "manifest.jsonl", bt)
        gen.write_analyses(bt, src / "templated.jsonl")
        start = time.perf_counter()
        plain = cluster_backtest(str(bt))
        t_plain = time.perf_counter() - start
        failures, _ = collect_failures(BacktestFolder(bt))
        found = candidate_cohorts(failures)
        prompts = [build_prompt(b, found) for b in plan(found)]
        ours = sum(count_input(_request(p)) for p in prompts)
        findings = [_finding(f) for f in failures]
        per = max(1, math.ceil(len(findings) / max(1, math.ceil(len(found.cohorts) / BATCH))))
        peer_prompts = ["<data>\n" + "\n".join(findings[i:i + per]) + "\n</data>\n" for i in range(0, len(findings), per)]
        peer = sum(count_input(_request(p)) for p in peer_prompts)
        script = Path(tmp) / "model.script.yaml"
        script.write_text(SCRIPT)
        with running(script) as server:
            start = time.perf_counter()
            refined = cluster_backtest(str(bt), model=f"compat:{server.base_url}#scripted")
            t_refined = time.perf_counter() - start
    n = plain.failures
    scale = 1000 / max(1, n)
    r = refined.refine_stats
    print(f"support-agent backtest: {count} investigations, {n} analysed failures, "
          f"{len(plain.cohorts)} cohorts (deterministic), {len(refined.cohorts)} after the model pass")
    print(f"model pass: {r['calls']} call(s), {r['input_tokens']} input tokens, {r['output_tokens']} output tokens; "
          f"asked {r['merges_asked']} merge(s) and {r['splits_asked']} split(s); merged {len(r['merged'])}")
    print(f"per 1,000 failures: {r['calls'] * scale:.1f} calls, {r['input_tokens'] * scale:,.0f} input tokens, "
          f"{r['output_tokens'] * scale:,.0f} output tokens")
    print(f"peer (every failure's finding shown, same token counter): {peer * scale:,.0f} input tokens per 1,000 "
          f"failures; the bounded pass sends {ours / max(1, peer):.3f}x of it ({ours} vs {peer} here)")
    print(f"wall time: deterministic {t_plain:.1f}s, with the model pass {t_refined:.1f}s (the stand-in answers at once)")
    print(json.dumps({"failures": n, "calls": r["calls"], "input_tokens": r["input_tokens"],
                      "output_tokens": r["output_tokens"], "peer_input_tokens": peer,
                      "calls_per_1000": round(r["calls"] * scale, 2),
                      "input_tokens_per_1000": round(r["input_tokens"] * scale),
                      "ratio_to_peer": round(ours / max(1, peer), 4)}))


if __name__ == "__main__":
    main()
