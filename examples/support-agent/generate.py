#!/usr/bin/env python3
"""Generate a backtest of helpdesk-copilot, a customer-support agent (not the incident assistant).

Written independently of examples/incident-assistant/backtest: another system (tickets, a CRM, a
knowledge base, billing), another trace dialect (OTLP spans with OpenInference attributes, as Arize
Phoenix exports them), causes worded several ways, failures with no error text at all, and failures
that share no cause. 150 investigations over 6 accounts by default; of the failures:

  crm-timeout          31%  the CRM lookup times out (five wordings of the error); reply without the record
  stale-refund-policy  16%  the KB search returns an archived refund article (no error text)
  sek-vat-pricing       8%  one account only: prices quoted in USD without VAT (no error text)
  invented-plan         3%  the model asks billing for a plan that does not exist
  (none)              ~42%  27 failures, each with its own unrelated problem

Besides `manifest.jsonl` and `traces/`, it writes `planted.jsonl` (each investigation's cause: for
tests and benchmarks only) and `templated.jsonl`: one analysis per failure as a templated analyst
would write it (three writing styles, several phrasings per cause, none quoting the trace), which
`write_analyses` stores in an imported backtest without a model. `analyst.script.yaml` beside this
file is the other kind of analyst: a scripted one that reads the trace and reports what it found.
Same seed, same bytes: `python generate.py --seed 11 --out DIR`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path
from typing import Any

ACCOUNTS = ["brightline", "tallow", "quarry", "meridian", "oakfield", "lindqvist"]
LOCAL_ACCOUNT = "lindqvist"  # the account sek-vat-pricing happens in
SHARES = {"crm-timeout": 0.31, "stale-refund-policy": 0.16, "sek-vat-pricing": 0.08, "invented-plan": 0.03}
FAILURE_RATE = 64 / 150
NOISE_SHARE = 27 / 64
SCOPE = {"crm-timeout": "systemic", "stale-refund-policy": "systemic", "sek-vat-pricing": "account",
         "invented-plan": "systemic"}

CRM_ERRORS = [  # one cause, five wordings: what different layers of the stack report for the same timeout
    "ReadTimeout: HTTPSConnectionPool(host='crm.internal', port=443): Read timed out. (read timeout=8.0)",
    "crm.get_customer: upstream did not respond within 8000 ms",
    "DeadlineExceeded: customer lookup for {cid} aborted after 8.0s",
    "504 Gateway Timeout from crm-gateway (request {rid})",
    "socket timeout while waiting for CRM response; customer record unavailable",
]
STALE_ARTICLES = [  # the archived article the search returns, several titles
    ("KB-1043", "Refunds and cancellations (2024 terms)", "Refunds are available within 30 days of purchase."),
    ("KB-0871", "Legacy refund window", "You can ask for a refund up to 30 days after you were charged."),
    ("KB-1102", "Money-back guarantee FAQ (old)", "We refund any label credit within 30 days, no questions asked."),
]
CURRENT_ARTICLE = ("KB-2210", "Refund policy", "Refunds are available within 14 days of purchase.")
VAT_NOTES = [
    "Quoted ${usd} without VAT; this account is billed in SEK including 25% moms.",
    "Price given in US dollars, but the customer pays in kronor, VAT included.",
    "Wrong currency and tax: the reply says USD {usd}, the invoice is SEK {sek} incl. 25% VAT.",
    "The agent ignored the Swedish pricing: amounts must be in SEK with VAT, not ${usd}.",
]
REFUND_NOTES = [
    "Told the customer 30 days; the current refund window is 14 days.",
    "Quoted the old refund window from an archived article.",
    "Refund answer is outdated: policy changed from 30 to 14 days.",
]
PLAN_NAMES = ["pro-plus-annual", "enterprise-lite", "team-unlimited", "starter-plus"]

# Failures with no common cause: each is used at most once per backtest. (stage, tool that errs or
# None, error or reviewer note, the file a templated analyst blames)
NOISE: list[tuple[str, str | None, str, str]] = [
    ("input", None, "The ticket body was an email thread; the agent answered the oldest message, not the latest.",
     "support_agent/agent.py"),
    ("input", None, "Customer wrote in Portuguese; the reply is in English.", "support_agent/prompts/reply.md"),
    ("tool-execution", "translate.detect", "429 Too Many Requests: translation quota exhausted for project pw-support",
     "support_agent/agent.py"),
    ("reasoning", None, "Confused the shipping date with the billing date and apologised for a late charge.",
     "support_agent/prompts/reply.md"),
    ("answer", None, "Reply promised a callback; Parcelwise has no phone support.", "support_agent/prompts/reply.md"),
    ("tool-execution", "labels.void", "ValueError: label id 'LBL-88 12' contains a space", "support_agent/agent.py"),
    ("reasoning", None, "Asked for the order number although the customer gave it in the subject line.",
     "support_agent/agent.py"),
    ("answer", None, "The reply was cut off mid-sentence at the output token limit.", "support_agent/agent.py"),
    ("input", None, "An attached PDF invoice was not read; the question was about its line 3.",
     "support_agent/agent.py"),
    ("tool-execution", "carrier.track", "KeyError: 'events' in carrier response for DHL Express",
     "support_agent/agent.py"),
    ("reasoning", None, "Treated a sarcastic thank-you as a resolved ticket and closed it.",
     "support_agent/prompts/reply.md"),
    ("answer", None, "Linked to a help page that returns 404.", "support_agent/prompts/reply.md"),
    ("data", None, "The customer's email address in the ticket differs from the CRM; the agent refused to help.",
     "support_agent/agent.py"),
    ("tool-execution", "addresses.validate", "UnicodeEncodeError: 'ascii' codec can't encode character 'ø'",
     "support_agent/agent.py"),
    ("reasoning", None, "Recommended a bulk-label discount the customer's volume does not qualify for.",
     "support_agent/prompts/reply.md"),
    ("answer", None, "Signed the reply as a named human agent.", "support_agent/prompts/reply.md"),
    ("input", None, "Two questions in one ticket; only the second was answered.", "support_agent/agent.py"),
    ("tool-execution", "storage.fetch_attachment", "PermissionError: signed URL expired before download",
     "support_agent/agent.py"),
    ("reasoning", None, "Escalated to a supervisor a question the FAQ answers directly.",
     "support_agent/prompts/reply.md"),
    ("answer", None, "Markdown table rendered as raw pipes in the customer's mail client.",
     "support_agent/prompts/reply.md"),
    ("data", None, "Ticket was tagged with the wrong customer id by the mail gateway.", "support_agent/agent.py"),
    ("planning", None, "Called the order search eleven times with the same query and ran out of steps.",
     "support_agent/agent.py"),
    ("tool-execution", "orders.search", "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
     "support_agent/agent.py"),
    ("reasoning", None, "Mixed up two parcels from the same order and reported the wrong one as lost.",
     "support_agent/prompts/reply.md"),
    ("answer", None, "Included an internal note about fraud scoring in the customer-facing reply.",
     "support_agent/prompts/reply.md"),
    ("input", None, "Voicemail transcript was garbled; the agent guessed the request.", "support_agent/agent.py"),
    ("planning", None, "Started a plan change when the customer only asked what plans cost.",
     "support_agent/agent.py"),
    ("reasoning", None, "Counted weekend days as business days when estimating delivery.",
     "support_agent/prompts/reply.md"),
    ("tool-execution", "inventory.reserve", "TypeError: reserve() got an unexpected keyword argument 'qty'",
     "support_agent/agent.py"),
    ("answer", None, "Apologised three times and never answered the question.", "support_agent/prompts/reply.md"),
]

# Templated analysts: three writing styles, several phrasings per cause, no text from the trace.
CAUSE_PHRASES: dict[str, list[tuple[str, str, str, str, int | None, str]]] = {
    # (failure_mode, stage, proposed change, suspected path, line, signature or "")
    "crm-timeout": [
        ("The customer record never arrived: the CRM call timed out and the reply was written blind.",
         "tool-execution", "Raise the CRM timeout and retry once before replying.", "support_agent/tools/crm.py", 10,
         "Read timed out"),
        ("CRM lookup exceeded its deadline, so plan and currency were unknown when composing the answer.",
         "retrieval", "Cache customer records and fall back to the cache when the CRM is slow.",
         "support_agent/tools/crm.py", 10, "deadline exceeded"),
        ("Agent answered generically because get_customer returned nothing after a timeout.",
         "infrastructure", "Retry get_customer with backoff; do not reply without the customer record.",
         "support_agent/tools/crm.py", 16, "timeout"),
        ("Slow CRM: the customer fetch was aborted and the answer lacked account details.",
         "tool-execution", "Make the CRM client wait for the month-end p99 (11 s) or use an async lookup.",
         "support_agent/crm_client.py", None, "504 Gateway Timeout"),
        ("No customer context because the CRM request hit its time limit.",
         "infrastructure", "Tune TIMEOUT_S in the CRM tool and add a retry.", "support_agent/tools/crm.py", 10, ""),
    ],
    "stale-refund-policy": [
        ("The reply cites an outdated refund policy (30 days) pulled from an archived knowledge-base article.",
         "retrieval", "Filter archived articles out of the KB search.", "support_agent/retrieval.py", 12, ""),
        ("Retrieved help article is obsolete; the customer was given the old refund window.",
         "retrieval", "Index only published articles; drop superseded ones.", "support_agent/retrieval.py", 11, ""),
        ("Knowledge base returned a superseded refund page and the agent trusted it.",
         "data", "Remove legacy refund pages from the help-centre index.", "support_agent/kb/index.py", None, ""),
        ("Wrong refund window in the answer: the source document was stale.",
         "reasoning", "Rank current policy articles above archived ones.", "support_agent/retrieval.py", 12, ""),
    ],
    "sek-vat-pricing": [
        ("Price quoted in USD without VAT for a Swedish customer billed in SEK.",
         "answer", "Use the account currency and VAT from accounts.yaml in the reply prompt.",
         "support_agent/prompts/reply.md", 6, ""),
        ("The amount in the reply ignores the account's currency (kronor) and 25% VAT.",
         "reasoning", "Remove 'Prices are in USD' from the reply prompt; pass currency and VAT.",
         "support_agent/prompts/reply.md", 6, ""),
        ("Currency mistake: dollars instead of SEK, tax excluded.",
         "answer", "Read lindqvist's currency and VAT from the account settings.", "support_agent/accounts.yaml", 7, ""),
    ],
    "invented-plan": [
        ("The model invented a plan name and billing rejected the change.", "planning",
         "Validate the picked plan against PLANS before calling billing.", "support_agent/tools/billing.py", 16,
         "PlanNotFound"),
        ("Plan change failed: the requested plan id does not exist.", "tool-execution",
         "Constrain pick_plan to the list of real plan ids.", "support_agent/prompts/pick_plan.md", 1, "PlanNotFound"),
    ],
}
STYLES = [  # how an analyst frames the same finding
    lambda mode, extra: mode,
    lambda mode, extra: f"Looking at this run, {mode[0].lower()}{mode[1:]} {extra}".strip(),
    lambda mode, extra: f"Root cause: {mode} Impact: the customer got a wrong or incomplete answer.",
]
GENERIC_EXTRA = ["", "This looks like the main problem.", "Everything after that step follows from it."]


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}}


class Spans:
    """OTLP/JSON spans carrying OpenInference attributes (what Phoenix's OTLP exporter sends)."""

    def __init__(self, rng: random.Random, start_ns: int) -> None:
        self.rng, self.clock, self.trace_id, self.spans = rng, start_ns, _hex(rng, 32), []

    def add(self, name: str, kind: str, attrs: dict[str, Any], ms: int, parent: str | None,
            error: str | None = None) -> str:
        span_id = _hex(self.rng, 16)
        span: dict[str, Any] = {
            "traceId": self.trace_id, "spanId": span_id, "name": name, "kind": 1,
            "startTimeUnixNano": str(self.clock), "endTimeUnixNano": str(self.clock + ms * 1_000_000),
            "attributes": [_attr("openinference.span.kind", kind)] + [_attr(k, v) for k, v in attrs.items()],
            "status": {"code": 2, "message": error} if error else {"code": 1}}
        if parent:
            span["parentSpanId"] = parent
        self.spans.append(span)
        self.clock += ms * 1_000_000 + 1_000_000
        return span_id

    def llm(self, parent: str, name: str, prompt: str, user: str, answer: str, ms: int) -> str:
        return self.add(name, "LLM", {
            "llm.model_name": "gpt-4.1-mini", "llm.prompt_template.template": f"support_agent/prompts/{prompt}.md",
            "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": user,
            "llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": answer,
            "llm.token_count.prompt": 400 + len(user) // 4, "llm.token_count.completion": 30 + len(answer) // 4},
            ms, parent)

    def tool(self, parent: str, name: str, args: dict[str, Any], output: Any, ms: int,
             error: str | None = None) -> str:
        attrs = {"tool.name": name, "input.value": json.dumps(args)}
        if output is not None:
            attrs["output.value"] = output if isinstance(output, str) else json.dumps(output)
        return self.add(name, "TOOL", attrs, ms, parent, error)

    def retriever(self, parent: str, query: str, docs: list[tuple[str, str, str, str]]) -> str:
        attrs: dict[str, Any] = {"input.value": query}
        for n, (doc_id, title, text, status) in enumerate(docs):
            attrs[f"retrieval.documents.{n}.document.id"] = doc_id
            attrs[f"retrieval.documents.{n}.document.content"] = f"{title}\nStatus: {status}. {text}"
            attrs[f"retrieval.documents.{n}.document.metadata"] = json.dumps({"status": status, "title": title})
            attrs[f"retrieval.documents.{n}.document.score"] = round(0.9 - 0.1 * n, 2)
        return self.add("kb.search", "RETRIEVER", attrs, 120, parent)

    def document(self) -> dict[str, Any]:
        return {"resourceSpans": [{
            "resource": {"attributes": [_attr("service.name", "helpdesk-copilot"),
                                        _attr("service.version", "1.8.0")]},
            "scopeSpans": [{"scope": {"name": "openinference.instrumentation"}, "spans": self.spans}]}]}


TOPICS = {"refund": "I was charged for labels I never printed. Can I get my money back?",
          "price": "How much will the Team plan cost me per month?",
          "plan": "Please move us to the {plan} plan starting next month.",
          "tracking": "Parcel {parcel} has not moved for four days, where is it?",
          "invoice": "Invoice {invoice} shows two charges for March, why?"}


def _ticket(rng: random.Random, cause: str | None) -> tuple[str, str]:
    topic = {"stale-refund-policy": "refund", "sek-vat-pricing": "price", "invented-plan": "plan"}.get(
        cause or "", rng.choice(list(TOPICS)))
    return topic, TOPICS[topic].format(plan=rng.choice(PLAN_NAMES) if cause == "invented-plan" else "Team annual",
                                       parcel=f"1Z{_hex(rng, 10).upper()}", invoice=f"INV-{rng.randint(10000, 99999)}")


def _investigation(rng: random.Random, n: int, account: str, cause: str | None,
                   noise: tuple[str, str | None, str, str] | None) -> dict[str, Any]:
    cid = f"cus_{_hex(rng, 8)}"
    topic, body = _ticket(rng, cause)
    usd = rng.choice([29, 49, 79, 99])
    sp = Spans(rng, 1_760_000_000_000_000_000 + n * 3_600_000_000_000)
    root = sp.add("handle_ticket", "AGENT", {"input.value": body, "ticket.account": account,
                                              "ticket.customer_id": cid}, 5, None)
    sp.llm(root, "classify", "classify", body, topic, 400)
    record = {"id": cid, "plan": "team-monthly", "currency": "SEK" if account == LOCAL_ACCOUNT else "USD",
              "country": "SE" if account == LOCAL_ACCOUNT else "US"}
    if cause == "crm-timeout":
        error = rng.choice(CRM_ERRORS).format(cid=cid, rid=_hex(rng, 12))
        sp.tool(root, "crm.get_customer", {"customer_id": cid}, None, 8000, error=error)
        record = {}
    else:
        sp.tool(root, "crm.get_customer", {"customer_id": cid}, record, 300)
    docs = [(*CURRENT_ARTICLE, "published")]
    if cause == "stale-refund-policy":
        docs = [(*rng.choice(STALE_ARTICLES), "archived"), (*CURRENT_ARTICLE, "published")]
    sp.retriever(root, body, [(d[0], d[1], d[2], d[3]) for d in docs])
    note = ""
    if cause == "invented-plan":
        plan = next(p for p in PLAN_NAMES if p in body)
        sp.tool(root, "billing.change_plan", {"customer_id": cid, "plan": plan}, None, 200,
                error=f"PlanNotFound: no plan named '{plan}' (known: starter-*, team-*, business-annual)")
    if noise is not None:
        _, tool, text, _ = noise
        if tool:
            sp.tool(root, tool, {"customer_id": cid}, None, rng.randint(50, 900), error=text)
        else:
            note = text
    reply = _reply(rng, cause, topic, usd)
    sp.llm(root, "reply", "reply", body, reply, 1800)
    if cause == "stale-refund-policy":
        note = rng.choice(REFUND_NOTES)
    elif cause == "sek-vat-pricing":
        note = rng.choice(VAT_NOTES).format(usd=usd, sek=f"{usd * 10.6 * 1.25:.2f}")
    elif cause == "crm-timeout":
        note = "The reply does not use the customer's plan or currency."
    elif cause == "invented-plan":
        note = "The plan was not changed."
    truth = "Expected: a correct, policy-conform reply to the ticket."
    if cause or noise:
        truth += f"\nReviewer note: {note or 'A tool failed and the reply did not recover.'}"
    return {"trace": sp.document(), "answer": reply, "truth": truth, "topic": topic, "customer": cid}


def _reply(rng: random.Random, cause: str | None, topic: str, usd: int) -> str:
    if cause == "stale-refund-policy":
        return "You can get a refund within 30 days of purchase; I have started one for you."
    if cause == "sek-vat-pricing":
        return f"The Team plan costs ${usd} per month."
    if cause == "crm-timeout":
        return "Thanks for reaching out! Our plans start at $29 per month; see our help centre for details."
    return rng.choice(["Done: I have taken care of it.", "Here is what happened and what I changed.",
                       "I have checked your account; details below."])


def _plan_causes(rng: random.Random, count: int, names: list[str]) -> list[tuple[str, str | None, int | None]]:
    """(account, cause, noise index) per investigation: exact shares, shuffled by the seed."""
    failures = round(count * FAILURE_RATE)
    n_noise = min(len(NOISE), round(failures * NOISE_SHARE))
    per_cause = {c: max(1, round(failures * s)) for c, s in SHARES.items()}
    accounts = [names[i % len(names)] for i in range(count)]
    rng.shuffle(accounts)
    slots: list[tuple[str, str | None, int | None]] = [(a, None, None) for a in accounts]
    order = list(range(count))
    rng.shuffle(order)
    local = [i for i in order if accounts[i] == LOCAL_ACCOUNT][:per_cause["sek-vat-pricing"]]
    for i in local:
        slots[i] = (accounts[i], "sek-vat-pricing", None)
    free = [i for i in order if i not in set(local)]
    noise_ids = rng.sample(range(len(NOISE)), n_noise)
    for cause in ("crm-timeout", "stale-refund-policy", "invented-plan"):
        for _ in range(per_cause[cause]):
            i = free.pop()
            slots[i] = (accounts[i], cause, None)
    for k in noise_ids:
        i = free.pop()
        slots[i] = (accounts[i], None, k)
    return slots


def templated_analysis(rng: random.Random, cause: str | None, noise: int | None) -> dict[str, Any]:
    """What a templated analyst writes: its cause's phrasing in its own style, never the trace's text."""
    extra = rng.choice(GENERIC_EXTRA)
    style = rng.choice(STYLES)
    if cause:
        mode, stage, change, path, line, sig = rng.choice(CAUSE_PHRASES[cause])
    else:
        stage, tool, text, path = NOISE[noise or 0]
        mode, line, sig = text, None, (text if tool else "")
        change = rng.choice(["Add an eval case for this ticket and tighten the reply prompt.",
                             "Handle this case explicitly in the agent loop.", "Add a guard for this input."])
    return {"verdict": "wrong", "failure_mode": style(mode, extra), "error_signature": sig or None,
            "stage": stage, "first_wrong_step": None,
            "suspected": [{"kind": "prompt" if path.endswith(".md") else "component", "path": path, "line": line}],
            "evidence": [{"path": "trace/README.md"}], "proposed_change": change,
            "confidence": round(rng.uniform(0.5, 0.9), 2), "summary": style(mode, "")}


def generate(out: Path, seed: int = 11, count: int = 150, accounts: int = 6) -> None:
    rng = random.Random(seed)
    names = ACCOUNTS[:accounts]
    if LOCAL_ACCOUNT not in names:
        names[-1] = LOCAL_ACCOUNT
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, templated = [], [], []
    for n, (account, cause, noise) in enumerate(_plan_causes(rng, count, names), 1):
        inv_id = f"tkt-{n:04d}"
        inv = _investigation(rng, n, account, cause, NOISE[noise] if noise is not None else None)
        (out / "traces" / f"{inv_id}.json").write_text(json.dumps(inv["trace"], separators=(",", ":")) + "\n")
        wrong = cause is not None or noise is not None
        manifest.append({"id": inv_id, "account": account, "trace": f"traces/{inv_id}.json", "answer": inv["answer"],
                         "truth": inv["truth"], "verdict": "wrong" if wrong else "correct",
                         "score": 0.0 if wrong else 1.0,
                         "metadata": {"topic": inv["topic"], "customer": inv["customer"], "agent_version": "1.8.0"}})
        planted.append({"id": inv_id, "account": account, "cause": cause, "scope": SCOPE.get(cause or ""),
                        "noise": noise})
        if wrong:
            templated.append({"id": inv_id, **templated_analysis(rng, cause, noise)})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))
    (out / "templated.jsonl").write_text("".join(json.dumps(t) + "\n" for t in templated))


def write_analyses(backtest: Path, analyses: Path) -> int:
    """Store analyses (JSONL, one per investigation id) in an imported backtest as an analyst would."""
    from agentbook.backtest.analysis import check, render_markdown
    from agentbook.backtest.folder import BacktestFolder
    from agentbook.fsutil import atomic_write_json, atomic_write_text

    by_id = {i.id: i for i in BacktestFolder(backtest).require().investigations()}
    written = 0
    for line in analyses.read_text().splitlines():
        analysis = json.loads(line)
        inv = by_id[analysis.pop("id")]
        check(analysis)
        analysis = {**analysis, "id": inv.id, "account": inv.account, "meta": {"mode": "templated", "cost_usd": 0}}
        atomic_write_json(inv.path / "analysis.json", analysis)
        atomic_write_text(inv.path / "analysis.md", render_markdown(inv, analysis))
        written += 1
    return written


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted([out / "manifest.jsonl", out / "planted.jsonl", out / "templated.jsonl",
                     *(out / "traces").glob("*.json")]):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--accounts", type=int, default=6)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generate(args.out, args.seed, args.count, args.accounts)
    print(f"wrote {args.count} investigations to {args.out} (sha256 {digest(args.out)[:12]})")


if __name__ == "__main__":
    main()
