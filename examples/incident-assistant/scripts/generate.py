"""Generate the example's captured data, deterministically: same code in, same bytes out.

    python scripts/generate.py            # small files kept in git: traces/, evals/sut.script.yaml
    python scripts/generate.py --big      # also evals/root-cause.yaml (~5 MB, git-ignored here)
    python scripts/generate.py --check    # exit 1 if a committed file differs from what this writes

What it writes:
- `evals/root-cause.yaml`: the root-cause suite, 40 incidents captured from production, each with
  ~125 KB of logs as its `evidence` variable: one ~5 MB file, the size at which an agent can no longer
  read a suite whole (the reason `agentbook eval` exists). It is generated rather than committed so
  agentbook's own repository stays lean; `scripts/make_repo.py` generates it before the first commit
  of a copied-out example, so there it is an ordinary committed file.
- `traces/*.otlp.json`: four investigations as OTLP/JSON (OTel GenAI conventions), one of them the
  failure the example ticket is about.
- `evals/sut.script.yaml`: the scripted stand-in for the production model (see its header): the
  answers captured with the eval cases, then the production model's prompt rules, read from
  `backtest/run/production.script.yaml` (the one place they are written), so the evals and the
  backtest run the same model and a prompt fix that passes the one moves the other.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIG_SUITE = "evals/root-cause.yaml"
PRODUCTION = "backtest/run/production.script.yaml"  # the production model's prompt rules (hand-written)
T0_NS = 1_790_000_000_000_000_000  # 2026-09-21T13:46:40Z, a fixed start so output never changes
MODEL = "claude-haiku-4-5"

# --------------------------------------------------------------------------------------------------
# Root-cause incidents: each a planted cause (signal lines) buried in ordinary production noise.


@dataclass(frozen=True)
class Cause:
    slug: str
    component: str
    keyword: str  # what a correct root cause must mention (icontains)
    summary: str
    signal: tuple[str, ...]  # log lines (templates) that point at the cause


CAUSES = (
    Cause("db-pool", "orders-db", "connection pool", "connection pool of orders-db exhausted",
          (("level=ERROR msg=\"acquire connection\" pool=orders-db err=\"timeout after 5000ms: pool exhausted"
           " (50/50 in use)\""),
           "level=WARN msg=\"slow query\" db=orders-db duration_ms=8123 query=\"SELECT ... FOR UPDATE\"")),
    Cause("oom", "{svc}", "memory", "{svc} killed by the OOM killer after a memory leak",
          ("reason=OOMKilled container={svc} limit=512Mi restarts={n} msg=\"container exceeded its memory limit\"",
           "level=WARN msg=\"heap usage high\" heap_mb={heap} limit_mb=512")),
    Cause("dns", "coredns", "dns", "DNS resolution failures from coredns",
          ("level=ERROR msg=\"dial tcp: lookup {dep}.prod.svc.cluster.local: i/o timeout\" resolver=coredns",
           "level=WARN plugin=errors msg=\"{dep}.prod.svc.cluster.local. A: read udp: i/o timeout\"")),
    Cause("cert", "{dep}", "certificate", "TLS certificate of {dep} expired",
          ("level=ERROR msg=\"x509: certificate has expired or is not yet valid\" upstream={dep}",
           "level=ERROR msg=\"tls handshake failed\" upstream={dep} not_after=2026-09-21T00:00:00Z")),
    Cause("bad-config", "{svc}", "config", "a bad config value shipped with the latest deploy of {svc}",
          ("level=FATAL msg=\"invalid config\" key=RETRY_BACKOFF value=\"5 s\" err=\"time: unknown unit\"",
           "reason=CrashLoopBackOff container={svc} restarts={n} image_tag=v{ver}")),
    Cause("rate-limit", "{dep}", "rate limit", "the third-party API {dep} is rate limiting us (HTTP 429)",
          ("level=ERROR msg=\"rate limited: upstream returned 429 Too Many Requests\" upstream={dep} retry_after=30",
           "level=WARN msg=\"circuit open\" upstream={dep} failures=120")),
    Cause("disk", "{svc}", "disk", "the data volume of {svc} is full",
          ("level=ERROR msg=\"write failed\" path=/data/segments err=\"no space left on device\"",
           "level=WARN msg=\"disk usage\" volume=/data used_pct=99.{n}")),
    Cause("kafka-lag", "{svc}", "consumer lag", "{svc} consumers fell behind: Kafka consumer lag grows",
          ("level=WARN msg=\"consumer lag\" group={svc}-workers topic=orders lag={lag}",
           "level=ERROR msg=\"rebalance in progress\" group={svc}-workers member_count=0")),
)
SERVICES = ("checkout", "payments", "search", "auth", "gateway", "orders", "inventory", "shipping")
DEPENDENCIES = ("stripe-api", "geo-api", "mail-relay", "ledger", "fraud-score")
ACCOUNTS = ("acme-retail", "globex", "initech", "umbrella", "hooli")
NOISE = (
    "level=INFO msg=\"request\" method=GET path=/api/{path} status=200 latency_ms={ms} trace_id={tid}",
    "level=INFO msg=\"request\" method=POST path=/api/{path} status=201 latency_ms={ms} trace_id={tid}",
    "level=DEBUG msg=\"cache hit\" key={path}:{n} ttl_s=300",
    "level=INFO msg=\"health check\" status=ok uptime_s={n}",
    "level=WARN msg=\"retrying\" attempt=1 upstream={dep} err=\"context deadline exceeded\"",
    "level=INFO msg=\"gc\" pause_ms={gc} heap_mb={heap}",
    "level=INFO msg=\"request\" method=GET path=/api/{path} status=404 latency_ms={ms} trace_id={tid}",
)
PATHS = ("cart", "items", "session", "search", "orders", "user/profile", "inventory/sku")
SIGNAL_EVERY = 97  # one signal line in this many: a real needle in a real haystack
# Incidents the production model gets wrong (it blames the noise): the suite's known failures.
MODEL_MISSES = {7, 23}


def _fill(template: str, rng: random.Random, svc: str, dep: str) -> str:
    return template.format(
        svc=svc, dep=dep, path=rng.choice(PATHS), ms=rng.randint(3, 900), tid=f"{rng.getrandbits(64):016x}",
        n=rng.randint(1, 9), gc=rng.randint(1, 40), heap=rng.randint(180, 510), ver=f"2.{rng.randint(1, 40)}.0",
        lag=rng.randint(20_000, 900_000))


def _evidence(rng: random.Random, cause: Cause, svc: str, dep: str, t0_s: int, lines: int) -> Iterator[str]:
    for i in range(lines):
        ts = t0_s + i * 3 // 10
        stamp = f"2026-09-21T{(ts // 3600) % 24:02d}:{(ts // 60) % 60:02d}:{ts % 60:02d}Z"
        source = svc if rng.random() < 0.7 else rng.choice(SERVICES)
        if i % SIGNAL_EVERY == SIGNAL_EVERY // 2:
            line = _fill(rng.choice(cause.signal), rng, svc, dep)
        else:
            line = _fill(rng.choice(NOISE), rng, svc, dep)
        yield f"{stamp} {{service_name=\"{source}\", namespace=\"prod\"}} {line}"


@dataclass(frozen=True)
class Incident:
    index: int
    case_id: str
    cause: Cause
    svc: str
    dep: str
    account: str
    alert: str
    evidence: str

    @property
    def component(self) -> str:
        return self.cause.component.format(svc=self.svc, dep=self.dep)

    @property
    def root_cause(self) -> str:
        return self.cause.summary.format(svc=self.svc, dep=self.dep)


def incidents(count: int = 40, lines: int = 830) -> list[Incident]:
    rng = random.Random(20260921)
    out = []
    for i in range(1, count + 1):
        cause = CAUSES[(i - 1) % len(CAUSES)]
        svc, dep = rng.choice(SERVICES), rng.choice(DEPENDENCIES)
        alert = json.dumps({"status": "firing", "labels": {
            "alertname": rng.choice(("ErrorRateHigh", "HighLatencyP99", "PodRestarting")),
            "severity": rng.choice(("critical", "warning")), "service_name": svc, "namespace": "prod"},
            "annotations": {"summary": f"{svc} degraded since 2026-09-21"}}, sort_keys=True)
        evidence = "\n".join(_evidence(rng, cause, svc, dep, 49_600 + i * 600, lines))
        out.append(Incident(i, f"rc-{i:03d}-{cause.slug}", cause, svc, dep, ACCOUNTS[i % len(ACCOUNTS)],
                            alert, evidence))
    return out


def _block(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else "" for line in text.split("\n"))


def root_cause_suite(items: list[Incident]) -> str:
    parts = [
        ("# Root cause from captured evidence. ~5 MB in one file: 40 incidents captured from production,\n"
        "# each with ~125 KB of logs. Generated by scripts/generate.py --big; do not edit by hand here,\n"
        "# edit single cases with `agentbook eval edit` in a copied-out repo.\n"
        "description: Propose the root cause of an incident from captured logs\n"
        "prompts:\n  - file://../prompts/root-cause.md\n"
        "providers:\n  - id: anthropic:messages:claude-haiku-4-5\n    config: {temperature: 0}\n"
        "defaultTest:\n  assert:\n    - type: is-json\n"
        "tests:\n")]
    for inc in items:
        parts.append(
            f"  - id: {inc.case_id}\n"
            f"    description: {json.dumps(f'{inc.root_cause} ({inc.account})')}\n"
            f"    vars:\n"
            f"      alert: '{inc.alert}'\n"
            f"      evidence: |\n{_block(inc.evidence, '        ')}\n"
            f"    assert:\n"
            f"      - type: icontains\n        value: {json.dumps(inc.cause.keyword)}\n"
            f"      - type: icontains\n        value: {json.dumps(inc.component)}\n"
            f"    metadata: {{account: {inc.account}, captured_from: inv-{1000 + inc.index}}}\n")
    return "".join(parts)


def root_cause_answer(inc: Incident) -> str:
    """What the production model answers for an incident (wrong, on purpose, for MODEL_MISSES)."""
    lines = [ln for ln in inc.evidence.split("\n") if inc.cause.keyword.split()[0] in ln.lower()][:2]
    if inc.index in MODEL_MISSES:
        return json.dumps({"root_cause": f"Retries against {inc.dep} time out under load.",
                           "component": inc.dep, "confidence": 0.4,
                           "evidence": [ln for ln in inc.evidence.split("\n") if "retrying" in ln][:2]})
    return json.dumps({"root_cause": inc.root_cause[0].upper() + inc.root_cause[1:] + ".",
                       "component": inc.component, "confidence": 0.8, "evidence": lines})


# --------------------------------------------------------------------------------------------------
# Traces: four investigations of the incident assistant as OTLP/JSON.

LOKI_EMPTY = json.dumps({"status": "success", "data": {"resultType": "streams", "result": []}})


def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}}


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


@dataclass
class TraceBuilder:
    name: str
    spans: list[dict[str, object]]
    clock_ms: int = 0

    def span(self, name: str, kind: int, attrs: dict[str, object], ms: int, parent: str | None,
             error: str | None = None) -> str:
        span_id = _hex(f"{self.name}/{len(self.spans)}/{name}", 16)
        start = T0_NS + self.clock_ms * 1_000_000
        self.clock_ms += ms
        span: dict[str, object] = {
            "traceId": _hex(self.name, 32), "spanId": span_id, "name": name, "kind": kind,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + ms * 1_000_000),
            "attributes": [_attr(k, v) for k, v in attrs.items()],
            "status": {"code": 2, "message": error} if error else {"code": 1}}
        if parent:
            span["parentSpanId"] = parent
        self.spans.append(span)
        return span_id

    def chat(self, prompt: str, user: str, answer: str, parent: str, tokens: tuple[int, int]) -> str:
        return self.span(f"chat {prompt}", 3, {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": MODEL, "gen_ai.response.model": MODEL,
            "gen_ai.usage.input_tokens": tokens[0], "gen_ai.usage.output_tokens": tokens[1],
            "gen_ai.prompt.name": prompt, "incident_assistant.prompt.file": f"prompts/{prompt}.md",
            "gen_ai.input.messages": _messages("user", user),
            "gen_ai.output.messages": _messages("assistant", answer)}, 900 + tokens[1] * 4, parent)

    def tool(self, args: dict[str, object], result: str, parent: str, error: str | None = None) -> str:
        return self.span("execute_tool loki_query_range", 1, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "loki_query_range",
            "gen_ai.tool.call.arguments": args, "gen_ai.tool.call.result": result}, 350, parent, error)

    def document(self) -> dict[str, object]:
        return {"resourceSpans": [{
            "resource": {"attributes": [_attr("service.name", "incident-assistant"),
                                        _attr("service.version", "1.8.2")]},
            "scopeSpans": [{"scope": {"name": "incident_assistant", "version": "1.8.2"},
                            "spans": self.spans}]}]}


@dataclass(frozen=True)
class Investigation:
    name: str
    alert: dict[str, object]
    question: str
    query: str
    loki: list[tuple[str, str | None]]  # (result, error) per attempt
    verdict: dict[str, object]


def _loki_result(lines: list[str]) -> str:
    return json.dumps({"status": "success", "data": {"resultType": "streams", "result": [
        {"stream": {"service_name": ln.split('"')[1]}, "values": [["1790000000000000000", ln]]} for ln in lines]}})


INVESTIGATIONS = (
    Investigation(
        "inv-0142-checkout-errors",
        {"alertname": "ErrorRateHigh", "severity": "critical", "service_name": "checkout",
         "summary": "5xx ratio 7.9% over 5m (threshold 2%)"},
        "Show me errors from checkout in the last hour", '{service_name="checkout"} |= "error"',
        [(LOKI_EMPTY, None)],
        {"root_cause": "No errors were found in the checkout logs; the alert is likely a false positive.",
         "component": "checkout", "confidence": 0.2, "evidence": []}),
    Investigation(
        "inv-0143-payments-timeouts",
        {"alertname": "HighLatencyP99", "severity": "warning", "service_name": "payments",
         "summary": "p99 latency 3.2s over 5m (threshold 1s)"},
        "Show me the timeout lines from payments", '{service_name="payments"} |= "timeout"',
        [(_loki_result([('{service_name="payments"} level=ERROR msg="upstream timeout" upstream=stripe-api '
                        'latency_ms=5000')]), None)],
        {"root_cause": "stripe-api responds slowly; payments requests time out waiting for it.",
         "component": "stripe-api", "confidence": 0.7,
         "evidence": ['level=ERROR msg="upstream timeout" upstream=stripe-api latency_ms=5000']}),
    Investigation(
        "inv-0144-search-disk",
        {"alertname": "DiskAlmostFull", "severity": "warning", "service_name": "search",
         "summary": "volume /data 93% full on search-indexer-2"},
        "Show the disk write failures from search", '{service_name="search"} |= "no space left"',
        [("", "loki: 504 Gateway Timeout after 30s"),
         (_loki_result([('{service_name="search"} level=ERROR msg="write failed" path=/data/segments '
                        'err="no space left on device"')]), None)],
        {"root_cause": "The /data volume of search-indexer-2 is full.", "component": "search",
         "confidence": 0.9, "evidence": ['level=ERROR msg="write failed" err="no space left on device"']}),
    Investigation(
        "inv-0145-auth-down",
        {"alertname": "TargetDown", "severity": "critical", "service_name": "auth",
         "summary": "3 of 3 auth targets down for 2m"},
        "Show the auth crash loop reasons", '{service_name="auth"} |= "CrashLoopBackOff"',
        [(_loki_result([('{service_name="auth"} reason=CrashLoopBackOff container=auth restarts=6 '
                        'image_tag=v2.14.0')]), None)],
        {"root_cause": "auth v2.14.0 crash-loops on start since the last deploy.", "component": "auth",
         "confidence": 0.6, "evidence": ["reason=CrashLoopBackOff container=auth restarts=6"]}),
)


LABELS = "service_name, namespace, pod, level"


def render_prompt(name: str, **variables: str) -> str:
    """The user message the assistant sent: the prompt file with its `{{var}}` placeholders filled, as
    the harness renders it, so `agentbook eval capture` recovers the variables from a span."""
    text = (ROOT / "prompts" / f"{name}.md").read_text(encoding="utf-8")
    for key, value in variables.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def trace(inv: Investigation) -> dict[str, object]:
    b = TraceBuilder(inv.name, [])
    root = b.span("invoke_agent incident-assistant", 2, {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "incident-assistant",
        "incident_assistant.investigation": inv.name, "incident_assistant.alert": inv.alert}, 0, None)
    alert_text = json.dumps(inv.alert)
    b.chat("summarise-alert", render_prompt("summarise-alert", alert=alert_text),
           f"[{inv.alert['severity']}] {inv.alert['service_name']}: {inv.alert['alertname']}\n"
           f"{inv.alert['summary']}", root, (420, 38))
    b.chat("logql", render_prompt("logql", labels=LABELS, question=inv.question), inv.query, root, (310, 16))
    results = []
    for result, error in inv.loki:
        b.tool({"query": inv.query, "since": "1h", "limit": 500}, result, root, error)
        results.append(result)
    b.chat("root-cause", render_prompt("root-cause", alert=alert_text, evidence=results[-1]),
           json.dumps(inv.verdict), root, (1850, 90))
    b.spans[0]["endTimeUnixNano"] = str(T0_NS + b.clock_ms * 1_000_000)
    return b.document()


# --------------------------------------------------------------------------------------------------
# The scripted production model: which answer each prompt gets.


def logql_answers() -> list[tuple[list[str], str]]:
    """(substrings the rendered prompt must all contain, answer). First match wins."""
    fixed = '(?i)'  # the rule a correct prompt states: severity words match case-insensitively
    return [
        ([fixed, "Question: Show me errors from checkout in the last hour"],
         '{service_name="checkout"} |~ "(?i)error"'),
        (["Question: Show me errors from checkout in the last hour"], '{service_name="checkout"} |= "error"'),
        ([fixed, "Question: How many warnings per pod did inventory log?"],
         'sum by (pod) (count_over_time({service_name="inventory"} |~ "(?i)warn" [5m]))'),
        (["Question: How many warnings per pod did inventory log?"],
         'sum by (pod) (count_over_time({service_name="inventory"} |= "warn" [5m]))'),
        (["Question: Show me the timeout lines from payments"], '{service_name="payments"} |= "timeout"'),
        (["Question: What is the rate of 5xx responses at the gateway?"],
         'sum(rate({service_name="gateway"} | logfmt | status >= 500 [5m]))'),
        (["Question: How many OOMKilled events per pod in checkout?"],
         'sum by (pod) (count_over_time({service_name="checkout"} |= "OOMKilled" [5m]))'),
        (["Question: Which search requests took longer than 2 seconds?"],
         '{service_name="search"} | logfmt | latency_ms > 2000'),
        (["Question: Show the auth service logs in the staging namespace"],
         '{service_name="auth", namespace="staging"}'),
    ]


SUMMARIES = [  # keyed by the alert's own summary annotation, whatever the prompt around it says
    ("p99 latency 2.4s over 5m (threshold 1s)",
     ("[critical] checkout: HighLatencyP99\np99 latency 2.4s over 5m (threshold 1s)\n"
     "Runbook: https://runbooks.example.com/checkout/latency")),
    ("5xx ratio 3.1% over 10m (threshold 2%)",
     "[warning] payments: ErrorRateHigh\n5xx ratio 3.1% over 10m (threshold 2%)"),
    ("volume /data 93% full on search-indexer-2",
     "[warning] search: DiskAlmostFull\nvolume /data 93% full on search-indexer-2"),
    ("3 of 3 auth targets down for 2m",
     "[critical] auth: TargetDown\n3 of 3 auth targets down for 2m\nRunbook: https://runbooks.example.com/auth/down"),
]


def sut_script(items: list[Incident]) -> str:
    from sut_format import production_sessions, render_script

    rules: list[tuple[list[str], str]] = []
    rules += [(["Grafana Loki LogQL", *needles], answer) for needles, answer in logql_answers()]
    rules += [([needle], answer) for needle, answer in SUMMARIES]
    rules += [(["most likely root cause", inc.evidence.split("\n", 1)[0]],
               root_cause_answer(inc)) for inc in items]
    # The input, not an output: read from this example, whatever --root the outputs go to.
    return render_script(rules, production_sessions(ROOT / PRODUCTION), PRODUCTION)


# --------------------------------------------------------------------------------------------------


def outputs(big: bool) -> dict[str, Callable[[], str]]:
    items = incidents()
    out: dict[str, Callable[[], str]] = {
        f"traces/{inv.name}.otlp.json": (lambda inv=inv: json.dumps(trace(inv), indent=1) + "\n")
        for inv in INVESTIGATIONS}
    out["evals/sut.script.yaml"] = lambda: sut_script(items)
    if big:
        out[BIG_SUITE] = lambda: root_cause_suite(items)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help=f"also write {BIG_SUITE} (~5 MB)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    parser.add_argument("--root", type=Path, default=ROOT, help="the example's root (default: this one)")
    args = parser.parse_args(argv)
    drift = []
    for rel, make in outputs(args.big).items():
        path, text = args.root / rel, make()
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                drift.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        print(f"wrote {rel} ({len(text.encode()):,} bytes)")
    for rel in drift:
        print(f"out of date: {rel} (run python scripts/generate.py)", file=sys.stderr)
    return 1 if drift else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
