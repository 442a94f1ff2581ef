"""A second held-out backtest: atlas-qa, a retrieval Q&A bot over an engineering wiki (tests/backtest).

Written by the lead, apart from the clustering work, and never used to tune it. Analyses are what
templated analysts would write: four writing styles unlike the other generators', several phrasings
per cause that share few words, analysts blaming different files for the same cause, and causeless
failures (about a third) worded in the same vocabulary as the causes (retrieval, chunks, dates,
permissions) so that shared domain words alone do not make a cause.

  chunk-split        30%  the splitter cuts long sections/tables; the answer misses the second half
  acl-contractors    18%  contractors' searches drop every restricted page (sometimes a 403 text)
  relative-dates     11%  "last quarter" resolved against the index build date, not today
  reranker-oom        7%  one account (helios) only: the GPU reranker runs out of memory
  cite-invented       3%  a citation to a page that does not exist (below the 5-failure bar)
  (none)            ~31%  each its own problem
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ACCOUNTS = ["helios", "northwind", "kestrel", "ambra", "tidewater", "quillon", "baobab", "sundial"]
LOCAL = "helios"
SHARES = {"chunk-split": 0.30, "acl-contractors": 0.18, "relative-dates": 0.11, "reranker-oom": 0.07,
          "cite-invented": 0.03}
FAILURE_RATE = 0.45
NOISE_SHARE = 0.31

# (finding, stage, path, line, signature or "", proposed change)
PHRASES: dict[str, list[tuple[str, str, str, int | None, str, str]]] = {
    "chunk-split": [
        ("the passage handed to the model stops halfway through the table, so rows after the cut are unknown",
         "retrieval", "atlas/ingest/splitter.py", 41, "", "split on section boundaries, never inside a table"),
        ("answer only covers the first part of the runbook section; the rest lives in the next chunk, which was not retrieved",
         "retrieval", "atlas/ingest/splitter.py", 41, "", "retrieve neighbouring chunks of a hit as well"),
        ("document segmentation breaks long pages at a fixed 512-token window and separates the question's answer from its heading",
         "data", "atlas/ingest/splitter.py", 18, "", "use heading-aware chunking with overlap"),
        ("context truncated: the relevant list continues past the chunk boundary",
         "query-generation", "atlas/retrieve.py", 77, "", "raise chunk overlap to 20%"),
        ("the model saw an incomplete excerpt of the page and guessed the missing values",
         "reasoning", "atlas/prompts/answer.md", 9, "", "tell the model to say when an excerpt looks cut off"),
    ],
    "acl-contractors": [
        ("user is in the contractors group and the permission filter removed every ENG-space page from the results",
         "retrieval", "atlas/acl.py", 23, "403 Forbidden: space ENG is restricted", "map contractor access by page, not by space"),
        ("search returned nothing readable for this person, so the bot answered that no documentation exists",
         "answer", "atlas/prompts/answer.md", 14, "", "distinguish 'no access' from 'no results' in the answer"),
        ("access control check is too coarse: external staff lose pages they are allowed to see",
         "tool-execution", "atlas/acl.py", 31, "PermissionDenied(group=contractors)", "fix group expansion for contractors"),
        ("all candidate documents were filtered out post-retrieval because of the requester's group membership",
         "retrieval", "atlas/retrieve.py", 102, "", "apply ACLs before ranking and fetch more candidates"),
    ],
    "relative-dates": [
        ("'last quarter' was computed from the date the index was built instead of the current date",
         "query-generation", "atlas/query/dates.py", 12, "", "resolve relative dates against now()"),
        ("time window in the search filter is off by months; it used a stale reference timestamp",
         "query-generation", "atlas/query/dates.py", 12, "", "pass the request time into the date resolver"),
        ("period expressions like 'this sprint' map to the wrong range, so results come from the wrong period",
         "planning", "atlas/prompts/rewrite.md", 5, "ValueError: unconverted data remains: Z", "give the rewriter today's date"),
    ],
    "reranker-oom": [
        ("GPU ran out of memory in the cross-encoder and the bot fell back to plain keyword ranking",
         "infrastructure", "atlas/rerank.py", 55, "CUDA out of memory. Tried to allocate 2.00 GiB", "batch reranking in smaller groups"),
        ("reranking crashed on this tenant's very long pages; lexical top-1 was used instead",
         "tool-execution", "atlas/rerank.py", 60, "RuntimeError: CUDA error: out of memory", "truncate documents before reranking"),
        ("the rerank service failed with OOM and results were ordered by BM25 alone",
         "infrastructure", "deploy/rerank.yaml", 8, "reranker worker killed (OOMKilled)", "give the rerank pod more memory"),
    ],
    "cite-invented": [
        ("cited a wiki page that does not exist", "answer", "atlas/prompts/answer.md", 20, "",
         "only allow citations from retrieved page ids"),
        ("reference link in the answer points to a made-up page id", "answer", "atlas/cite.py", 7, "",
         "validate citations against the result set"),
    ],
}

NOISE: list[tuple[str, str, str, str]] = [  # finding, stage, path, signature
    ("the question was about the staging cluster but the bot answered for production", "reasoning", "atlas/prompts/answer.md", ""),
    ("retrieved the right page but quoted an example command as if it were the official procedure", "reasoning", "atlas/prompts/answer.md", ""),
    ("spelling mistake in the query ('kuberentes') produced no hits", "input", "atlas/query/normalise.py", ""),
    ("the embedding service returned 502 once and the retry used an empty query", "tool-execution", "atlas/embed.py", "502 Bad Gateway from embedder"),
    ("answer is in German although the user asked in English", "answer", "atlas/prompts/answer.md", ""),
    ("an outdated copy of the on-call page ranked above the current one", "retrieval", "atlas/retrieve.py", ""),
    ("the bot mixed up two services with similar names (billing-api and billing-gw)", "reasoning", "atlas/prompts/answer.md", ""),
    ("user pasted a stack trace; the bot summarised the trace instead of answering", "input", "atlas/prompts/answer.md", ""),
    ("the wiki export for this page has broken encoding, so the table is unreadable", "data", "atlas/ingest/export.py", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0x92"),
    ("answer cut off at the max token limit mid-list", "answer", "atlas/llm.py", ""),
    ("the slack thread context was not passed, so a follow-up question lost its subject", "input", "atlas/slack.py", ""),
    ("search index was rebuilding during the request and returned partial results", "infrastructure", "atlas/index.py", "IndexNotReady: shard 3 recovering"),
    ("the bot refused to answer a benign question about firewall rules as 'security sensitive'", "reasoning", "atlas/prompts/system.md", ""),
    ("a code block in the answer lost its indentation and the YAML is invalid", "answer", "atlas/render.py", ""),
    ("query rewriting dropped the negation ('not deprecated') and fetched deprecated pages", "query-generation", "atlas/prompts/rewrite.md", ""),
    ("wrong team tagged as owner because the ownership page has two conflicting tables", "data", "atlas/ingest/owners.py", ""),
    ("timeout calling the jira connector for linked tickets", "tool-execution", "atlas/connectors/jira.py", "ReadTimeout: jira.internal:443"),
    ("answer recommends a script that was removed from the repo last month", "data", "atlas/ingest/repo.py", ""),
    ("bot answered a different question from earlier in the conversation", "planning", "atlas/memory.py", ""),
    ("the user's question had two parts and only the first was addressed", "planning", "atlas/prompts/answer.md", ""),
    ("misread a diagram's alt text as the procedure", "reasoning", "atlas/prompts/answer.md", ""),
    ("dates in the answer are in US format for a European team", "answer", "atlas/render.py", ""),
    ("pdf attachment on the wiki page was never indexed", "data", "atlas/ingest/attachments.py", ""),
    ("KeyError: 'space_key' while building the link for a personal space page", "tool-execution", "atlas/links.py", "KeyError: 'space_key'"),
    ("the bot gave the on-call phone number of a team that was dissolved", "data", "atlas/ingest/owners.py", ""),
    ("rate limited by the LLM provider; fallback model gave a vague answer", "infrastructure", "atlas/llm.py", "429 rate_limit_error"),
    ("the answer cites the right page but the quoted threshold (80%) is from an older revision", "retrieval", "atlas/retrieve.py", ""),
    ("user asked for a command for macOS and got the Linux one", "reasoning", "atlas/prompts/answer.md", ""),
    ("markdown link syntax broken in the Slack rendering", "answer", "atlas/slack.py", ""),
    ("the synonyms list maps 'pg' to 'page' instead of 'postgres'", "query-generation", "atlas/query/synonyms.py", ""),
    ("graph of related pages loops, the planner visited the same page five times", "planning", "atlas/planner.py", ""),
    ("bot claimed the feature flag is on; the flags service was not consulted", "tool-execution", "atlas/tools/flags.py", ""),
    ("answer hedges so much that the user could not tell yes from no", "answer", "atlas/prompts/answer.md", ""),
    ("wrong unit: reported latency in seconds where the page says milliseconds", "reasoning", "atlas/prompts/answer.md", ""),
    ("the request came from a bot account with no profile; personalisation crashed", "input", "atlas/users.py", "AttributeError: 'NoneType' object has no attribute 'team'"),
    ("retrieval found the runbook but the answer skipped the rollback step", "reasoning", "atlas/prompts/answer.md", ""),
]


def _hedge(rng: random.Random) -> str:
    return rng.choice(["", " (fairly sure)", " - probably", " I think", " as far as I can tell"])


STYLES = [
    lambda f, c, r: f"Finding: {f}. Suggested fix: {c}.",
    lambda f, c, r: f"- what broke: {f}\n- fix: {c}{_hedge(r)}",
    lambda f, c, r: f"{f[0].upper()}{f[1:]}{_hedge(r)}.",
    lambda f, c, r: f"Hypothesis{_hedge(r)}: {f}. The user received an answer that does not match the reference.",
]


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _trace(rng: random.Random, question: str, answer: str, error: str | None) -> dict[str, Any]:
    trace_id = _hex(rng, 32)
    base = 1_770_000_000_000_000_000 + rng.randint(0, 10**15)

    def span(name: str, attrs: dict[str, str], parent: str | None, err: str | None = None) -> dict[str, Any]:
        s: dict[str, Any] = {"traceId": trace_id, "spanId": _hex(rng, 16), "name": name, "kind": 1,
                             "startTimeUnixNano": str(base), "endTimeUnixNano": str(base + 5_000_000),
                             "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
                             "status": {"code": 2, "message": err} if err else {"code": 1}}
        if parent:
            s["parentSpanId"] = parent
        return s

    root = span("atlas.ask", {"input.value": question, "output.value": answer}, None)
    spans = [root, span("atlas.retrieve", {"input.value": question}, root["spanId"], error),
             span("atlas.llm", {"gen_ai.prompt": question, "gen_ai.completion": answer}, root["spanId"])]
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "atlas-qa"}}]},
                               "scopeSpans": [{"scope": {"name": "atlas"}, "spans": spans}]}]}


def _analysis(rng: random.Random, cause: str | None, noise: int | None) -> dict[str, Any]:
    if cause:
        finding, stage, path, line, sig, change = rng.choice(PHRASES[cause])
        if sig and rng.random() < 0.4:  # not every analyst copies the error
            sig = ""
    else:
        finding, stage, path, sig = NOISE[noise or 0]
        line = None
        change = rng.choice(["add an eval for this question", "tighten the answer prompt", "handle this input"])
    style = rng.choice(STYLES)
    text = style(finding, change, rng)
    return {"verdict": "wrong", "failure_mode": text, "error_signature": sig or None, "stage": stage,
            "first_wrong_step": None,
            "suspected": [{"kind": "prompt" if path.endswith(".md") else "component", "path": path, "line": line}],
            "evidence": [{"path": "trace/README.md"}], "proposed_change": change,
            "confidence": round(rng.uniform(0.4, 0.95), 2), "summary": finding}


def generate(out: Path, seed: int = 5, count: int = 200) -> None:
    rng = random.Random(seed)
    failures = round(count * FAILURE_RATE)
    n_noise = min(len(NOISE), round(failures * NOISE_SHARE))
    accounts = [ACCOUNTS[i % len(ACCOUNTS)] for i in range(count)]
    rng.shuffle(accounts)
    slots: list[tuple[str | None, int | None]] = [(None, None)] * count
    order = list(range(count))
    rng.shuffle(order)
    local = [i for i in order if accounts[i] == LOCAL][:max(1, round(failures * SHARES["reranker-oom"]))]
    for i in local:
        slots[i] = ("reranker-oom", None)
    free = [i for i in order if i not in set(local)]
    for cause, share in SHARES.items():
        if cause != "reranker-oom":
            for _ in range(max(1, round(failures * share))):
                slots[free.pop()] = (cause, None)
    for k in rng.sample(range(len(NOISE)), n_noise):
        slots[free.pop()] = (None, k)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, analyses = [], [], []
    for n, (cause, noise) in enumerate(slots, 1):
        inv = f"q-{n:04d}"
        wrong = cause is not None or noise is not None
        question = rng.choice(["How do I rotate the kafka certs?", "Who owns billing-gw?",
                               "What changed in the deploy policy last quarter?", "Where is the DR runbook?"])
        answer = "See the linked page." if wrong else "Here are the steps from the runbook."
        err = NOISE[noise][3] if noise is not None and NOISE[noise][3] else None
        (out / "traces" / f"{inv}.json").write_text(json.dumps(_trace(rng, question, answer, err)))
        manifest.append({"id": inv, "account": accounts[n - 1], "trace": f"traces/{inv}.json", "answer": answer,
                         "truth": "reference answer", "verdict": "wrong" if wrong else "correct",
                         "score": 0.0 if wrong else 1.0})
        planted.append({"id": inv, "account": accounts[n - 1], "cause": cause, "noise": noise})
        if wrong:
            analyses.append({"id": inv, **_analysis(rng, cause, noise)})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))
    (out / "templated.jsonl").write_text("".join(json.dumps(a) + "\n" for a in analyses))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    generate(a.out, a.seed, a.count)
