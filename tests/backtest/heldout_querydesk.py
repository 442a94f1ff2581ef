"""An eighth held-out backtest: querydesk, a SQL data-analyst agent that answers business questions over
each client's warehouse, traced with Arize Phoenix (OpenInference span JSON); written apart from the
clustering work (from the backtest formats alone) and never tuned on: measured once per method,
reported whatever it shows.

The system: someone in finance or operations asks a question in plain words ("net revenue in Q3 by
region?"); the agent searches the table docs (a retriever over the schema catalogue), writes SQL, runs
it on the warehouse (retrying when the warehouse refuses it), and writes the answer with the number.
An analytics engineer re-answers a sample by hand; her figure is the truth.

How it differs from the other generators, where a real team's backtest would:

- **traces are Phoenix span exports** (a JSON list of spans: `context`, `span_kind`, `parent_id`,
  `status_code`, dotted OpenInference attributes: `input.value`, `llm.input_messages.N...`,
  `retrieval.documents.N.document.*`, exception events);
- **a cause is recorded in generated SQL** (a calendar quarter where the client's fiscal quarter was
  asked; a join that fans one order out per line item before summing the order's total), **in what the
  retriever ranked first** (a deprecated snapshot table), **in errors and a fallback** (two statement
  timeouts, then a 1% TABLESAMPLE scaled up by 100), **in one account's units** (nordhavn-retail keeps
  amounts in øre; the agent reports them as kroner);
- **harmless errors everywhere**: a first query naming a column that does not exist, fixed and re-run,
  in about a quarter of all runs, passing ones too; the ~16% of failures with no common cause (a
  question that was ambiguous, a reviewer using another revenue definition, data corrected after the
  run) are written in the same analytics words;
- **analysts of two kinds**: `quoting.jsonl`, a reviewer quoting what she finds decisive (the SQL or
  retrieved table in most runs; else the run's first error, often the harmless one; else her own
  check), and `templated.jsonl` in six styles: ticket lines, postmortem blocks, Danish shorthand from
  the Copenhagen data team, hedgers weighing two causes, analysts blaming the question or the
  warehouse (and filing it there), and analysts writing their finding as a SQL comment.

Causes, as counts of the failures (83 of 150 investigations):

  fiscal-quarter     24  "Q3" filtered as the calendar quarter; the client's fiscal year starts in February
  join-fanout        18  orders joined to order_items, then SUM(o.total): each order counted once per line
  stale-snapshot     13  the retriever ranks sales_daily_v1 (frozen since March) first and the agent uses it
  timeout-sampled     9  two statement timeouts, then TABLESAMPLE SYSTEM (1) and the sum times 100
  minor-units         6  one account (nordhavn-retail) only: amount_minor (øre) reported as kroner
  (none)             13  failures with no common cause, in the same vocabulary

Writes `manifest.jsonl`, `traces/`, `planted.jsonl` (each run's cause, what the quoting analyst quoted,
the templated analyst's style: tests and benchmarks only), `quoting.jsonl` and `templated.jsonl`. Same
seed, same bytes.

    .venv/bin/python tests/backtest/heldout_querydesk.py --out /tmp/querydesk [--seed 231]
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # loaded by path (bench) or run as a script: heldout_invoice is beside it
from heldout_invoice import cli, plan
from heldout_triage import _analysis  # an analysis record, as agentbook's schema has it

COUNTS = {"fiscal-quarter": 24, "join-fanout": 18, "stale-snapshot": 13, "timeout-sampled": 9, "minor-units": 6}
NOISE = 13
PASSING = 67
LOCAL_ACCOUNT = "nordhavn-retail"
ACCOUNTS = {"nordhavn-retail": "DKK", "bluefin-saas": "USD", "orchard-grocers": "GBP", "tessera-logistics": "EUR",
            "kiln-apparel": "USD"}
STYLES = ["ticket", "postmortem", "danish", "hedger", "blamer", "sqlcomment"]
T0 = datetime(2026, 10, 5, 8, 0, 0)

QUESTIONS = [("net revenue", "SUM({amount})", "orders o"), ("gross sales", "SUM({amount})", "orders o"),
             ("refund total", "SUM({amount})", "refunds o")]
REGIONS = ["EMEA", "NA", "APAC", "LATAM"]

# where each cause's fix lives (stage, file), and where blaming analysts file it instead
HOME = {"fiscal-quarter": ("planning", "querydesk/calendar.py"), "join-fanout": ("query-generation", "prompts/sql_writer.md"),
        "stale-snapshot": ("retrieval", "querydesk/schema_index.py"),
        "timeout-sampled": ("tool-execution", "querydesk/warehouse.py"), "minor-units": ("answer", "prompts/answer.md")}
BLAME = [("input", "querydesk/intake.py"), ("infrastructure", "querydesk/warehouse.py"), ("answer", "prompts/answer.md")]

PHRASES: dict[str, dict[str, list[str]]] = {
    "fiscal-quarter": {
        "en": ["Q3 was read as July-September, but this client's fiscal Q3 is August-October",
               "the date filter used calendar quarters instead of the fiscal calendar",
               "quarter boundaries off by a month: fiscal year begins in February",
               "period mismatch: the agent ignored the FY start month when translating 'Q3'"],
        "da": ["kvartal regnet som kalenderkvartal, ikke regnskabsår", "forkert periode: regnskabsåret starter i februar"],
        "blame": ["the user said Q3 without saying fiscal; question was ambiguous", "the business asked for the wrong period"]},
    "join-fanout": {
        "en": ["order totals summed after joining line items, so every order counted once per item",
               "fan-out join: SUM over orders x order_items inflates the figure",
               "duplicated rows from the one-to-many join to order_items before aggregation",
               "revenue roughly doubled because the join multiplied orders by their lines"],
        "da": ["dobbelttælling: join på ordrelinjer før sum", "ordrer talt flere gange pga. join"],
        "blame": ["warehouse returned too many rows for the orders table", "numbers from the warehouse look inflated, maybe a load issue"]},
    "stale-snapshot": {
        "en": ["queried sales_daily_v1, a deprecated snapshot not loaded since March",
               "picked the old v1 table the schema search ranked first instead of sales_daily",
               "data was months out of date: the agent read a frozen legacy table",
               "wrong source table: retrieval surfaced the retired snapshot"],
        "da": ["gammel tabel (v1) brugt, data stoppede i marts", "forældet snapshot-tabel valgt af søgningen"],
        "blame": ["warehouse still exposes a dead table", "the question did not say which table to use"]},
    "timeout-sampled": {
        "en": ["after two statement timeouts it fell back to a 1% TABLESAMPLE and multiplied by 100",
               "sampled estimate reported as an exact total after the query timed out",
               "query kept timing out, so the answer is an extrapolation from a sample",
               "timeout retries exhausted; the fallback scaled a sampled sum up"],
        "da": ["timeout to gange, derefter stikprøve ganget med 100", "svaret er et estimat fra TABLESAMPLE"],
        "blame": ["the warehouse is too slow for this question", "statement timeout on the warehouse is set too low"]},
    "minor-units": {
        "en": ["amount_minor is in øre, and the answer reported it as kroner: 100x too high",
               "minor currency units not divided by 100 before answering",
               "the figure is in cents but presented as whole currency",
               "unit error: øre summed and shown as DKK"],
        "da": ["beløb i øre vist som kroner", "glemte at dele amount_minor med 100"],
        "blame": ["the nordhavn schema stores money oddly", "warehouse column names do not say the unit"]},
}
NOISE_PHRASES = {
    "en": ["the question could be read two ways and the agent picked one", "reviewer used net of returns, the agent gross",
           "source data was corrected after the run", "rounding and FX rate differ from the finance pack",
           "the reviewer's own query filtered test accounts out", "late-arriving orders changed the total"],
    "da": ["spørgsmålet var tvetydigt", "data rettet efter kørslen", "anden definition af omsætning"],
}
SYMPTOM = {"fiscal-quarter": "wrong period", "join-fanout": "figure too high", "stale-snapshot": "out-of-date figure",
           "timeout-sampled": "estimate given as exact", "minor-units": "figure 100x too high"}
HARMLESS = ['column "revenue" does not exist', 'column o.order_total does not exist', 'relation "order_lines" does not exist']


class Spans:
    """One run's Phoenix spans, with a clock moving forward and ids from the run's random source."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng, self.clock = rng, start
        self.trace_id = f"{rng.getrandbits(128):032x}"
        self.spans: list[dict[str, Any]] = []

    def add(self, name: str, kind: str, parent: str | None, attrs: dict[str, Any], error: str | None = None,
            ms: int = 400) -> str:
        span_id = f"{self.rng.getrandbits(64):016x}"
        start, self.clock = self.clock, self.clock + timedelta(milliseconds=ms + self.rng.randrange(300))
        span: dict[str, Any] = {"name": name, "context": {"trace_id": self.trace_id, "span_id": span_id},
                                "span_kind": kind, "parent_id": parent, "start_time": start.isoformat() + "Z",
                                "end_time": self.clock.isoformat() + "Z", "status_code": "ERROR" if error else "OK",
                                "status_message": error or "", "attributes": attrs, "events": []}
        if error:
            span["events"].append({"name": "exception", "timestamp": self.clock.isoformat() + "Z",
                                   "attributes": {"exception.type": "psycopg.errors.QueryCanceled" if "timeout" in error
                                                  else "psycopg.errors.UndefinedColumn", "exception.message": error}})
        self.spans.append(span)
        return span_id


def _case(rng: random.Random, n: int, account: str) -> dict[str, Any]:
    what, agg, table = rng.choice(QUESTIONS)
    q = rng.choice(["Q1", "Q2", "Q3", "Q4"])
    region = rng.choice([None, *REGIONS])
    words = f"What was our {what} in {q}" + (f" for {region}" if region else "") + "?"
    return {"id": f"qd-{n + 1:04d}", "account": account, "cur": ACCOUNTS[account], "what": what, "agg": agg,
            "table": table, "q": q, "region": region, "question": words, "truth": rng.randrange(400_000, 9_000_000)}


def _dates(q: str, fiscal: bool) -> tuple[str, str]:
    n = int(q[1]) - 1
    start = (n * 3 + (1 if fiscal else 0)) % 12 + 1  # fiscal year from February
    year = 2026 if start > 1 or not fiscal else 2027
    end_month, end_year = (start + 2 - 1) % 12 + 1, year + (1 if start + 2 > 12 else 0)
    last = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}.get(end_month, 31)
    return f"{year}-{start:02d}-01", f"{end_year}-{end_month:02d}-{last}"


def _sql(c: dict[str, Any], cause: str | None) -> tuple[str, str]:
    """The SQL the agent runs and the fragment a reviewer would quote for the cause."""
    lo, hi = _dates(c["q"], fiscal=cause != "fiscal-quarter")
    amount = "o.amount_minor" if c["account"] == LOCAL_ACCOUNT else "o.total"
    source = "analytics.sales_daily_v1 o" if cause == "stale-snapshot" else f"analytics.{c['table']}"
    join = " JOIN analytics.order_items oi ON oi.order_id = o.id" if cause == "join-fanout" else ""
    sample = " TABLESAMPLE SYSTEM (1)" if cause == "timeout-sampled" else ""
    scale = " * 100" if cause == "timeout-sampled" else ""
    where = f"o.order_date BETWEEN '{lo}' AND '{hi}'" + (f" AND o.region = '{c['region']}'" if c["region"] else "")
    sql = f"SELECT SUM({amount}){scale} AS value FROM {source}{sample}{join} WHERE {where}"
    if c["account"] == LOCAL_ACCOUNT and cause != "minor-units":
        sql = sql.replace(f"SUM({amount})", f"SUM({amount}) / 100.0")
    decisive = {"fiscal-quarter": f"BETWEEN '{lo}' AND '{hi}'", "join-fanout": f"JOIN analytics.order_items oi ON oi.order_id = o.id WHERE {where}"[:90],
                "stale-snapshot": "FROM analytics.sales_daily_v1 o", "timeout-sampled": f"TABLESAMPLE SYSTEM (1){join}",
                "minor-units": f"SELECT SUM({amount}) AS value"}.get(cause or "", "")
    return sql, decisive


def _docs(cause: str | None, account: str) -> list[dict[str, Any]]:
    docs = [("analytics.orders", "One row per order: id, order_date, region, total (in major units), status."),
            ("analytics.order_items", "One row per order line: order_id, sku, qty, line_total."),
            ("analytics.sales_daily_v1", "DEPRECATED 2026-03: daily sales snapshot (no longer loaded)."),
            ("analytics.refunds", "One row per refund: id, order_id, order_date, region, total.")]
    if account == LOCAL_ACCOUNT:
        docs[0] = ("analytics.orders", "One row per order: id, order_date, region, amount_minor (øre), status.")
    if cause == "stale-snapshot":
        docs.insert(0, docs.pop(2))
    return [{"document.id": d, "document.content": text, "document.score": round(0.91 - 0.07 * i, 2)}
            for i, (d, text) in enumerate(docs)]


def _run(rng: random.Random, c: dict[str, Any], cause: str | None, failed: bool, facts: dict[str, Any]) -> list[dict[str, Any]]:
    s = Spans(rng, T0 + timedelta(minutes=37 * int(c["id"][3:])))
    root = s.add("querydesk.answer_question", "AGENT", None, {"input.value": c["question"], "session.id": c["account"]}, ms=20)
    docs = _docs(cause, c["account"])
    s.add("schema_search", "RETRIEVER", root, {"input.value": c["question"], **{
        f"retrieval.documents.{i}.{k}": v for i, d in enumerate(docs) for k, v in d.items()}})
    sql, decisive = _sql(c, cause)
    errors: list[str] = []
    if rng.random() < 0.25:  # a first attempt naming a column that does not exist, fixed and re-run
        bad = sql.replace("SUM(o.total)", "SUM(o.revenue)").replace("SUM(o.amount_minor)", "SUM(o.revenue)")
        _llm(s, root, c, bad)
        err = rng.choice(HARMLESS)
        s.add("run_sql", "TOOL", root, {"tool.name": "run_sql", "input.value": json.dumps({"sql": bad})}, error=err)
        errors.append(err)
    if cause == "timeout-sampled":
        full = sql.replace(" TABLESAMPLE SYSTEM (1)", "").replace(" * 100", "")
        for _ in range(2):
            _llm(s, root, c, full)
            err = "canceling statement due to statement timeout"
            s.add("run_sql", "TOOL", root, {"tool.name": "run_sql", "input.value": json.dumps({"sql": full})}, error=err, ms=30000)
            errors.append(err)
    _llm(s, root, c, sql)
    value = c["truth"]
    if failed:
        value = {"fiscal-quarter": int(value * rng.uniform(0.8, 0.95)), "join-fanout": int(value * rng.uniform(1.8, 2.6)),
                 "stale-snapshot": int(value * rng.uniform(0.1, 0.4)), "timeout-sampled": int(value * rng.uniform(0.7, 1.3)),
                 "minor-units": value * 100}.get(cause or "", int(value * rng.uniform(0.85, 1.15)))
    s.add("run_sql", "TOOL", root, {"tool.name": "run_sql", "input.value": json.dumps({"sql": sql}),
                                     "output.value": json.dumps([{"value": value}])})
    answer = f"Our {c['what']} in {c['q']}" + (f" for {c['region']}" if c["region"] else "") + f" was {value:,} {c['cur']}."
    s.add("write_answer", "LLM", root, {"llm.model_name": "gpt-4.1-mini",
                                        "llm.input_messages.0.message.role": "user",
                                        "llm.input_messages.0.message.content": f"Question: {c['question']}\nResult: {value}",
                                        "llm.output_messages.0.message.role": "assistant",
                                        "llm.output_messages.0.message.content": answer,
                                        "llm.token_count.prompt": 180 + rng.randrange(60), "llm.token_count.completion": 30})
    s.spans[0]["attributes"]["output.value"] = answer
    s.spans[0]["end_time"] = s.clock.isoformat() + "Z"
    facts.update(answer=answer, value=value, decisive=decisive, errors=errors)
    return s.spans


def _llm(s: Spans, root: str, c: dict[str, Any], sql: str) -> None:
    s.add("write_sql", "LLM", root, {"llm.model_name": "gpt-4.1",
                                     "llm.input_messages.0.message.role": "system",
                                     "llm.input_messages.0.message.content": "Write one PostgreSQL query answering the question.",
                                     "llm.input_messages.1.message.role": "user",
                                     "llm.input_messages.1.message.content": c["question"],
                                     "llm.output_messages.0.message.role": "assistant",
                                     "llm.output_messages.0.message.content": f"```sql\n{sql}\n```",
                                     "llm.token_count.prompt": 900 + s.rng.randrange(200), "llm.token_count.completion": 60})


def _review(rng: random.Random, cause: str | None, c: dict[str, Any], noise: int | None) -> str:
    """The analytics engineer's check, in her words: the right figure and, for a cause, what she saw."""
    figure = f"{c['truth']:,} {c['cur']}"
    said = {"fiscal-quarter": f"fiscal {c['q']} runs Feb-based; the query used calendar months",
            "join-fanout": "summing orders after the items join double counts",
            "stale-snapshot": "sales_daily_v1 stopped loading in March",
            "timeout-sampled": "the figure is a sample scaled up, not the total",
            "minor-units": "amount_minor is in øre"}
    if cause:
        return f"Correct figure {figure}: {said[cause]}."
    if noise is not None:
        return f"Correct figure {figure}: {NOISE_PHRASES['en'][noise % len(NOISE_PHRASES['en'])]}."
    return f"Matches my figure {figure}."


def _templated(rng: random.Random, cause: str | None, style: str, c: dict[str, Any]) -> dict[str, Any]:
    lang = "da" if style == "danish" else "en"
    if cause is None:
        phrase = rng.choice(NOISE_PHRASES[lang])
        stage, path = rng.choice([*HOME.values(), *BLAME])
        symptom, change = rng.choice(["figure disputed", "reviewer disagreed", "number changed since"]), None
    else:
        p = PHRASES[cause]
        phrase = rng.choice(p["blame"] if style == "blamer" else p[lang])
        stage, path = rng.choice(BLAME) if style == "blamer" or rng.random() < 0.15 else HOME[cause]
        symptom, change = SYMPTOM[cause], f"fix: {phrase}"
    if style == "ticket":
        text = f"[{c['account']}] {symptom} - {phrase}"
    elif style == "postmortem":
        text = (f"Impact: {symptom} on a {c['what']} question. Root cause: {phrase}. "
                f"Action: {rng.choice(['add a regression question', 'review with the data team'])}.")
    elif style == "danish":
        text = f"{c['id']}: årsag - {phrase}."
    elif style == "hedger":
        other = rng.choice([k for k in PHRASES if k != cause])
        text = f"Most likely {phrase}; possibly also {rng.choice(PHRASES[other]['en'])}, can't rule it out."
    elif style == "sqlcomment":
        text = f"-- {c['id']}: {phrase}\n-- expected {c['truth']:,}"
    else:  # blamer
        text = phrase[0].upper() + phrase[1:] + "."
    return _analysis(text, stage, path, phrase, {"path": "truth.md", "note": "analyst re-check"}, change,
                     round(rng.uniform(0.3, 0.9), 2))


def _quoting(rng: random.Random, cause: str | None, f: dict[str, Any], note: str, c: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A reviewer reading the spans: quotes the cause's SQL or table in most runs, else the first error,
    else her own check; causeless runs: the first error, else the question, else the check."""
    roll = rng.random()
    if f["decisive"] and roll < 0.65:
        quote, what, signature = f["decisive"], "sql", None
    elif f["errors"] and roll < 0.85:
        quote, what, signature = f["errors"][0], "error", f["errors"][0]
    elif cause is None and roll < 0.5:
        quote, what, signature = c["question"], "sql", None
    else:
        quote, what, signature = note, "review", None
    stage, path = HOME[cause] if cause else rng.choice([*HOME.values(), *BLAME])
    lead = {"sql": "The trace shows", "error": "The warehouse refused a query", "review": "The re-check says"}[what]
    evidence = {"path": "trace/errors.md" if what == "error" else "truth.md" if what == "review" else "trace/index.tsv",
                "note": quote[:300]}
    return _analysis(f'{lead}: "{quote}"', stage, path, quote, evidence, None, round(rng.uniform(0.5, 0.95), 2),
                     signature), what


def _correct() -> dict[str, Any]:
    return {"verdict": "correct", "failure_mode": None, "error_signature": None, "stage": "none",
            "first_wrong_step": None, "suspected": [], "evidence": [], "proposed_change": None, "confidence": 0.9,
            "summary": "The figure matches the re-check."}


def generate(out: Path, seed: int = 231) -> None:
    rng = random.Random(seed)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, quoting, templated = [], [], [], []
    for n, (account, cause, failed) in enumerate(plan(rng, COUNTS, ("minor-units", LOCAL_ACCOUNT), list(ACCOUNTS),
                                                           NOISE, PASSING)):
        c = _case(rng, n, account)
        facts: dict[str, Any] = {}
        spans = _run(rng, c, cause, failed, facts)
        (out / "traces" / f"{c['id']}.json").write_text(json.dumps(spans, indent=1, ensure_ascii=False) + "\n")
        noise = rng.randrange(len(NOISE_PHRASES["en"])) if failed and cause is None else None
        note = _review(rng, cause, c, noise)
        manifest.append({"id": c["id"], "account": account, "trace": f"traces/{c['id']}.json", "answer": facts["answer"],
                         "truth": f"Analyst re-check: {note}", "verdict": "wrong" if failed else "correct",
                         "metadata": {"question": c["question"], "currency": c["cur"]}})
        style = rng.choice(STYLES) if failed else None
        quoted = None
        if failed:
            q, quoted = _quoting(rng, cause, facts, note, c)
            quoting.append({"id": c["id"], **q})
            templated.append({"id": c["id"], **_templated(rng, cause, style or "ticket", c)})
        else:
            quoting.append({"id": c["id"], **_correct()})
            templated.append({"id": c["id"], **_correct()})
        planted.append({"id": c["id"], "account": account, "cause": cause, "noise": noise, "style": style,
                        "quoted": quoted, "errors": len(facts["errors"])})
    for name, rows in (("manifest", manifest), ("planted", planted), ("quoting", quoting), ("templated", templated)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


if __name__ == "__main__":
    cli(generate, 231, __doc__)
