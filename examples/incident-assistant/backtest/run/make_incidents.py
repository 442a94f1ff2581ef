"""Write `incidents.jsonl`: 60 recorded incidents the assistant is backtested on (`--check`: no drift).

Each incident is what production had when the alert fired (the alert, the tenant, the service's log
lines from the alert window) and the postmortem's truth (the component at fault). They differ the way
real incidents do: most are one failing dependency; some cascade (the failing dependency's errors
first, then the errors it causes further down); two tenants' services log through a Java logger
(`level=ERROR`); the JVM services write long lines with the component last; some alerts are critical.
Nothing here says which ones the assistant gets wrong: that is up to its prompts and code.
Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "incidents.jsonl"
SEED = 20261203
ACCOUNTS = ("acme", "globex", "hooli", "stark", "wayne", "tyrell")
JAVA_LOGGING = ("initech", "umbrella")  # tenants whose services log with a Java logger (upper-case levels)
SERVICES = ("payments", "checkout", "orders", "auth", "gateway", "inventory")
JVM_SERVICES = ("search", "ledger")
CAUSES = [  # (component at fault, what its errors say, the postmortem's words)
    ("card-processor", "TLS handshake failed: certificate expired", "an expired TLS certificate on the card processor"),
    ("orders-db", "connection pool exhausted (50/50 in use)", "the orders-db connection pool ran dry"),
    ("coredns", "lookup fraud-score.prod.svc: i/o timeout", "DNS lookups through coredns timed out"),
    ("redis-cache", "OOM command not allowed: used memory > maxmemory", "redis-cache hit its memory limit"),
    ("kafka", "consumer group rebalancing, lag 812k messages", "a Kafka consumer group stuck rebalancing"),
    ("geo-api", "upstream returned 429 too many requests", "the geo-api rate limit"),
    ("config-loader", "invalid RETRY_BACKOFF=5 s: unknown unit", "a bad config value in the last deploy"),
    ("data-volume", "write failed: no space left on device /data", "a full data volume"),
]
SYMPTOMS = [  # what a cascade's downstream errors say (a different component from the cause's)
    ("api-handler", "request failed: upstream unavailable (503)"),
    ("worker-pool", "job aborted after 3 retries: dependency down"),
    ("http-client", "circuit breaker open: calls rejected"),
]
INFO = ['level=info component=http msg="GET /api/items 200 14ms"', 'level=info component=http msg="POST /api/orders 201 52ms"',
        'level=debug component=cache msg="hit key=user/42"', 'level=info component=runtime msg="gc pause 31ms"',
        'level=info component=health msg="ok"']
JVM_TAIL = ("at com.example.{svc}.Client.call(Client.java:{n}) at com.example.{svc}.Pool.borrow(Pool.java:88) "
            "at java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)")
# shape -> how many incidents; a shape is a kind of incident, not a failure
SHAPES = [("single", 24), ("cascade", 12), ("java-logger", 10), ("jvm", 8), ("critical", 6)]


def _line(ts: datetime, service: str, text: str) -> str:
    return f'{ts.strftime("%Y-%m-%dT%H:%M:%SZ")} {{service_name="{service}", namespace="prod"}} {text}'


def _errors(shape: str, cause: tuple[str, str, str], service: str, rng: random.Random) -> list[tuple[int, str]]:
    component, message, _ = cause
    level = "ERROR" if shape == "java-logger" else "error"
    if shape == "jvm":
        tail = JVM_TAIL.format(svc=service, n=rng.randint(100, 400))
        return [(rng.randint(60, 900), f'level=error msg="{message}: {tail}" component={component}')
                for _ in range(rng.randint(3, 5))]
    first = rng.randint(60, 300)
    own = [(first + 40 * k + rng.randint(0, 30), f'level={level} component={component} msg="{message}"')
           for k in range(rng.randint(2, 4))]
    if shape != "cascade":
        return own
    symptom, said = rng.choice(SYMPTOMS)
    later = max(t for t, _ in own) + 30
    return own + [(later + 35 * k + rng.randint(0, 20), f'level=error component={symptom} msg="{said}"')
                  for k in range(rng.randint(3, 5))]


def incident(n: int, shape: str, rng: random.Random) -> dict[str, object]:
    account = rng.choice(JAVA_LOGGING if shape == "java-logger" else ACCOUNTS)
    service = rng.choice(JVM_SERVICES if shape == "jvm" else SERVICES)
    cause = CAUSES[(n * 5 + rng.randint(0, 2)) % len(CAUSES)]
    severity = "critical" if shape == "critical" else "warning"
    fired = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=7 * n, minutes=rng.randint(0, 59))
    start = fired - timedelta(minutes=20)
    timed = [(rng.randint(0, 1200), rng.choice(INFO)) for _ in range(rng.randint(8, 16))]
    timed += _errors(shape, cause, service, rng)
    logs = [_line(start + timedelta(seconds=t), service, text) for t, text in sorted(timed)]
    alert = (f"[{severity}] {service} error rate above 5% for 10 minutes (account {account}, fired "
             f"{fired.strftime('%H:%M')} UTC) severity={severity} service_name={service}")
    component, _, words = cause
    return {"id": f"inc-{n:03d}", "account": account,
            "input": {"alert": alert, "service": service, "severity": severity, "tenant": account,
                      "fired_at": fired.isoformat(), "logs": logs},
            "truth": f"Root cause: {words}. Component at fault: {component}.",
            "expected": {"component": component}, "metadata": {"service": service, "severity": severity}}


def shapes(rng: random.Random | None = None) -> dict[str, str]:
    """Each incident's shape by id (what a test compares the backtest's cohorts with)."""
    order = [shape for shape, count in SHAPES for _ in range(count)]
    (rng or random.Random(SEED)).shuffle(order)
    return {f"inc-{n:03d}": shape for n, shape in enumerate(order, 1)}


def generate() -> str:
    rng = random.Random(SEED)
    plan = shapes(rng)
    return "".join(json.dumps(incident(n, shape, rng), ensure_ascii=False) + "\n"
                   for n, shape in enumerate(plan.values(), 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if incidents.jsonl differs from what this writes")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("incidents.jsonl is up to date" if same else "incidents.jsonl differs: run make_incidents.py")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines())} incidents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
