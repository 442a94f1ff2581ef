#!/usr/bin/env python3
"""Generate the example backtest: investigations the incident assistant ran, with planted failures.

Each investigation is one run of the assistant (summarise the alert, write a LogQL query, query Loki
and Prometheus, propose a root cause), written as an OTLP/JSON trace with OTel GenAI attributes, plus
one line of `manifest.jsonl` (answer, truth, verdict). Some runs fail for a planted cause:

  systemic (many accounts)                          account-specific (one account)
  logql-missing-parser    LogQL filter, no parser   northwind-clock-skew   tenant logs in UTC+9
  loki-timeout            24h window times out      umbrella-app-label     tenant labels by `app`
  anchors-on-first-error  root cause = first line

`planted.jsonl` records each investigation's cause (for tests; it is not part of the manifest).
Same seed, same bytes: `python generate.py --seed 7 --count 200 --out DIR`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ACCOUNTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell",
            "cyberdyne", "soylent", "northwind", "contoso", "fabrikam", "vandelay", "oscorp",
            "aperture", "blackmesa", "massive", "gringotts"]
SERVICES = ["checkout", "payments", "search", "gateway", "auth", "inventory", "notifications"]
CAUSES = {  # cause -> (scope, share of investigations in accounts it applies to)
    "logql-missing-parser": ("systemic", 0.11),
    "loki-timeout": ("systemic", 0.09),
    "anchors-on-first-error": ("systemic", 0.08),
    "northwind-clock-skew": ("account", 0.8),
    "umbrella-app-label": ("account", 0.8),
}
ACCOUNT_CAUSE = {"northwind": "northwind-clock-skew", "umbrella": "umbrella-app-label"}
REAL_CAUSES = {  # what actually broke, as the postmortem says
    "checkout": ("a deploy of checkout v{v} that removed a connection-pool limit", "db connection pool"),
    "payments": ("an expired TLS certificate on the card processor endpoint", "payments-gateway TLS"),
    "search": ("an index rebuild that saturated the search cluster's disk I/O", "search index"),
    "gateway": ("a rate-limit config push that dropped 30% of requests", "gateway rate limiter"),
    "auth": ("a token-signing key rotation that old pods did not pick up", "auth key rotation"),
    "inventory": ("a slow migration that locked the stock table", "inventory database"),
    "notifications": ("a queue consumer crash loop after an SDK upgrade", "notification consumer"),
}


def _example_generator() -> ModuleType:
    """The example's own trace generator (../scripts/generate.py): its OTLP TraceBuilder is reused here."""
    path = Path(__file__).resolve().parent.parent / "scripts" / "generate.py"
    spec = importlib.util.spec_from_file_location("incident_assistant_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


TraceBuilder = _example_generator().TraceBuilder
CLIENT, INTERNAL = 3, 1  # OTLP span kinds


def _chat(tb: Any, parent: str, prompt: str, user: str, answer: str, ms: int) -> str:
    return tb.span(f"chat {prompt}", CLIENT, {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.prompt.template": f"prompts/{prompt}.md",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": user}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant",
                                               "parts": [{"type": "text", "content": answer}]}]),
        "gen_ai.usage.input_tokens": 300 + len(user) // 4, "gen_ai.usage.output_tokens": 40 + len(answer) // 4,
    }, ms, parent)


def _tool(tb: Any, parent: str, name: str, args: dict[str, object], result: str, ms: int,
          error: str | None = None) -> str:
    return tb.span(f"execute_tool {name}", INTERNAL, {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
        "gen_ai.tool.call.arguments": json.dumps(args), "gen_ai.tool.call.result": result}, ms, parent, error)


def _investigation(rng: random.Random, n: int, account: str, cause: str | None) -> dict[str, object]:
    service = rng.choice(SERVICES)
    version = f"2.{rng.randint(1, 40)}.{rng.randint(0, 9)}"
    real, component = REAL_CAUSES[service]
    real = real.format(v=version)
    hour = rng.randint(0, 23)
    alert = f"{service} error rate above 5% for 10 minutes (account {account}, {hour:02d}:{rng.randint(0, 59):02d} UTC)"
    field = rng.choice(["status", "latency_ms"])
    tb = TraceBuilder(name=f"backtest/inv-{n:04d}", spans=[], clock_ms=n * 3_600_000)
    root = tb.span("invoke_agent incident-assistant", INTERNAL, {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "incident-assistant",
        "incident.alert": alert, "tenant": account}, 5, None)
    _chat(tb, root, "summarise-alert", alert, f"{service} is failing requests for {account}.", 900)
    query = f'sum(rate({{service_name="{service}"}} | logfmt | {field} >= 500 [5m]))'
    window = "1h"
    if cause == "logql-missing-parser":
        query = f'sum(rate({{service_name="{service}"}} | {field} >= 500 [5m]))'
    if cause == "loki-timeout":
        window = "24h"
    _chat(tb, root, "logql", f"Question: why is {service} failing?", query, 700)
    evidence = [f"ts={hour:02d}:0{i} level=error service={service} msg=\"{m}\"" for i, m in
                enumerate(["upstream reset", "request failed", f"root: {component} degraded"])]
    loki_args = {"query": query, "range": window, "tenant": account}
    if cause == "logql-missing-parser":
        _tool(tb, root, "loki.query", loki_args, "", 40,
              error=f"parse error at line 1, col {30 + len(service)}: syntax error: unexpected IDENTIFIER "
                    f"{field}, label filter needs a parser stage such as | logfmt")
    elif cause == "loki-timeout":
        _tool(tb, root, "loki.query", loki_args, "", 30_000,
              error="context deadline exceeded (Client.Timeout exceeded while awaiting headers) "
                    f"after 30s querying {window} of {service}")
    elif cause == "northwind-clock-skew":
        _tool(tb, root, "loki.query", loki_args, "", 300,
              error=f"EmptyResult: no log lines for {service} in range {hour:02d}:00Z-{(hour + 1) % 24:02d}:00Z; "
                    f"newest line in tenant stream is {(hour + 9) % 24:02d}:12+09:00")
    elif cause == "umbrella-app-label":
        _tool(tb, root, "loki.query", loki_args, "", 200,
              error=f'EmptyResult: no streams matched {{service_name="{service}"}}; '
                    "labels indexed for this tenant: app, env, pod")
    else:
        _tool(tb, root, "loki.query", loki_args, "\n".join(evidence), 800)
    _tool(tb, root, "prometheus.query", {"query": f'rate(http_requests_total{{service="{service}",code=~"5.."}}[5m])'},
          f"{service}: 0.{rng.randint(6, 40):02d} errors/s", 250)
    if cause in (None, "anchors-on-first-error"):
        lines = evidence if cause is None else evidence[:1]
        guess = component if cause is None else "upstream connection resets"
    else:
        lines, guess = [], "insufficient evidence (no logs retrieved)"
    answer = json.dumps({"root_cause": f"{guess} caused the {service} errors",
                         "component": guess, "confidence": 0.7 if lines else 0.2, "evidence": lines})
    _chat(tb, root, "root-cause", f"Alert: {alert}\nEvidence:\n" + "\n".join(evidence), answer, 1500)
    return {"trace": tb.document(), "service": service, "answer": answer,
            "truth": f"Root cause: {real}. Component at fault: {component}.", "alert": alert}


def _pick_cause(rng: random.Random, account: str) -> str | None:
    own = ACCOUNT_CAUSE.get(account)
    if own is not None:
        return own if rng.random() < CAUSES[own][1] else None
    roll = rng.random()
    for cause, (scope, share) in CAUSES.items():
        if scope == "systemic":
            if roll < share:
                return cause
            roll -= share
    return None


def generate(out: Path, seed: int = 7, count: int = 200, accounts: int = 20) -> None:
    rng = random.Random(seed)
    names = ACCOUNTS[:accounts] if accounts <= len(ACCOUNTS) else \
        ACCOUNTS + [f"account-{i:03d}" for i in range(len(ACCOUNTS), accounts)]
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted = [], []
    for n in range(1, count + 1):
        account = names[(n - 1) % len(names)] if n <= len(names) else rng.choice(names)
        cause = _pick_cause(rng, account)
        inv = _investigation(rng, n, account, cause)
        inv_id = f"inv-{n:04d}"
        trace_path = out / "traces" / f"{inv_id}.json"
        trace_path.write_text(json.dumps(inv["trace"], separators=(",", ":")) + "\n")
        manifest.append({"id": inv_id, "account": account, "trace": f"traces/{inv_id}.json",
                         "answer": inv["answer"], "truth": inv["truth"],
                         "verdict": "wrong" if cause else "correct", "score": 0.0 if cause else 1.0,
                         "metadata": {"alert": inv["alert"], "service": inv["service"],
                                      "assistant_version": "0.3.1"}})
        planted.append({"id": inv_id, "account": account, "cause": cause,
                        "scope": CAUSES[cause][0] if cause else None})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted([out / "manifest.jsonl", out / "planted.jsonl", *(out / "traces").glob("*.json")]):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    generate(args.out, args.seed, args.count, args.accounts)
    print(f"wrote {args.count} investigations to {args.out} (sha256 {digest(args.out)[:12]})")


if __name__ == "__main__":
    main()
