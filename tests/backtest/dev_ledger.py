"""A development backtest for clustering that must survive analyst style: ledgerlens, a text-to-SQL
analytics assistant (finance teams ask questions in plain language; it writes SQL against a warehouse,
runs it and answers with a table and a sentence).

The protocol (issue 14): `backtest cluster` is tuned on this generator, on examples/support-agent and on
the hand-annotated real failures (real_failures.py), never on the held-out generators (heldout_*.py),
which are only measured, once per method, and reported whatever they show. This file was written from
the backtest folder formats alone (manifest.jsonl, OTLP traces, analysis.schema.json), without reading
the held-out generators' phrase tables.

What makes it hard, on purpose:

- each cause is worded several ways in each of five analyst writing styles, and the styles wrap every
  finding in framing words of their own: a report form ("Finding: ... Impact: ... Recommendation:"),
  bullet notes ("* what: ... * where: ... * fix: ..."), questions ("Could it be that ...? Worth
  checking ..."), a narrative ("I traced the run from the question to the final table. ..."), and
  French shorthand ("constat: ... -> ... / à corriger: ..."), whose words share nothing with the
  English notes of the same cause but the identifiers they quote;
- causeless failures (each its own unrelated problem) are written in the same five styles, so a
  style's framing words bind them as much as they bind a cause's findings;
- the structured fields are filled as an analyst fills them: the stage is the cause's usual stage most
  of the time, another plausible one sometimes, "other" when the analyst did not say; the suspected
  file is the cause's file most of the time, a generic one (the agent loop) or none otherwise; the
  error is quoted (in one of several wordings) only by some analysts, and only where there was one.

Causes, as shares of the failures (~72 of 160 investigations by default):

  renamed-column   30%  warehouse v2 renamed invoices.amount to amount_net; the schema notes still say amount
  fiscal-quarter   18%  quarters computed on the calendar year; the customer's fiscal year starts in February
  join-fanout      13%  invoices joined to invoice_lines before summing: header amounts counted once per line
  stale-fx         9%   one account only (nordhavn): the FX rate cache stopped refreshing, old EUR->SEK rates
  row-limit        3%   the runner's LIMIT 1000 cut a result the answer summed
  (none)           ~27% failures with no common cause

Writes `manifest.jsonl`, `traces/`, `planted.jsonl` (each investigation's cause: tests and benchmarks
only), `templated.jsonl` (one analysis per failure, stored with support-agent's `write_analyses`) and
`quoting.jsonl` (the same failures as an analyst that quotes the run's error, else the reviewer note).
The traces record each cause's error where it has one, and the marks a cause leaves in what the run did:
renamed-column and join-fanout in the SQL (the tool's arguments), fiscal-quarter only in the answer
model's own words (the period it says it used, in some runs), row-limit also in the warehouse's result.
About a third of all runs, right or wrong, first hit a harmless error (a connection pool timeout, retried
with success: POOL_TIMEOUT), which the quoting analysts quote as the run's first error, causeless
failures' analysts as much as causes': an error quoted by analysts that says nothing about the cause.
By default too, runs right or wrong carry benign content that is no error (BENIGN: the warehouse's result
notes that it came from its result cache, the answer model notes the timezone it applied by default), which
causeless failures' analysts describe wherever their trace carries it, and causes' analysts sometimes, in
several wordings (planted.jsonl's `observed`): words that bind nothing, as common in passing runs' traces.
With `noisy_traces` they also record errors
that are not a cause (a retried timeout in any run, right or wrong; a totals check that flags several
causes and causeless failures alike), so clustering on what traces record is tried against both.
Same seed, same bytes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

ACCOUNTS = ["harbourline", "kestrel", "nordhavn", "ostara", "pellucid", "quillon", "rowan"]
LOCAL_ACCOUNT = "nordhavn"
SHARES = {"renamed-column": 0.30, "fiscal-quarter": 0.18, "join-fanout": 0.13, "stale-fx": 0.09, "row-limit": 0.03}
FAILURE_RATE = 0.45
NOISE_SHARE = 0.27
STAGES = ["input", "planning", "query-generation", "retrieval", "tool-execution", "reasoning", "answer",
          "infrastructure", "data"]
GENERIC_FILE = "ledgerlens/agent.py"

# Per cause: its usual stage and file, the errors the system reports (empty: it reports none), and how
# analysts word it: English findings, French shorthand findings, fixes (English, French).
CAUSES: dict[str, dict[str, Any]] = {
    "renamed-column": {
        "stage": "query-generation", "file": "ledgerlens/schema_notes.yaml",
        "errors": ['psycopg.errors.UndefinedColumn: column "amount" does not exist',
                   "SQL compilation error: invalid identifier 'AMOUNT'",
                   'Binder Error: Referenced column "amount" not found in FROM clause',
                   "warehouse returned 400: unknown field amount on table invoices"],
        "en": ["the generated SQL still selects invoices.amount, which the v2 warehouse renamed to amount_net",
               "a field dropped by last month's migration is referenced, and the warehouse rejects the statement",
               "the schema description handed to the model is out of date, so it keeps writing a name that is gone",
               "UndefinedColumn on every retry; the model never learns the new name of the invoice value",
               "it picked the pre-migration identifier for invoice totals"],
        "fr": ["colonne amount renommée en amount_net, le SQL utilise encore l'ancien nom",
               "requête rejetée: champ inexistant depuis la migration",
               "notes de schéma périmées, le modèle écrit un nom disparu"],
        "fix": ["Regenerate schema_notes.yaml from the warehouse catalogue on every deploy.",
                "Feed the live information_schema to the model instead of hand-written notes.",
                "Add a deploy check that every column the notes mention exists.",
                "Add an eval case for this question."],
        "fix_fr": ["régénérer les notes depuis le catalogue", "mettre à jour schema_notes.yaml"],
    },
    "fiscal-quarter": {
        "stage": "reasoning", "file": "ledgerlens/prompts/sql.md", "errors": [],
        "en": ["quarter boundaries were taken from the calendar year, but this customer's fiscal year starts in February",
               "Q1 was computed as January to March; the company reports it as February to April",
               "every quarterly figure is shifted by one month against what finance publishes",
               "the model assumed calendar periods when asked about fiscal Q3 and summed the wrong months",
               "period filter off by a month: fiscal versus calendar year"],
        "fr": ["trimestres calculés sur l'année civile, exercice commence en février",
               "T1 = janv-mars dans la requête, mais chez le client fév-avril",
               "chiffres trimestriels décalés d'un mois"],
        "fix": ["Read the fiscal year start from the account settings and pass it to the SQL prompt.",
                "Add a fiscal_calendar table and tell the model to join it for any period question.",
                "State in sql.md where the fiscal start is defined.",
                "Tighten the prompt for this case."],
        "fix_fr": ["passer le début d'exercice au prompt", "joindre fiscal_calendar"],
    },
    "join-fanout": {
        "stage": "query-generation", "file": "ledgerlens/prompts/sql.md", "errors": [],
        "en": ["invoices were joined to invoice_lines before summing, so each header total was counted once per line",
               "the totals are inflated: a one-to-many join duplicated rows before aggregation",
               "revenue came out roughly three times too high",
               "double counting after the line-item join",
               "the SUM runs over a fanned-out result set"],
        "fr": ["jointure avec invoice_lines avant le SUM, montants comptés une fois par ligne",
               "totaux gonflés, doublons après jointure",
               "double comptage du chiffre d'affaires"],
        "fix": ["Aggregate invoice_lines in a subquery before joining.",
                "Add a rule to sql.md: never sum a header column after joining its line table.",
                "Compare COUNT(DISTINCT invoice_id) with the row count before answering.",
                "Add an eval case for this question."],
        "fix_fr": ["agréger dans une sous-requête avant la jointure", "règle anti-doublons dans sql.md"],
    },
    "stale-fx": {
        "stage": "data", "file": "ledgerlens/fx_cache.py",
        "errors": ["StaleRateWarning: rate EUR/SEK older than 24h (age 19d)", "fx cache last refreshed 19 days ago"],
        "en": ["the EUR to SEK conversion used a cached exchange rate that stopped refreshing weeks ago",
               "amounts in kronor are off by a few percent",
               "the FX cache is out of date, so converted revenue uses an old rate",
               "currency figures drift because the nightly refresh job has been failing"],
        "fr": ["taux EUR/SEK en cache pas rafraîchi depuis des semaines",
               "conversion en couronnes fausse de quelques pour cent",
               "taux de change obsolète, job en panne"],
        "fix": ["Fail the conversion when the cached rate is older than a day.",
                "Repair the refresh job and show the rate date in the answer.",
                "Fetch the rate live when the cache entry is old."],
        "fix_fr": ["réparer le job du cache FX", "refuser un taux de plus d'un jour"],
    },
    "row-limit": {
        "stage": "tool-execution", "file": "ledgerlens/runner.py", "errors": ["result truncated at 1000 rows"],
        "en": ["the runner cut the result at 1000 rows and the answer summed only those",
               "the total is too low because the result hit the row cap"],
        "fr": ["résultat tronqué à 1000 lignes, somme partielle"],
        "fix": ["Push aggregation into SQL instead of summing fetched rows.", "Warn when a result hits the row cap."],
        "fix_fr": ["agréger dans le SQL, pas après"],
    },
}

# Failures with no common cause, each used at most once, many in the causes' vocabulary (invoices,
# quarters, joins, currency): (stage, file, error or "", English, French)
NOISE: list[tuple[str, str, str, str, str]] = [
    ("input", "ledgerlens/agent.py", "", "the question asked for gross margin and the agent answered with revenue",
     "marge brute demandée, chiffre d'affaires donné"),
    ("answer", "ledgerlens/prompts/answer.md", "", "the answer rounded millions to thousands and misplaced the unit",
     "arrondi faux, unité millions/milliers inversée"),
    ("tool-execution", "ledgerlens/charts.py", "ValueError: x and y must have same first dimension",
     "the chart step crashed on an empty series and no table was shown",
     "graphique planté sur une série vide"),
    ("planning", "ledgerlens/agent.py", "", "the agent asked the user to confirm three times and ran out of turns",
     "trois demandes de confirmation, plus de tours"),
    ("retrieval", "ledgerlens/glossary.py", "", "the glossary mapped churn to cancelled orders instead of lost customers",
     "glossaire: churn = commandes annulées au lieu de clients perdus"),
    ("infrastructure", "ledgerlens/warehouse.py", "ConnectionResetError: [Errno 104] Connection reset by peer",
     "the warehouse connection dropped mid-query during a failover", "connexion coupée pendant un basculement"),
    ("reasoning", "ledgerlens/prompts/sql.md", "", "the query compared this quarter with the same quarter two years ago, not last year",
     "comparaison du trimestre avec il y a deux ans"),
    ("answer", "ledgerlens/prompts/answer.md", "", "the reply included the raw SQL and an internal table name",
     "la réponse montre le SQL brut"),
    ("query-generation", "ledgerlens/prompts/sql.md", "", "the user asked about two regions and only Benelux was queried",
     "deux régions demandées, seul le Benelux interrogé"),
    ("tool-execution", "ledgerlens/export.py", "PermissionError: [Errno 13] Permission denied: '/exports/q.csv'",
     "exporting the table to CSV failed on a read-only folder", "export CSV impossible, dossier en lecture seule"),
    ("reasoning", "ledgerlens/prompts/answer.md", "", "the percentage change was computed against the new value instead of the old one",
     "variation calculée sur la nouvelle valeur"),
    ("data", "ledgerlens/agent.py", "", "a test customer's invoices were included in the production totals",
     "factures d'un client de test incluses dans les totaux"),
    ("query-generation", "ledgerlens/prompts/sql.md", "", "the join to customers dropped every invoice without a region",
     "jointure sur customers: factures sans région perdues"),
    ("tool-execution", "ledgerlens/warehouse.py", "json.decoder.JSONDecodeError: Expecting value: line 1 column 1",
     "the warehouse proxy answered with an HTML maintenance page", "le proxy a renvoyé une page HTML de maintenance"),
    ("answer", "ledgerlens/prompts/answer.md", "", "the answer was in English though the user wrote in Dutch",
     "réponse en anglais, question en néerlandais"),
    ("query-generation", "ledgerlens/prompts/sql.md", "", "the SQL filtered invoices on issue date where the user meant payment date",
     "filtre sur la date d'émission au lieu de la date de paiement"),
    ("reasoning", "ledgerlens/prompts/answer.md", "", "credit notes were treated as revenue instead of being subtracted",
     "avoirs comptés comme chiffre d'affaires"),
    ("retrieval", "ledgerlens/glossary.py", "", "the metric definition used was marketing's, not finance's",
     "définition de l'indicateur prise chez le marketing"),
    ("infrastructure", "ledgerlens/auth.py", "401 Unauthorized: service token expired",
     "the service token expired and the agent answered from memory", "jeton expiré, réponse de mémoire"),
    ("answer", "ledgerlens/charts.py", "", "the chart's axis started at 95% and made a small change look huge",
     "axe du graphique à 95%, variation exagérée"),
    ("planning", "ledgerlens/agent.py", "", "the agent split one question into twelve queries and hit the step budget",
     "question découpée en douze requêtes, budget dépassé"),
    ("data", "ledgerlens/agent.py", "", "orders from the merged subsidiary are missing before 2024",
     "commandes de la filiale fusionnée absentes avant 2024"),
    ("reasoning", "ledgerlens/prompts/answer.md", "", "the median was reported where the user asked for the mean",
     "médiane donnée au lieu de la moyenne"),
    ("tool-execution", "ledgerlens/charts.py", "KeyError: 'region'", "the pivot step looked for a column the result did not have",
     "pivot: colonne absente du résultat"),
    ("input", "ledgerlens/agent.py", "", "the question was a follow-up and the agent lost the previous filter",
     "question de suivi, filtre précédent perdu"),
    ("answer", "ledgerlens/prompts/answer.md", "", "the answer stated a trend from only two data points",
     "tendance affirmée sur deux points"),
    ("data", "ledgerlens/agent.py", "", "duplicate customer records split one customer's revenue in two",
     "fiches client en double, chiffre d'affaires scindé"),
    ("reasoning", "ledgerlens/prompts/answer.md", "", "amounts in EUR and SEK were added together without conversion",
     "montants EUR et SEK additionnés sans conversion"),
]

IMPACT = ["the figures in the answer cannot be trusted", "the user got a wrong number", "the answer misleads finance"]


def _report(en: str, fix: str, rng: random.Random) -> str:
    return f"Finding: {en[0].upper()}{en[1:]}. Impact: {rng.choice(IMPACT)}. Recommendation: {fix}"


def _bullets(en: str, fix: str, where: str) -> str:
    return f"* what: {en}\n* where: {where or 'unclear'}\n* fix: {fix}"


def _question(en: str, fix: str, where: str, rng: random.Random) -> str:
    opener = rng.choice(["Could it be that", "Is it possible that", "Did it fail because"])
    return f"{opener} {en}? Probably. Worth checking {where or 'the agent loop'} first."


def _narrative(en: str, fix: str, rng: random.Random) -> str:
    close = rng.choice(["From there on everything else was wrong.", "Everything after that follows from it.",
                        "The rest of the run only made it worse."])
    return f"I traced the run from the question to the final table. As far as I can tell {en}. {close}"


def _french(fr: str, fix_fr: str) -> str:
    return f"constat: {fr} / à corriger: {fix_fr}"


STYLE_NAMES = ["report", "bullets", "question", "narrative", "french"]


def templated_analysis(rng: random.Random, cause: str | None, noise: int | None, error: str,
                       observed: tuple[str, str] = ("", "")) -> dict[str, Any]:
    """One failure as an analyst writes it: a style picked at random, the cause's wording in it, the
    structured fields filled as an analyst fills them (sometimes off, sometimes missing); `observed`
    (English, French): benign trace content the analyst also describes (see BENIGN), "" for none."""
    style = rng.choice(STYLE_NAMES)
    if cause:
        spec = CAUSES[cause]
        en, fr = rng.choice(spec["en"]), rng.choice(spec["fr"])
        fix, fix_fr = rng.choice(spec["fix"]), rng.choice(spec["fix_fr"])
        stage, path = spec["stage"], spec["file"]
    else:
        stage, path, _, en, fr = NOISE[noise or 0]
    if observed[0]:
        en, fr = f"{en} ({observed[0]})", f"{fr} ({observed[1]})"
    if not cause:
        fix = rng.choice(["Add an eval case for this question.", "Handle this case in the agent loop.",
                          "Tighten the answer prompt for this case."])
        fix_fr = rng.choice(["ajouter un cas de test", "traiter ce cas dans la boucle"])
    roll = rng.random()
    stage = stage if roll < 0.7 else rng.choice(STAGES) if roll < 0.85 else "other"
    roll = rng.random()
    suspected = ([] if roll >= 0.9 else
                 [{"kind": "prompt" if path.endswith(".md") else "config" if path.endswith(".yaml") else "component",
                   "path": path if roll < 0.7 else GENERIC_FILE, "line": None}])
    where = suspected[0]["path"] if suspected else ""
    text = {"report": lambda: _report(en, fix, rng), "bullets": lambda: _bullets(en, fix, where),
            "question": lambda: _question(en, fix, where, rng), "narrative": lambda: _narrative(en, fix, rng),
            "french": lambda: _french(fr, fix_fr)}[style]()
    quoted = error if error and rng.random() < 0.6 else None
    return {"verdict": "wrong", "failure_mode": text, "error_signature": quoted, "stage": stage,
            "first_wrong_step": None, "suspected": suspected, "evidence": [{"path": "trace/README.md"}],
            "proposed_change": fix_fr if style == "french" else fix, "confidence": round(rng.uniform(0.4, 0.9), 2),
            "summary": text.split("\n")[0][:200], "style": style}


def quoting_analysis(templated: dict[str, Any], error: str, note: str, observed: str = "") -> dict[str, Any]:
    """An analyst that quotes what it read: the run's first error where the system reported one (the
    harmless POOL_TIMEOUT where the run hit it, else the cause's), else the reviewer's note, verbatim,
    then what else it saw in the trace (`observed`, see BENIGN); its fields are the templated analyst's
    (as noisy), no random draw."""
    quote = (error or f"Reviewer note: {note}.") + (f" The trace also shows {observed}." if observed else "")
    return {**templated, "failure_mode": quote, "summary": quote[:200], "error_signature": error or None,
            "proposed_change": None}


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}}


# With noisy traces (generate(noisy_traces=True)), traces also record errors that are not the cause:
# a warehouse call that timed out and was retried, in runs that went right as often as in failures, and
# a totals check that flags the answer whatever made it wrong (a symptom several causes share).
TRANSIENT = "canceling statement due to statement timeout (attempt 1 of 3)"
TRANSIENT_SHARE = 0.3
SYMPTOM = "ledger check: answered total differs from the ledger by {pct}%"
SYMPTOM_CAUSES = {"fiscal-quarter", "join-fanout", "stale-fx", "row-limit"}
SYMPTOM_NOISE_SHARE = 0.5
RUN_FAILED_SHARE = 0.6  # failed runs whose agent span is marked ERROR without a message


# A harmless error in any run, right or wrong, by default: the warehouse connection pool was exhausted for
# a moment and the connect call timed out, then succeeded on retry. It is the first error the run reports,
# so an analyst that quotes the run's first error quotes it (`quoting_analysis`), a causeless failure's
# analyst as much as a cause's. Drawn from a stream of its own (generate's `pool_rng`), so every other
# draw is as before; `harmless=False` leaves it out.
POOL_TIMEOUT = "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"
POOL_TIMEOUT_SHARE = 0.35


def _trace(rng: random.Random, n: int, question: str, sql: str, error: str, answer: str,
           extra: tuple[bool, str, bool] = (False, "", False), extra_rng: random.Random | None = None,
           result: str = "", pool_rng: random.Random | None = None) -> dict[str, Any]:
    """OTLP/JSON with OTel GenAI attributes: an agent span, the SQL model call, the warehouse tool call,
    the answer model call; with `pool_rng` a connect call that timed out (POOL_TIMEOUT) and its retry
    first; with `extra` (noisy traces) a timed-out first warehouse call before the query, and a ledger
    check after the answer that fails with the given message."""
    trace_id, clock = _hex(rng, 32), 1_770_000_000_000_000_000 + n * 60_000_000_000
    spans: list[dict[str, Any]] = []

    def span(name: str, attrs: dict[str, Any], ms: int, parent: str | None, err: str = "",
             ids: random.Random = rng, failed: bool = False) -> str:
        nonlocal clock
        sid = _hex(ids, 16)
        s: dict[str, Any] = {"traceId": trace_id, "spanId": sid, "name": name, "kind": 1,
                             "startTimeUnixNano": str(clock), "endTimeUnixNano": str(clock + ms * 1_000_000),
                             "attributes": [_attr(k, v) for k, v in attrs.items()],
                             "status": {"code": 2, "message": err} if err or failed else {"code": 1}}
        if parent:
            s["parentSpanId"] = parent
        spans.append(s)
        clock += ms * 1_000_000 + 1_000_000
        return sid

    retried, check, run_failed = extra
    root = span("invoke_agent ledgerlens", {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "ledgerlens",
                                            "input.value": question}, 5, None, err=(error or check) if run_failed else "",
                failed=run_failed)
    if pool_rng is not None:
        connect = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "warehouse.connect"}
        span("execute_tool warehouse.connect", connect, 30000, root, POOL_TIMEOUT, pool_rng)
        span("execute_tool warehouse.connect", connect, 40, root, ids=pool_rng)
    span("chat write_sql", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4.1",
                            "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": question,
                            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": sql}, 900, root)
    if retried:
        span("execute_tool warehouse.query", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "warehouse.query",
                                              "gen_ai.tool.call.arguments": json.dumps({"sql": sql})}, 30000, root, TRANSIENT,
             extra_rng or rng)
    call = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "warehouse.query",
            "gen_ai.tool.call.arguments": json.dumps({"sql": sql})}
    if result:
        call["gen_ai.tool.call.result"] = result
    span("execute_tool warehouse.query", call, rng.randint(200, 4000), root, error)
    span("chat answer", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4.1",
                         "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": question,
                         "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": answer}, 700, root)
    if check:
        span("execute_tool ledger.check", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "ledger.check"},
             40, root, check, extra_rng or rng)
    return {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "ledgerlens")]},
                               "scopeSpans": [{"scope": {"name": "ledgerlens"}, "spans": spans}]}]}


# What the answer model says of the period it used, and what the warehouse returned: drawn from a
# stream of their own (generate's `said_rng`), so every other draw is as before. A fiscal-quarter failure
# leaves no error and no mark in its SQL (the months are in a parameter the trace does not record); its
# only mark in the trace is the answer model's own words, where it states the period it summed, in some
# runs only (PERIOD_SAID), as right runs state the fiscal one. The row cap shows in the warehouse's result.
PERIOD_SAID = 0.7
CALENDAR_SAID = ["Period used: calendar Q{q}, {a} to {b}.", "These figures cover {a} through {b} (calendar quarter).",
                 "Quarter taken as the calendar months {a}-{b}."]
FISCAL_SAID = ["Period used: fiscal Q{q}, {a} to {b}.", "These figures cover fiscal Q{q} ({a} through {b}).",
               "Quarter taken from the account's fiscal year: {a}-{b}."]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _period(rng: random.Random, question: str, cause: str | None) -> str:
    """The answer model's sentence on the period it used, "" where it says none (see PERIOD_SAID)."""
    if rng.random() >= PERIOD_SAID or (cause != "fiscal-quarter" and "Q" not in question and "quarter" not in question):
        return ""
    q = rng.randint(1, 4)
    start = 3 * (q - 1) + (0 if cause == "fiscal-quarter" else 1)
    said = CALENDAR_SAID if cause == "fiscal-quarter" else FISCAL_SAID
    return " " + rng.choice(said).format(q=q, a=MONTHS[start % 12], b=MONTHS[(start + 2) % 12])


def _result(rng: random.Random, cause: str | None, error: str) -> str:
    """What the warehouse returned (JSON), "" where the call failed without returning rows."""
    if error and cause != "row-limit":
        return ""
    rows = 1000 if cause == "row-limit" else rng.randint(1, 400)
    return json.dumps({"columns": ["sum"], "row_count": rows, "truncated": cause == "row-limit"})


# Benign content in any run's trace, right or wrong, by default: the warehouse answered from its result
# cache (a note in the tool's result), the answer model notes the timezone it applied by default. Neither
# is an error, and runs that went right carry them as often. Analysts describe what they saw the run do:
# a causeless failure's analyst describes it wherever its trace carries it, a cause's analyst sometimes
# (BENIGN_CAUSE_SAID), in several wordings, English or French as the style. Drawn from a stream of its own
# (generate's `benign_rng`), so every other draw is as before; `benign=False` leaves it out.
CACHE_SHARE = 0.4
CACHE_RESULT = {"cache": "hit", "note": "served from the warehouse result cache"}
DEFAULT_SHARE = 0.35
DEFAULT_SAID = " Note: the workspace timezone (UTC) was applied by default."
BENIGN_CAUSE_SAID = 0.25
BENIGN: dict[str, tuple[list[str], list[str]]] = {
    "cache": (["the warehouse answered from its result cache", "the query result was served from cache",
               "a cache hit on the warehouse query", "the tool result says it came from the result cache"],
              ["résultat servi depuis le cache", "réponse tirée du cache de l'entrepôt"]),
    "timezone": (["the workspace timezone UTC was applied by default", "the answer notes the default UTC timezone",
                  "dates were read in UTC, the workspace default"],
                 ["fuseau UTC appliqué par défaut", "fuseau horaire par défaut: UTC"]),
}


def _benign(rng: random.Random, result: str) -> tuple[str, str, list[str]]:
    """The run's tool result and answer note with the benign content it carries, and which (see BENIGN)."""
    cached, defaulted = rng.random() < CACHE_SHARE, rng.random() < DEFAULT_SHARE
    carried = []
    if cached and result:
        result = json.dumps({**json.loads(result), **CACHE_RESULT})
        carried.append("cache")
    if defaulted:
        carried.append("timezone")
    return result, DEFAULT_SAID if defaulted else "", carried


def _observed(rng: random.Random, carried: list[str], causeless: bool) -> tuple[str, str]:
    """What a failure's analyst describes of the benign content its trace carries (English, French)."""
    if not carried or (not causeless and rng.random() >= BENIGN_CAUSE_SAID):
        return "", ""
    en, fr = BENIGN[rng.choice(carried)]
    return rng.choice(en), rng.choice(fr)


QUESTIONS = ["What was our revenue in fiscal Q{q}?", "Total invoiced amount for {region} last quarter?",
             "How much did we bill {region} customers in EUR, in SEK?", "Top 10 customers by revenue this year?",
             "Gross margin by product line for Q{q}?"]
REGIONS = ["Nordics", "Benelux", "DACH", "Iberia"]


def _plan(rng: random.Random, count: int, names: list[str]) -> list[tuple[str, str | None, int | None]]:
    """(account, cause, noise index) per investigation: exact shares, shuffled by the seed."""
    failures = round(count * FAILURE_RATE)
    per_cause = {c: max(1, round(failures * s)) for c, s in SHARES.items()}
    n_noise = min(len(NOISE), round(failures * NOISE_SHARE))
    accounts = [names[i % len(names)] for i in range(count)]
    rng.shuffle(accounts)
    slots: list[tuple[str, str | None, int | None]] = [(a, None, None) for a in accounts]
    order = list(range(count))
    rng.shuffle(order)
    local = [i for i in order if accounts[i] == LOCAL_ACCOUNT][:per_cause["stale-fx"]]
    for i in local:
        slots[i] = (accounts[i], "stale-fx", None)
    free = [i for i in order if i not in set(local)]
    for cause in ("renamed-column", "fiscal-quarter", "join-fanout", "row-limit"):
        for _ in range(per_cause[cause]):
            i = free.pop()
            slots[i] = (accounts[i], cause, None)
    for k in rng.sample(range(len(NOISE)), n_noise):
        i = free.pop()
        slots[i] = (accounts[i], None, k)
    return slots


def _noise_in_trace(rng: random.Random, cause: str | None, noise: int | None) -> tuple[bool, str, bool]:
    """What a noisy trace adds (see TRANSIENT): whether a first call timed out, the ledger check's error,
    and whether the run's own span is marked failed (no message), as some tracers mark every failed run."""
    retried = rng.random() < TRANSIENT_SHARE
    flagged = cause in SYMPTOM_CAUSES or (noise is not None and rng.random() < SYMPTOM_NOISE_SHARE)
    run_failed = (cause is not None or noise is not None) and rng.random() < RUN_FAILED_SHARE
    return retried, SYMPTOM.format(pct=rng.randint(2, 300)) if flagged else "", run_failed


def generate(out: Path, seed: int = 31, count: int = 160, noisy_traces: bool = False, harmless: bool = True,
             benign: bool = True) -> None:
    """`noisy_traces`: traces also record errors that are not the cause (TRANSIENT, SYMPTOM), drawn from
    a second random stream, so everything else (plant, analyses) is the same as without. `harmless`: some
    runs, right or wrong, first hit a retried connection pool timeout (POOL_TIMEOUT), which quoting
    analysts quote; its own stream too, so only the traces and quoting.jsonl differ without it. `benign`:
    runs carry benign content (BENIGN) that some failures' analysts describe; its own stream, too."""
    rng = random.Random(seed)
    trace_rng = random.Random(seed + 1_000_003)
    said_rng = random.Random(seed + 2_000_003)
    pool_rng = random.Random(seed + 3_000_003)
    benign_rng = random.Random(seed + 4_000_003)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, templated, quoting = [], [], [], []
    for n, (account, cause, noise) in enumerate(_plan(rng, count, ACCOUNTS), 1):
        inv_id = f"q-{n:04d}"
        question = rng.choice(QUESTIONS).format(q=rng.randint(1, 4), region=rng.choice(REGIONS))
        error = (rng.choice(CAUSES[cause]["errors"]) if cause and CAUSES[cause]["errors"] else
                 NOISE[noise][2] if noise is not None else "")
        column = "amount" if cause == "renamed-column" else "amount_net"
        sql = f"SELECT SUM(i.{column}) FROM invoices i WHERE i.account = '{account}'"
        if cause == "join-fanout":
            sql = "SELECT SUM(i.amount_net) FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id"
        wrong = cause is not None or noise is not None
        answer = rng.choice(["Revenue was 4.2M EUR.", "The total is 1,284,330 SEK.", "Here are the figures you asked for."])
        answer += _period(said_rng, question, cause)
        extra = _noise_in_trace(trace_rng, cause, noise) if noisy_traces else (False, "", False)
        pooled = harmless and pool_rng.random() < POOL_TIMEOUT_SHARE
        result, note_said, carried = _result(said_rng, cause, error), "", []
        if benign:
            result, note_said, carried = _benign(benign_rng, result)
        answer += note_said
        trace = _trace(rng, n, question, sql, error, answer, extra, trace_rng, result, pool_rng if pooled else None)
        (out / "traces" / f"{inv_id}.json").write_text(json.dumps(trace, separators=(",", ":")) + "\n")
        note = (rng.choice(CAUSES[cause]["en"]) if cause else NOISE[noise][3] if noise is not None else "")
        truth = "Expected: the figure finance reports for this question." + (f"\nReviewer note: {note}." if note else "")
        manifest.append({"id": inv_id, "account": account, "trace": f"traces/{inv_id}.json", "answer": answer,
                         "truth": truth, "verdict": "wrong" if wrong else "correct", "score": 0.0 if wrong else 1.0,
                         "metadata": {"question": question}})
        planted.append({"id": inv_id, "account": account, "cause": cause, "noise": noise})
        if wrong:
            observed = _observed(benign_rng, carried, cause is None)
            analysis = templated_analysis(rng, cause, noise, error, observed)
            planted[-1]["style"] = analysis.pop("style")
            if benign:
                planted[-1]["observed"] = observed[0] or None
            templated.append({"id": inv_id, **analysis})
            quoting.append({"id": inv_id, **quoting_analysis(analysis, POOL_TIMEOUT if pooled else error, note,
                                                             observed[0])})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))
    (out / "templated.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in templated))
    (out / "quoting.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in quoting))
